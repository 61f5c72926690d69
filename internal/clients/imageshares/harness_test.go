package imageshares

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

// Test tenants: owner owns imageID, shared with friend; other owns nothing
// here, so imageID does not exist for other's key. nobody is an account the
// simulator does not know unless AcceptAnyAccount.
const (
	owner    = "1234567890123456"
	friend   = "2222222222222222"
	stranger = "3333333333333333"
	other    = "9999999999999999"
	nobody   = "4444444444444444"
	region   = "cn-hangzhou"
	imageID  = "m-test0001"
)

var (
	ownerCreds = ecs.Credentials{AccessKeyID: "LTAItestOwnerKey", AccessKeySecret: "owner-secret"}
	otherCreds = ecs.Credentials{AccessKeyID: "LTAItestOtherKey", AccessKeySecret: "other-secret"}
)

// testConfig is the tenants above, with known as further accounts that can
// receive shares.
func testConfig(known ...string) ecssim.Config {
	cfg := ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: ownerCreds.AccessKeyID, Secret: ownerCreds.AccessKeySecret}}},
			{ID: friend},
			{ID: stranger},
			{ID: other, AccessKeys: []ecssim.AccessKey{{ID: otherCreds.AccessKeyID, Secret: otherCreds.AccessKeySecret}}},
		},
		Images: []ecssim.Image{{ID: imageID, Region: region, Owner: owner, SharedWith: []string{friend}}},
	}
	for _, a := range known {
		cfg.Accounts = append(cfg.Accounts, ecssim.Account{ID: a})
	}
	return cfg
}

// accountIDs makes n distinct 16-digit account ids.
func accountIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("5%015d", i+1)
	}
	return out
}

// fixture is a simulator and a Coalescer on a settable clock, with metrics.
type fixture struct {
	sim   *ecssim.Simulator
	url   string
	clock *simtest.Clock
	reg   *prometheus.Registry
	c     *Coalescer
}

// newFixture serves cfg and makes a Coalescer with o, whose Now and Metrics
// it sets.
func newFixture(t *testing.T, cfg ecssim.Config, o Options) *fixture {
	t.Helper()
	sim, srv := simtest.Serve(t, cfg)
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatalf("registering metrics: %v", err)
	}
	clock := simtest.NewClock()
	o.Now, o.Metrics = clock.Now, m
	return &fixture{sim: sim, url: srv.URL, clock: clock, reg: reg, c: New(o)}
}

// shares is the view of the scope of creds, with the pool behind it.
func (f *fixture) shares(t *testing.T, creds ecs.Credentials) (*Shares, *pool) {
	t.Helper()
	p := newPool(t, f.url, creds)
	return f.c.For(creds.AccessKeyID, p), p
}

// calls is how many calls of action the simulator answered.
func (f *fixture) calls(action string) uint64 { return f.sim.Calls(action) }

// shared is who the simulator shares imageID with, sorted.
func (f *fixture) shared(t *testing.T) []string {
	t.Helper()
	got, err := f.sim.SharedWith(region, imageID)
	if err != nil {
		t.Fatalf("SharedWith: %v", err)
	}
	return slices.Sorted(slices.Values(got))
}

// lookups is how many listing lookups were answered so: metrics.ListingHit,
// ListingMiss or ListingJoined.
func (f *fixture) lookups(t *testing.T, result string) int {
	t.Helper()
	fams, err := f.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, fam := range fams {
		if fam.GetName() != "alibabacloud_ecs_share_listing_lookups_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return 0
}

// batches is how many Modify calls the metrics recorded and how many
// accounts they carried in all.
func (f *fixture) batches(t *testing.T) (calls, accounts int) {
	t.Helper()
	fams, err := f.reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, fam := range fams {
		if fam.GetName() == "alibabacloud_ecs_share_batch_accounts" {
			h := fam.GetMetric()[0].GetHistogram()
			return int(h.GetSampleCount()), int(h.GetSampleSum())
		}
	}
	return 0, 0
}

// open returns what the open batch of (scope, image) holds, as "+account"
// and "-account" in arrival order.
func (f *fixture) open(scope, image string) []string {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	e := f.c.entries[key{scope, image}]
	if e == nil || e.open == nil {
		return nil
	}
	var out []string
	for _, o := range e.open.ops {
		out = append(out, map[bool]string{true: "+", false: "-"}[o.add]+o.account)
	}
	return out
}

// waitOpen waits until the open batch of (scope, image) holds want.
func (f *fixture) waitOpen(t *testing.T, scope, image string, want ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("the open batch to hold %v", want), func() bool { return slices.Equal(f.open(scope, image), want) })
}

