// Package hostile serves what a hostile tenant can put at the other end of a
// namespaced ProviderConfig's spec.endpoint and spec.stsEndpoint: HTTP
// servers on loopback that answer every ECS and STS call, whatever its
// action, in a way meant to hurt the client rather than to serve it. Each
// mode has a listener of its own, so that a ProviderConfig picks its mode by
// its URL, and each counts the requests it gets.
//
// It lives beside the ECS simulator because it plays the same part, the
// endpoint a configuration names, and like the simulator and simtest it is
// test tooling: the provider binary imports nothing under internal/ecssim.
// It needs nothing of the simulator: it neither checks signatures nor keeps
// state, since a hostile endpoint does not care who signs.
package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how an endpoint answers.
type Mode string

// The modes. Every answer is the same whatever the action, ECS's or STS's.
const (
	// GzipBomb answers 200 with Content-Encoding: gzip and about 1 MiB of
	// body that inflates to BombSize bytes of one JSON string.
	GzipBomb Mode = "gzip-bomb"
	// Huge answers 200 with a HugeSize body of one JSON string, streamed in
	// chunks with no Content-Length.
	Huge Mode = "huge"
	// HugeLying is Huge with a Content-Length that lies: it announces
	// LyingLength bytes, sends HugeSize and closes the connection, so that
	// a client that sizes a buffer by the header, or trusts it to be
	// small, is caught.
	HugeLying Mode = "huge-lying"
	// Redirect307 answers 307 Temporary Redirect (which keeps the method
	// and body) to the same path and query on the target endpoint.
	Redirect307 Mode = "redirect-307"
	// Redirect302 answers 302 Found to the target endpoint.
	Redirect302 Mode = "redirect-302"
	// Tarpit accepts the connection, reads the request and never answers,
	// not even a status line, until the client gives up or the server
	// stops.
	Tarpit Mode = "tarpit"
	// Codes answers 400 with an ECS- and STS-shaped JSON error whose Code is
	// CodeSize random characters, different at every call, and whose Message
	// is MessageSize bytes; every second answer's Message is only
	// ShortMessageSize, so that a client which refuses bodies over about a
	// MiB still parses half of the answers and meets their codes.
	Codes Mode = "codes"
)

// Modes are every mode, in a fixed order.
func Modes() []Mode {
	return []Mode{GzipBomb, Huge, HugeLying, Redirect307, Redirect302, Tarpit, Codes}
}

// Sizes of the answers.
const (
	// BombSize is how many bytes of padding the gzip bomb inflates to,
	// beside a few bytes of JSON around them.
	BombSize = 1 << 30
	// HugeSize is the body Huge and HugeLying send.
	HugeSize = 100 << 20
	// LyingLength is the Content-Length HugeLying announces.
	LyingLength = 8 << 30
	// CodeSize and MessageSize are the lengths of Codes' Code and Message;
	// ShortMessageSize that of every second Message.
	CodeSize         = 4 << 10
	MessageSize      = 1 << 20
	ShortMessageSize = 1 << 10
)

// codePrefix starts every code Codes sends, so that it can be told from ECS's
// own codes (and found in a metric label or a message).
const codePrefix = "Hostile."

// TargetAnswer is what the redirect target answers: a plausible, small
// success that a client which followed the redirect would accept.
const TargetAnswer = `{"RequestId":"hostile-redirect-target"}`

// Server is one listener per mode, and the target of the redirect modes.
type Server struct {
	endpoints map[Mode]*endpoint
	target    *endpoint
	stop      chan struct{}
	stopOnce  sync.Once
	// held are the connections Tarpit holds, to close them on Stop.
	mu   sync.Mutex
	held map[net.Conn]struct{}
}

// endpoint is one listener and what it has seen.
type endpoint struct {
	url      string
	srv      *http.Server
	requests atomic.Uint64
	sent     atomic.Uint64
	// codes counts Codes' answers, to alternate their messages' lengths.
	codes atomic.Uint64

	mu      sync.Mutex
	actions map[string]uint64
}

// Stats are what one endpoint has seen and sent.
type Stats struct {
	Mode Mode
	URL  string
	// Requests counts every request received, answered or not.
	Requests uint64
	// BytesSent counts the body bytes written to clients, as they left the
	// server (compressed, for GzipBomb); a client that stopped reading
	// early shows as fewer than the mode's size per request.
	BytesSent uint64
	// Actions counts requests by their action: the x-acs-action header
	// (Alibaba Cloud's SDKs send it with the ACS3 signature), else the
	// Action query parameter (the older RPC signature); "" for neither.
	Actions map[string]uint64
}

