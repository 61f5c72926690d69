package alisdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/alibabacloud-go/tea/dara"
)

// DefaultMaxAnswer bounds what one answer may carry. Real ECS and STS
// answers are a few KiB (a Describe page of 100 accounts is about 10 KiB),
// so 1 MiB is generous for them and small beside any pod's memory.
const DefaultMaxAnswer = 1 << 20

// The transport's own bounds, which no configuration can raise: a
// configuration sets its calls' timeouts, and the resolver clamps them.
const (
	// maxIdlePerHost keeps a few warm connections to each endpoint: enough
	// for the paced calls of one client, few enough that a client's idle
	// sockets are a handful.
	maxIdlePerHost = 8
	// maxConnsPerHost bounds the sockets one client may hold to an
	// endpoint, so an endpoint that accepts and never answers cannot pin
	// more than this many, whatever the number of resources calling it.
	maxConnsPerHost = 32
	// idleConnTimeout closes a connection unused this long.
	idleConnTimeout = 90 * time.Second
)

// HTTPOptions configure an HTTP client of the provider's own for SDK calls.
type HTTPOptions struct {
	// Product (ECS, STS, "ECS metadata") names the service in errors.
	Product string
	// CABundle, PEM certificates, replaces the system's roots if set.
	CABundle []byte
	// ConnectTimeout bounds dialing and the TLS handshake; ReadTimeout
	// bounds the wait for the answer's headers. A whole call, body
	// included, is bounded by their sum. Both must be positive.
	ConnectTimeout, ReadTimeout time.Duration
	// MaxAnswer bounds an answer's body; 0 means DefaultMaxAnswer.
	MaxAnswer int64
	// NoProxy ignores HTTP(S)_PROXY: for the instance metadata service,
	// which answers only on the instance's own link.
	NoProxy bool
}

// HTTP is what every ECS, STS and metadata call of one client goes
// through, in place of tea's process-wide pool of http.Clients, which reads
// whole answers, decompresses gzip it did not ask for, follows redirects,
// keeps idle sockets for ever and is never freed. An HTTP:
//   - refuses redirects: an endpoint is called where it is configured, never
//     where it points (a tenant's endpoint could point into the pod's
//     network, and a 307 resends a signed POST);
//   - never asks for nor decodes a compressed answer, and refuses one sent
//     anyway, so a small body cannot inflate into a large one;
//   - refuses an answer larger than MaxAnswer, from its Content-Length or as
//     it is read;
//   - bounds dialing, the TLS handshake, the wait for headers and the whole
//     call, and ends a call when its caller's context ends;
//   - keeps a few idle connections, closes them after a while, and closes
//     them all when its client is dropped (Close).
type HTTP struct {
	product   string
	client    *http.Client
	transport *http.Transport
	max       int64
	callLimit time.Duration
}

// NewHTTP returns an HTTP client configured by o.
func NewHTTP(o HTTPOptions) (*HTTP, error) {
	if o.ConnectTimeout <= 0 || o.ReadTimeout <= 0 {
		return nil, errors.New("the HTTP client's timeouts must be positive")
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(o.CABundle) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CABundle) {
			return nil, errors.New("the CA bundle holds no PEM certificate: want one or more -----BEGIN CERTIFICATE----- blocks")
		}
		tlsConfig.RootCAs = pool
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.ReadTimeout,
		// Go would otherwise ask for gzip and inflate the answer unseen,
		// past any bound set on the bytes read.
		DisableCompression:  true,
		MaxIdleConns:        maxIdlePerHost,
		MaxIdleConnsPerHost: maxIdlePerHost,
		MaxConnsPerHost:     maxConnsPerHost,
		IdleConnTimeout:     idleConnTimeout,
		// Bounds the headers of an answer, which are read whole.
		MaxResponseHeaderBytes: 64 << 10,
	}
	if o.NoProxy {
		t.Proxy = nil
	}
	h := &HTTP{product: o.Product, transport: t, max: o.MaxAnswer, callLimit: o.ConnectTimeout + o.ReadTimeout}
	if h.max <= 0 {
		h.max = DefaultMaxAnswer
	}
	h.client = &http.Client{Transport: t, Timeout: h.callLimit, CheckRedirect: refuseRedirect}
	return h, nil
}