// flush seals the open batch of (scope, image) as its Window ending would,
// so that tests need not wait for a Window on the real clock.
func (f *fixture) flush(t *testing.T, scope, image string) {
	t.Helper()
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	e := f.c.entries[key{scope, image}]
	if e == nil || e.open == nil {
		t.Fatalf("no open batch of %s to flush", image)
	}
	f.c.seal(e, e.open)
}

// entries is how many entries the Coalescer keeps.
func (f *fixture) entries() int {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	return len(f.c.entries)
}

// waitUntil polls cond; a condition still false after a long while fails
// the test rather than hanging it.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// receive waits for one value from ch; one that does not come in a long
// while fails the test rather than hanging it.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	var v T
	select {
	case v = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
	}
	return v
}

// clientTimeouts makes every SDK client's ReadTimeout distinct: see pool.
var clientTimeouts atomic.Int64

// pool is an ecs.Client that runs each call on a real ecs.Client that no
// other call is using, made as needed. The SDK races with itself when one
// client makes concurrent calls, or two clients with the same endpoint and
// timeouts do (see ecs.New), which -race reports; the Coalescer makes
// concurrent calls with one client, as the provider does. pool can also
// hold calls back once ECS has answered them, for tests to act meanwhile.
type pool struct {
	endpoint string
	creds    ecs.Credentials

	mu    sync.Mutex
	idle  []ecs.Client
	holds map[string]*hold
}

// hold keeps calls of one method from returning until released.
type hold struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

// Release lets the held calls, and those to come, return.
func (h *hold) Release() { h.once.Do(func() { close(h.release) }) }

func newPool(t *testing.T, endpoint string, creds ecs.Credentials) *pool {
	t.Helper()
	p := &pool{endpoint: endpoint, creds: creds, holds: map[string]*hold{}}
	c, err := p.make()
	if err != nil {
		t.Fatalf("ecs.New: %v", err)
	}
	p.idle = append(p.idle, c)
	return p
}

func (p *pool) make() (ecs.Client, error) {
	n := clientTimeouts.Add(1)
	return ecs.New(ecs.Config{
		Region: region, Endpoint: p.endpoint, Credentials: p.creds,
		ConnectTimeout: time.Second, ReadTimeout: 5*time.Second + time.Duration(n)*time.Millisecond,
	})
}

// hold holds back the calls of method ("ListShares" or "Modify") from now
// on: each signals entered once ECS has answered, then waits for Release,
// which the end of the test calls if need be.
func (p *pool) hold(t *testing.T, method string) *hold {
	h := &hold{entered: make(chan struct{}, 100), release: make(chan struct{})}
	t.Cleanup(h.Release)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holds[method] = h
	return h
}

// run runs fn on a client of its own, then waits on method's hold, if any.
func run[T any](p *pool, method string, fn func(ecs.Client) (T, error)) (T, error) {
	p.mu.Lock()
	var c ecs.Client
	if n := len(p.idle); n > 0 {
		c, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	h := p.holds[method]
	p.mu.Unlock()
	if c == nil {
		var err error
		if c, err = p.make(); err != nil {
			var zero T
			return zero, err
		}
	}
	v, err := fn(c)
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
	if h != nil {
		h.entered <- struct{}{}
		<-h.release
	}
	return v, err
}

func (p *pool) ListShares(ctx context.Context, image string) ([]ecs.Share, error) {
	return run(p, "ListShares", func(c ecs.Client) ([]ecs.Share, error) { return c.ListShares(ctx, image) })
}

func (p *pool) Modify(ctx context.Context, image string, add, remove []string) error {
	_, err := run(p, "Modify", func(c ecs.Client) (struct{}, error) { return struct{}{}, c.Modify(ctx, image, add, remove) })
	return err
}

func (p *pool) FindShare(ctx context.Context, image, account string) (*ecs.Share, error) {
	return run(p, "FindShare", func(c ecs.Client) (*ecs.Share, error) { return c.FindShare(ctx, image, account) })
}

func (p *pool) AddAccounts(ctx context.Context, image string, accounts ...string) error {
	return p.Modify(ctx, image, accounts, nil)
}

func (p *pool) RemoveAccounts(ctx context.Context, image string, accounts ...string) error {
	return p.Modify(ctx, image, nil, accounts)
}

// codeOf is the ECS code of err, "" for nil, or a description of an error
// that is not an *ecs.Error.
func codeOf(err error) string {
	var e *ecs.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return fmt.Sprintf("<%T: %v>", err, err)
}
