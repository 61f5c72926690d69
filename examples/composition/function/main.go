// Command function-imageshare is a composition function that turns an
// ImageShare (one image, many accounts) into one ImageSharePermission per
// account.
package main

import (
	"github.com/alecthomas/kong"

	function "github.com/crossplane/function-sdk-go"
)

// CLI of this function. Crossplane runs it with mTLS certificates in
// TLS_SERVER_CERTS_DIR; crossplane render talks to it with --insecure.
type CLI struct {
	Debug bool `help:"Emit debug logs in addition to info logs." short:"d"`

	Address        string `default:":9443" help:"Address at which to listen for gRPC connections."`
	TLSCertsDir    string `env:"TLS_SERVER_CERTS_DIR" help:"Directory containing server certs (tls.key, tls.crt) and the CA used to verify client certificates (ca.crt)." name:"tls-server-certs-dir"`
	Insecure       bool   `help:"Run without mTLS credentials. If you supply this flag --tls-server-certs-dir will be ignored."`
	MetricsAddress string `default:":8080" help:"Address at which to serve Prometheus metrics; empty serves none (the SDK would otherwise always take :8080)."`
}

// Run this function.
func (c *CLI) Run() error {
	log, err := function.NewLogger(c.Debug)
	if err != nil {
		return err
	}
	return function.Serve(&Function{log: log},
		function.Listen("tcp", c.Address),
		function.MTLSCertificates(c.TLSCertsDir),
		function.Insecure(c.Insecure),
		function.WithMetricsServer(c.MetricsAddress))
}

func main() {
	ctx := kong.Parse(&CLI{}, kong.Description("Composes one ImageSharePermission per account of an ImageShare."))
	ctx.FatalIfErrorf(ctx.Run())
}
