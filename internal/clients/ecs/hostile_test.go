package ecs_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
)

// gzipOf compresses n bytes of spaces: a few KiB that inflate to n.
func gzipOf(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := zw.Write(chunk[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHostileAnswers points the client, through the real SDK, at endpoints
// that answer as a tenant's own endpoint might, and checks that each is
// refused with a short error naming what was wrong, having read little.
func TestHostileAnswers(t *testing.T) {
	bomb := gzipOf(t, 256<<20)
	var targetHits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		targetHits.Add(1)
		_, _ = w.Write([]byte(`{"RequestId":"x","Accounts":{"Account":[]}}`))
	}))
	t.Cleanup(target.Close)

	cases := []struct {
		reason  string
		handler func(sent *atomic.Int64) http.HandlerFunc
		// wantErr is in the error; the error is at most 1 KiB whatever the
		// answer, and the endpoint never sends more than maxSent bytes.
		wantErr string
		maxSent int64
	}{
		{
			reason: "a gzip bomb is refused for its encoding, never inflated",
			handler: func(sent *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Encoding", "gzip")
					w.Header().Set("Content-Type", "application/json")
					n, _ := w.Write(bomb)
					sent.Add(int64(n))
				}
			},
			wantErr: "answered with Content-Encoding gzip, which the provider never asks for and refuses",
		},
		{
			reason: "a body streamed past 1 MiB is cut off as it is read",
			handler: func(sent *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					chunk := bytes.Repeat([]byte(" "), 64<<10)
					for range 1600 { // 100 MiB
						n, err := w.Write(chunk)
						sent.Add(int64(n))
						if err != nil {
							return
						}
					}
				}
			},
			wantErr: "answered more than 1 MiB, which is refused",
			maxSent: 16 << 20, // what the socket buffers take before the reader stops
		},
		{
			reason: "a declared length over 1 MiB is refused before the body is read",
			handler: func(sent *atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Length", "104857600")
					w.WriteHeader(http.StatusOK)
					n, _ := w.Write(make([]byte, 32<<10))
					sent.Add(int64(n))
				}
			},
			wantErr: "answered more than 1 MiB, which is refused",
		},
		{
			reason: "a redirect is refused and its target never called",
			handler: func(*atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, target.URL+"/?x=1", http.StatusTemporaryRedirect)
				}
			},
			wantErr: "redirected (HTTP 307) to " + target.URL + ", which is refused",
		},
		{
			reason: "an error code and message of any length are cut",
			handler: func(*atomic.Int64) http.HandlerFunc {
				return func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(ecsErrorBody(strings.Repeat("C", 8<<10), strings.Repeat("m", 900<<10), strings.Repeat("r", 4<<10), "")))
				}
			},
			wantErr: "…(cut)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var sent atomic.Int64
			srv := httptest.NewServer(tc.handler(&sent))
			t.Cleanup(srv.Close)
			c := newClient(t, srv.URL, ownerCreds)
			_, err := c.ListShares(context.Background(), "m-hostile")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%s\nListShares: got %v, want an error containing %q", tc.reason, err, tc.wantErr)
			}
			if n := len(err.Error()); n > 1024 {
				t.Errorf("%s\nthe error is %d bytes: want at most 1 KiB", tc.reason, n)
			}
			if tc.maxSent > 0 && sent.Load() > tc.maxSent {
				t.Errorf("%s\nthe endpoint sent %d bytes: the client kept reading past its bound", tc.reason, sent.Load())
			}
			assertNoSecrets(t, err)
		})
	}
	if diff := cmp.Diff(int64(0), targetHits.Load()); diff != "" {
		t.Errorf("the redirect's target was called (-want +got):\n%s", diff)
	}
}

// TestTarpitEndsWithTheCaller checks that a call to an endpoint that
// accepts and never answers ends when its caller's context does, and that
// its request is cancelled at the endpoint, leaving nothing behind.
func TestTarpitEndsWithTheCaller(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // the client went away
		cancelled <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	// Timeouts far longer than the caller waits: the caller's context must
	// be what ends the call.
	c := newClient(t, srv.URL, ownerCreds, func(cfg *ecs.Config) { cfg.ReadTimeout = time.Hour })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.ListShares(ctx, "m-tarpit")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListShares: got %v, want the caller's deadline", err)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the endpoint's request was not cancelled: the call outlived its caller")
	}
}