// Start serves modes (every mode when none is given), and the redirect
// target, each on its own port of 127.0.0.1.
func Start(modes ...Mode) (*Server, error) {
	if len(modes) == 0 {
		modes = Modes()
	}
	s := &Server{endpoints: map[Mode]*endpoint{}, stop: make(chan struct{}), held: map[net.Conn]struct{}{}}
	fail := func(err error) (*Server, error) {
		_ = s.Stop()
		return nil, err
	}
	var err error
	if s.target, err = s.listen(s.serveTarget); err != nil {
		return fail(err)
	}
	if slices.Contains(modes, GzipBomb) {
		if _, err := bomb(); err != nil {
			return fail(err)
		}
	}
	for _, m := range modes {
		h, ok := s.handlers()[m]
		if !ok {
			return fail(fmt.Errorf("hostile: unknown mode %q", m))
		}
		if s.endpoints[m], err = s.listen(h); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// handler is how one mode answers, once the request has been counted and
// read.
type handler func(*endpoint, http.ResponseWriter, *http.Request)

func (s *Server) handlers() map[Mode]handler {
	return map[Mode]handler{
		GzipBomb:    s.serveBomb,
		Huge:        s.serveHuge,
		HugeLying:   s.serveHugeLying,
		Redirect307: s.serveRedirect307,
		Redirect302: s.serveRedirect302,
		Tarpit:      s.serveTarpit,
		Codes:       s.serveCodes,
	}
}

func (s *Server) listen(h handler) (*endpoint, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &endpoint{url: "http://" + ln.Addr().String(), actions: map[string]uint64{}}
	e.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.count(r)
			// Read the request first, as a server does before it answers;
			// a bounded read, since the client is not trusted either.
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			h(e, w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// maxActions bounds the distinct actions an endpoint counts by name.
const maxActions = 32

func (e *endpoint) count(r *http.Request) {
	e.requests.Add(1)
	action := r.Header.Get("x-acs-action")
	if action == "" {
		action = r.URL.Query().Get("Action")
	}
	if len(action) > 64 {
		action = action[:64]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.actions[action]; !ok && len(e.actions) >= maxActions {
		action = "(other)"
	}
	e.actions[action]++
}

// URL is the endpoint of mode m, such as http://127.0.0.1:41234; "" if it
// is not served.
func (s *Server) URL(m Mode) string {
	if e := s.endpoints[m]; e != nil {
		return e.url
	}
	return ""
}

// TargetURL is where the redirect modes send clients.
func (s *Server) TargetURL() string { return s.target.url }

// TargetRequests counts the requests that reached the redirect target:
// every one came from a client that followed a redirect.
func (s *Server) TargetRequests() uint64 { return s.target.requests.Load() }

// Stats are what the endpoint of mode m has seen.
func (s *Server) Stats(m Mode) Stats {
	e := s.endpoints[m]
	if e == nil {
		return Stats{Mode: m}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Mode: m, URL: e.url, Requests: e.requests.Load(), BytesSent: e.sent.Load(), Actions: maps.Clone(e.actions)}
}

// Stop closes every listener and connection at once, the ones Tarpit holds
// and the streams in flight included.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { close(s.stop) })
	errs := make([]error, 0, len(s.endpoints)+1)
	for _, e := range append(slices.Collect(maps.Values(s.endpoints)), s.target) {
		if e != nil {
			errs = append(errs, e.srv.Close())
		}
	}
	s.mu.Lock()
	for c := range s.held {
		_ = c.Close()
	}
	clear(s.held)
	s.mu.Unlock()
	return errors.Join(errs...)
}

func (s *Server) serveTarget(e *endpoint, w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	n, _ := io.WriteString(w, TargetAnswer)
	e.sent.Add(uint64(n))
}

func (s *Server) serveRedirect307(_ *endpoint, w http.ResponseWriter, r *http.Request) {
	s.redirect(w, r, http.StatusTemporaryRedirect)
}

func (s *Server) serveRedirect302(_ *endpoint, w http.ResponseWriter, r *http.Request) {
	s.redirect(w, r, http.StatusFound)
}

func (s *Server) redirect(w http.ResponseWriter, r *http.Request, code int) {
	w.Header().Set("Location", s.target.url+r.URL.RequestURI())
	w.WriteHeader(code)
}

func (s *Server) serveBomb(e *endpoint, w http.ResponseWriter, _ *http.Request) {
	b, _ := bomb() // made by Start
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	s.write(e, w, b, false)
}

// hugeChunk is what Huge writes at a time.
const hugeChunk = 64 << 10

func (s *Server) serveHuge(e *endpoint, w http.ResponseWriter, _ *http.Request) { s.huge(e, w, false) }

func (s *Server) serveHugeLying(e *endpoint, w http.ResponseWriter, _ *http.Request) {
	s.huge(e, w, true)
}

func (s *Server) huge(e *endpoint, w http.ResponseWriter, lie bool) {
	w.Header().Set("Content-Type", "application/json")
	if lie {
		w.Header().Set("Content-Length", strconv.FormatInt(LyingLength, 10))
	}
	prefix, suffix := []byte(`{"RequestId":"hostile-huge","Padding":"`), []byte(`"}`)
	if !s.write(e, w, prefix, true) {
		return
	}
	chunk := bytes.Repeat([]byte{'A'}, hugeChunk)
	left := HugeSize - len(prefix) - len(suffix)
	for left > 0 {
		n := min(left, len(chunk))
		if !s.write(e, w, chunk[:n], true) {
			return
		}
		left -= n
	}
	// With the lie, the server closes the connection after this short body.
	s.write(e, w, suffix, true)
}

// write writes b, flushing it if flush, and says whether to go on: not once
// the client has gone or the server stops.
func (s *Server) write(e *endpoint, w http.ResponseWriter, b []byte, flush bool) bool {
	select {
	case <-s.stop:
		return false
	default:
	}
	n, err := w.Write(b)
	e.sent.Add(uint64(n))
	if err != nil {
		return false
	}
	if f, ok := w.(http.Flusher); ok && flush {
		f.Flush()
	}
	return true
}

func (s *Server) serveTarpit(_ *endpoint, w http.ResponseWriter, _ *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		<-s.stop
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		_ = conn.Close()
		return
	default:
	}
	s.held[conn] = struct{}{}
	s.mu.Unlock()
	// Hold it until the client closes it (a read returns) or Stop closes it.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		_, _ = io.Copy(io.Discard, buf)
	}()
	select {
	case <-gone:
	case <-s.stop:
	}
	s.mu.Lock()
	delete(s.held, conn)
	s.mu.Unlock()
	_ = conn.Close()
}

func (s *Server) serveCodes(e *endpoint, w http.ResponseWriter, _ *http.Request) {
	// The first answer has the long message, the second the short one, …
	body := codesBody(e.codes.Add(1)%2 == 1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusBadRequest)
	s.write(e, w, body, false)
}

// letters are what random codes and messages are made of: no character
// JSON would escape.
const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// codesBody is one answer of Codes: a new random code, and a message of
// MessageSize bytes if long, else ShortMessageSize, that differs in its
// first bytes too.
func codesBody(long bool) []byte {
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[rand.IntN(len(letters))]
		}
		return b
	}
	var b bytes.Buffer
	b.Grow(CodeSize + MessageSize + 128)
	b.WriteString(`{"Code":"`)
	b.WriteString(codePrefix)
	b.Write(random(CodeSize - len(codePrefix)))
	b.WriteString(`","Message":"`)
	b.Write(random(64))
	size := ShortMessageSize
	if long {
		size = MessageSize
	}
	b.Write(bytes.Repeat([]byte{'M'}, size-64))
	b.WriteString(`","RequestId":"x","HostId":"hostile","Recommend":"https://hostile.invalid/"}`)
	return b.Bytes()
}

