package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// call makes one ECS-style call to url with client and returns the answer,
// its body unread.
func call(t *testing.T, client *http.Client, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/?Action=DescribeImageSharePermission&Format=JSON", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func start(t *testing.T, modes ...Mode) *Server {
	t.Helper()
	s, err := Start(modes...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// noRedirects is a client that shows redirects instead of following them,
// and leaves compression to the test.
var noRedirects = &http.Client{
	Transport:     &http.Transport{DisableCompression: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       time.Minute,
}

// settled are the stats of m once its handler has counted what it sent: a
// client can have read an answer before the handler's count of it.
func settled(s *Server, m Mode) Stats {
	st := s.Stats(m)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if next := s.Stats(m); next.BytesSent != st.BytesSent {
			st = next
			continue
		}
		break
	}
	return st
}

func TestGzipBomb(t *testing.T) {
	s := start(t, GzipBomb)
	res := call(t, noRedirects, s.URL(GzipBomb))
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, Content-Encoding %q: want 200 and gzip", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) > 2<<20 {
		t.Errorf("the bomb is %d bytes compressed: want about 1 MiB", len(body))
	}
	// Inflating a GiB takes a second, and a dozen under the race detector:
	// the members are inflated one by one up to the first padding member,
	// and the rest is checked to be copies of that member and a last one.
	r := bytes.NewReader(body)
	member := func() string {
		t.Helper()
		zr, err := gzip.NewReader(r) // reads r itself, a ByteReader, no further than the member
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	at := func() int { return len(body) - r.Len() }
	if head := member(); head != `{"RequestId":"hostile-gzip-bomb","Padding":"` {
		t.Fatalf("the first member inflates to %q", head)
	}
	from := at()
	if pad := member(); pad != strings.Repeat(" ", bombMember) {
		t.Fatalf("the second member inflates to %d bytes, not %d spaces", len(pad), bombMember)
	}
	padding := body[from:at()]
	copies := 0
	for bytes.HasPrefix(body[from+copies*len(padding):], padding) {
		copies++
	}
	r = bytes.NewReader(body[from+copies*len(padding):])
	if tail := member(); tail != `"}` || r.Len() != 0 {
		t.Fatalf("after %d padding members comes a member of %q and %d bytes more", copies, tail, r.Len())
	}
	inflated := copies * bombMember
	if inflated < BombSize {
		t.Errorf("the bomb inflates to %d bytes of padding: want at least %d", inflated, BombSize)
	}
	if st := settled(s, GzipBomb); st.Requests != 1 || st.BytesSent != uint64(len(body)) || st.Actions["DescribeImageSharePermission"] != 1 {
		t.Errorf("stats %+v: want 1 request of DescribeImageSharePermission and %d bytes", st, len(body))
	}
	t.Logf("gzip bomb: %d bytes that inflate to %d bytes of padding in %d members of %d bytes", len(body), inflated, copies, len(padding))
}

func TestHuge(t *testing.T) {
	s := start(t, Huge, HugeLying)
	for _, m := range []Mode{Huge, HugeLying} {
		t.Run(string(m), func(t *testing.T) {
			res := call(t, noRedirects, s.URL(m))
			n, err := io.Copy(io.Discard, res.Body)
			switch m {
			case Huge:
				if err != nil || n != HugeSize || res.ContentLength != -1 {
					t.Errorf("read %d bytes (%v) of a body of announced length %d: want %d streamed, no length", n, err, res.ContentLength, HugeSize)
				}
			default:
				if !errors.Is(err, io.ErrUnexpectedEOF) || n != HugeSize || res.ContentLength != LyingLength {
					t.Errorf("read %d bytes (%v) of a body of announced length %d: want %d, then the connection cut short of %d", n, err, res.ContentLength, HugeSize, LyingLength)
				}
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	s := start(t, Redirect307, Redirect302)
	for m, code := range map[Mode]int{Redirect307: http.StatusTemporaryRedirect, Redirect302: http.StatusFound} {
		res := call(t, noRedirects, s.URL(m))
		if want := s.TargetURL() + "/?Action=DescribeImageSharePermission&Format=JSON"; res.StatusCode != code || res.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want %d to %q", m, res.StatusCode, res.Header.Get("Location"), code, want)
		}
	}
	if n := s.TargetRequests(); n != 0 {
		t.Fatalf("the target got %d requests before anyone followed a redirect", n)
	}
	// A client that follows redirects, as Go's default does, is counted.
	res := call(t, http.DefaultClient, s.URL(Redirect307))
	if b, _ := io.ReadAll(res.Body); string(b) != TargetAnswer || s.TargetRequests() != 1 {
		t.Errorf("following the redirect got %q and the target counted %d requests: want %q and 1", b, s.TargetRequests(), TargetAnswer)
	}
}

func TestTarpit(t *testing.T) {
	s := start(t, Tarpit)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL(Tarpit)+"/?Action=GetCallerIdentity", nil)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	res, err := client.Do(req)
	if err == nil {
		_ = res.Body.Close()
		t.Fatalf("the tarpit answered %d", res.StatusCode)
	}
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(begin) < 300*time.Millisecond {
		t.Errorf("the call ended after %v with %v: want the client's timeout", time.Since(begin), err)
	}
	if st := s.Stats(Tarpit); st.Requests != 1 || st.Actions["GetCallerIdentity"] != 1 {
		t.Errorf("stats %+v: want the one GetCallerIdentity", st)
	}

	// A held connection ends when the server stops.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err = http.NewRequestWithContext(ctx, http.MethodGet, s.URL(Tarpit)+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = res.Body.Close()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || ctx.Err() != nil {
			t.Errorf("after Stop the call ended with %v (context: %v): want the connection closed", err, ctx.Err())
		}
	case <-ctx.Done():
		t.Error("the tarpit held its connection after Stop")
	}
}

func TestCodes(t *testing.T) {
	s := start(t, Codes)
	codes := map[string]bool{}
	for i := range 3 {
		res := call(t, noRedirects, s.URL(Codes))
		var e struct {
			Code      string `json:"Code"`
			Message   string `json:"Message"`
			RequestID string `json:"RequestId"`
		}
		if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
		size := MessageSize
		if i%2 == 1 {
			size = ShortMessageSize
		}
		if res.StatusCode != http.StatusBadRequest || len(e.Code) != CodeSize || len(e.Message) != size || e.RequestID == "" {
			t.Fatalf("answer %d: status %d, code of %d bytes, message of %d, RequestId %q: want 400, %d, %d and one",
				i, res.StatusCode, len(e.Code), len(e.Message), e.RequestID, CodeSize, size)
		}
		if !strings.HasPrefix(e.Code, codePrefix) {
			t.Errorf("code %.20q… does not start with %q", e.Code, codePrefix)
		}
		codes[e.Code] = true
	}
	if len(codes) != 3 {
		t.Errorf("3 calls got %d distinct codes", len(codes))
	}
	if st := settled(s, Codes); st.Requests != 3 || st.BytesSent < 2*MessageSize+ShortMessageSize {
		t.Errorf("stats %d requests, %d bytes: want 3 and over %d", st.Requests, st.BytesSent, 2*MessageSize+ShortMessageSize)
	}
}

func TestActionHeader(t *testing.T) {
	s := start(t, Redirect302)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL(Redirect302)+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-acs-action", "AssumeRole")
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if st := s.Stats(Redirect302); st.Actions["AssumeRole"] != 1 {
		t.Errorf("actions %v: want the one AssumeRole the header names", st.Actions)
	}
}

func TestUnknownMode(t *testing.T) {
	if s, err := Start(Mode("polite")); err == nil {
		_ = s.Stop()
		t.Fatal("Start accepted an unknown mode")
	}
}

// Every mode has a listener of its own.
func TestEveryMode(t *testing.T) {
	s := start(t)
	seen := map[string]bool{s.TargetURL(): true}
	for _, m := range Modes() {
		u := s.URL(m)
		if u == "" || seen[u] {
			t.Errorf("%s is served at %q, which is empty or another's", m, u)
		}
		seen[u] = true
		if _, err := strconv.Atoi(u[len("http://127.0.0.1:"):]); err != nil {
			t.Errorf("%s: %q is not http://127.0.0.1:<port>", m, u)
		}
	}
}
