// Command ecs-simulator serves a local Alibaba Cloud ECS endpoint for image
// sharing. Point any Alibaba Cloud SDK at it (endpoint host:port, protocol
// http) with one of its AccessKeys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ecs-simulator:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve the ECS API, the control API ("+ecssim.ControlPrefix+") and /metrics on")
	state := flag.String("state", "", "state file (YAML) seeding accounts, keys, images, shares, limits and faults; empty starts the demo tenant")
	seed := flag.Int64("seed", 0, "seed for fault injection; overrides faults.seed in the state file when set")
	quiet := flag.Bool("quiet", false, "do not log one line per call")
	tlsCert := flag.String("tls-cert", "", "PEM certificate file: serve https instead of http (with --tls-key)")
	tlsKey := flag.String("tls-key", "", "PEM private key file of --tls-cert")
	flag.Parse()
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both to serve https, or neither for http")
	}

	cfg := ecssim.DemoConfig()
	if *state != "" {
		var err error
		if cfg, err = ecssim.LoadConfig(*state); err != nil {
			return err
		}
	}
	if *seed != 0 {
		cfg.Faults.Seed = *seed
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	sim, err := ecssim.New(cfg, ecssim.WithLogger(logger))
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	// The address line comes first and alone so scripts can read the port
	// when --listen asks for :0.
	fmt.Printf("ecs-simulator listening on %s\n", ln.Addr())
	if *state == "" {
		demo, _ := yaml.Marshal(cfg)
		fmt.Printf("no --state given: serving the demo tenant\n%s", demo)
	}

	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		// The signal ended ctx; shutting down gets its own five seconds.
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	serve := func() error { return srv.Serve(ln) }
	if *tlsCert != "" {
		serve = func() error { return srv.ServeTLS(ln, *tlsCert, *tlsKey) }
	}
	if err := serve(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