// Members of the gzip bomb: one member holds bombMember bytes of padding,
// and the bomb repeats it. RFC 1952 (2.2) makes a gzip file any number of
// members, and every decoder reads them all, as gzip(1) does and as Go's
// gzip.Reader does (it is what net/http's transparent decompression
// uses). Compressing 1 GiB once would take half a minute under the race
// detector; this compresses 8 MiB.
const bombMember = 8 << 20

// bomb is the gzip bomb's body, made once: a member with the JSON before
// the padding, BombSize/bombMember members of padding, and a member with
// the JSON after it. About 1 MiB.
var bomb = sync.OnceValues(func() ([]byte, error) {
	member := func(b []byte) ([]byte, error) {
		var out bytes.Buffer
		w, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}
	head, err := member([]byte(`{"RequestId":"hostile-gzip-bomb","Padding":"`))
	if err != nil {
		return nil, err
	}
	pad, err := member(bytes.Repeat([]byte{' '}, bombMember))
	if err != nil {
		return nil, err
	}
	tail, err := member([]byte(`"}`))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(head)+len(pad)*(BombSize/bombMember)+len(tail))
	out = append(out, head...)
	for range BombSize / bombMember {
		out = append(out, pad...)
	}
	return append(out, tail...), nil
})

// Bomb is the gzip bomb's compressed body, as GzipBomb serves it.
func Bomb() ([]byte, error) { return bomb() }
