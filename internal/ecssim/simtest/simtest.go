// Package simtest has helpers for tests that need a simulated ECS: a settable
// clock to drive the simulator's time, and a simulator served on a loopback
// port for the length of a test.
package simtest

import (
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// Clock is a settable clock, safe for concurrent use. Pass its Now to
// ecssim.WithClock and move it on with Advance.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock that starts at the wall time, so that SDK
// signatures dated now are fresh.
func NewClock() *Clock { return &Clock{t: time.Now()} }

// Now is the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Serve serves a simulator seeded with cfg on a loopback port until the test
// ends. It fails the test if cfg is invalid. Each call has its own server, so
// its own port and so its own SDK client pool.
func Serve(t testing.TB, cfg ecssim.Config, opts ...ecssim.Option) (*ecssim.Simulator, *httptest.Server) {
	t.Helper()
	sim, err := ecssim.New(cfg, opts...)
	if err != nil {
		t.Fatalf("ecssim.New: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv
}