// refuseRedirect refuses every redirect, naming only where it pointed.
func refuseRedirect(req *http.Request, via []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return &RefusedAnswer{Why: fmt.Sprintf("redirected (HTTP %d) to %s, which is refused: the provider calls only the endpoint configured; point the endpoint at the host that answers",
		status, Clip(req.URL.Scheme+"://"+req.URL.Host, 100))}
}

// RefusedAnswer is an answer the provider would not take for its form,
// whatever it said: a redirect, a compressed or oversized body. Why says
// what was wrong without quoting the answer.
type RefusedAnswer struct{ Why string }

func (e *RefusedAnswer) Error() string { return e.Why }

// Do sends req, bounded as HTTP promises. The answer's body must be closed.
func (h *HTTP) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), h.callLimit)
	// Tea adds Proxy-Authorization to the request itself when its proxy
	// has user info; the transport sends it to the proxy alone, on CONNECT
	// or to an http proxy, and never in a tunnel to the endpoint.
	req.Header.Del("Proxy-Authorization")
	// The endpoint is the configuration's, checked by CheckEndpoint and,
	// for a tenant's, by --tenant-endpoints; redirects are refused.
	resp, err := h.client.Do(req.WithContext(ctx)) //nolint:gosec // G704: see above.
	if err != nil {
		cancel()
		return nil, err
	}
	refuse := func(why string) (*http.Response, error) {
		_ = resp.Body.Close() // Nothing of it is read.
		cancel()
		return nil, &RefusedAnswer{Why: why}
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return refuse(fmt.Sprintf("answered with Content-Encoding %s, which the provider never asks for and refuses", Clip(enc, 32)))
	}
	if resp.ContentLength > h.max {
		return refuse(fmt.Sprintf("answered more than %s, which is refused", size(h.max)))
	}
	resp.Body = &cappedBody{rc: resp.Body, left: h.max, max: h.max, cancel: cancel}
	return resp, nil
}

// Close closes the idle connections; calls in flight end by their
// deadlines. The HTTP is not used after.
func (h *HTTP) Close() { h.transport.CloseIdleConnections() }

// For binds calls through an SDK client to ctx, so that a call ends when
// the reconcile that made it does, not when the SDK's timeouts say: set it
// as the SDK client's HttpClient for one call (see TakeSlot).
func (h *HTTP) For(ctx context.Context) dara.HttpClient { return boundHTTP{h: h, ctx: ctx} }

// boundHTTP is an HTTP whose calls carry one context.
type boundHTTP struct {
	h   *HTTP
	ctx context.Context //nolint:containedctx // The SDK's HttpClient takes no context; this carries the caller's.
}

// Call is what the SDK calls. The transport tea built for this request
// from its own settings is not used: HTTP has its own.
func (b boundHTTP) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return b.h.Do(req.WithContext(b.ctx))
}

// cappedBody fails a read past max bytes, and releases the call's
// deadline when closed.
type cappedBody struct {
	rc     io.ReadCloser
	left   int64
	max    int64
	cancel context.CancelFunc
}

func (b *cappedBody) Read(p []byte) (int, error) {
	// One byte past what is left tells a body of exactly max bytes from a
	// longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		return n, &RefusedAnswer{Why: fmt.Sprintf("answered more than %s, which is refused", size(b.max))}
	}
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// size says a byte count as people read it.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Clip bounds text an endpoint chose (an error code, a message, a request
// id) before it reaches a condition, an event or a log: it keeps at most n
// bytes of valid UTF-8 and says that it cut.
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(cut)"
}
