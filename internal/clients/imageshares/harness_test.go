package imageshares

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
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
	ownerCreds = credentials.Credentials{AccessKeyID: "LTAItestOwnerKey", AccessKeySecret: "owner-secret"}
	otherCreds = credentials.Credentials{AccessKeyID: "LTAItestOtherKey", AccessKeySecret: "other-secret"}
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

// shares is the view of the scope of creds, with the one client behind it.
func (f *fixture) shares(t *testing.T, creds credentials.Credentials) (*Shares, *holdingClient) {
	t.Helper()
	c := newHoldingClient(t, f.url, creds)
	return f.c.For(creds.AccessKeyID, c), c
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

// open returns what waits to be sent on (scope, image), the open batch, as
// "+account" and "-account" in arrival order.
func (f *fixture) open(scope, image string) []string {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	e := f.c.entries[key{scope, image}]
	if e == nil {
		return nil
	}
	var out []string
	for _, o := range e.waiting {
		out = append(out, map[bool]string{true: "+", false: "-"}[o.add]+o.account)
	}
	return out
}

// waitOpen waits until the open batch of (scope, image) holds want.
func (f *fixture) waitOpen(t *testing.T, scope, image string, want ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("the open batch to hold %v", want), func() bool { return slices.Equal(f.open(scope, image), want) })
}

// flush sends what waits on (scope, image) as its Window ending would,
// so that tests need not wait for a Window on the real clock.
func (f *fixture) flush(t *testing.T, scope, image string) {
	t.Helper()
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	e := f.c.entries[key{scope, image}]
	if e == nil || len(e.waiting) == 0 {
		t.Fatalf("no batch of %s waiting to flush", image)
	}
	f.c.flush(image, e)
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

// holdingClient is one real ecs.Client, serving every call of its scope
// concurrently as in the provider, whose ListShares and Modify calls (those
// the Coalescer makes) tests can hold back once ECS has answered them, to
// act meanwhile.
type holdingClient struct {
	ecs.Client

	mu    sync.Mutex
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

func newHoldingClient(t *testing.T, endpoint string, creds credentials.Credentials) *holdingClient {
	t.Helper()
	c, err := ecs.New(ecs.Config{
		Region: region, Endpoint: endpoint, Credentials: creds,
		ConnectTimeout: time.Second, ReadTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("ecs.New: %v", err)
	}
	return &holdingClient{Client: c, holds: map[string]*hold{}}
}

// hold holds back the calls of method ("ListShares" or "Modify") from now
// on: each signals entered once ECS has answered, then waits for Release,
// which the end of the test calls if need be.
func (c *holdingClient) hold(t *testing.T, method string) *hold {
	h := &hold{entered: make(chan struct{}, 100), release: make(chan struct{})}
	t.Cleanup(h.Release)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds[method] = h
	return h
}

// held returns method's hold, if any. Calls look it up before they start,
// so that one already under way when a hold is set is not held.
func (c *holdingClient) held(method string) *hold {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holds[method]
}

// wait signals entered and waits for Release; a nil hold returns at once.
func (h *hold) wait() {
	if h != nil {
		h.entered <- struct{}{}
		<-h.release
	}
}

func (c *holdingClient) ListShares(ctx context.Context, image string) ([]ecs.Share, error) {
	h := c.held("ListShares")
	shares, err := c.Client.ListShares(ctx, image)
	h.wait()
	return shares, err
}

func (c *holdingClient) ModifyNext(ctx context.Context, image string, next func() (add, remove []string)) error {
	h := c.held("Modify")
	err := c.Client.ModifyNext(ctx, image, next)
	h.wait()
	return err
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
