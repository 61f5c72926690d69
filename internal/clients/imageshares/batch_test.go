package imageshares

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/pacing"
)

// caller is one AddAccounts or RemoveAccounts call.
type caller struct {
	accounts []string
	remove   bool
}

// do makes the call.
func (c caller) do(ctx context.Context, s *Shares) error {
	if c.remove {
		return s.RemoveAccounts(ctx, imageID, c.accounts...)
	}
	return s.AddAccounts(ctx, imageID, c.accounts...)
}

// each is a caller per account.
func each(accounts []string, remove bool) []caller {
	out := make([]caller, len(accounts))
	for i, a := range accounts {
		out[i] = caller{accounts: []string{a}, remove: remove}
	}
	return out
}

// anyAccount lets imageID be shared with any account, up to maxShares.
func anyAccount(maxShares int, shared ...string) ecssim.Config {
	cfg := testConfig()
	cfg.AcceptAnyAccount = true
	cfg.Images[0].MaxShares = maxShares
	cfg.Images[0].SharedWith = append(cfg.Images[0].SharedWith, shared...)
	return cfg
}

// TestBatchSizes: with a Window of an hour, only the ten-account rule and a
// flush send a batch, so the calls counted are exact.
func TestBatchSizes(t *testing.T) {
	accounts := accountIDs(23)
	cases := []struct {
		reason  string
		shared  []string
		callers []caller
		// flushAt, if set, is how many ops the open batch holds when it is
		// flushed, as its Window ending would.
		flushAt   int
		wantCalls int
	}{
		{reason: "10 adds from 10 callers fill one call", callers: each(accounts[:10], false), wantCalls: 1},
		{reason: "20 adds from 20 callers fill two calls", callers: each(accounts[:20], false), wantCalls: 2},
		{reason: "10 removes from 10 callers fill one call", shared: accounts[:10], callers: each(accounts[:10], true), wantCalls: 1},
		{reason: "23 adds go in three calls", callers: []caller{{accounts: accounts}}, flushAt: 3, wantCalls: 3},
		{reason: "23 removes go in three calls", shared: accounts, callers: []caller{{accounts: accounts, remove: true}}, flushAt: 3, wantCalls: 3},
		{
			reason:  "5 adds and 5 removes go in one call",
			shared:  accounts[:5],
			callers: []caller{{accounts: accounts[5:10]}, {accounts: accounts[:5], remove: true}},
			flushAt: 10, wantCalls: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f := newFixture(t, anyAccount(100, tc.shared...), Options{Window: time.Hour})
			s, _ := f.shares(t, ownerCreds)
			want := map[string]bool{friend: true}
			for _, a := range tc.shared {
				want[a] = true
			}
			errs := make(chan error, len(tc.callers))
			total := 0
			for _, c := range tc.callers {
				for _, a := range c.accounts {
					want[a] = !c.remove
				}
				total += len(c.accounts)
				go func() { errs <- c.do(t.Context(), s) }()
			}
			if tc.flushAt > 0 {
				waitUntil(t, "the last batch to fill", func() bool { return len(f.open(ownerCreds.AccessKeyID, imageID)) == tc.flushAt })
				f.flush(t, ownerCreds.AccessKeyID, imageID)
			}
			for range tc.callers {
				if err := <-errs; err != nil {
					t.Errorf("caller: %v", err)
				}
			}
			if got := f.calls(modify); got != uint64(tc.wantCalls) {
				t.Errorf("%d Modify calls, want %d", got, tc.wantCalls)
			}
			if calls, n := f.batches(t); calls != tc.wantCalls || n != total {
				t.Errorf("metrics: %d calls of %d accounts, want %d of %d", calls, n, tc.wantCalls, total)
			}
			if diff := cmp.Diff(trueKeys(want), f.shared(t)); diff != "" {
				t.Errorf("shares (-want +got):\n%s", diff)
			}
		})
	}
}

func trueKeys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestSameAccountInOrder: ops on one account go in calls of their own, in
// the order they arrived, since ECS applies a call's removes before its
// adds. Each op joins before the next is made.
func TestSameAccountInOrder(t *testing.T) {
	cases := []struct {
		reason     string
		ops        []string // "+account" adds, "-account" removes
		wantCalls  uint64
		wantShared []string
	}{
		{reason: "add then remove leaves it unshared", ops: []string{"+" + stranger, "-" + stranger}, wantCalls: 2, wantShared: []string{friend}},
		{reason: "remove then add leaves it shared", ops: []string{"-" + friend, "+" + friend}, wantCalls: 2, wantShared: []string{friend}},
		{reason: "add, remove, add leaves it shared", ops: []string{"+" + stranger, "-" + stranger, "+" + stranger}, wantCalls: 3, wantShared: []string{friend, stranger}},
		{reason: "ops on different accounts share a call", ops: []string{"+" + stranger, "-" + friend}, wantCalls: 1, wantShared: []string{stranger}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f := newFixture(t, testConfig(), Options{Window: time.Hour})
			s, _ := f.shares(t, ownerCreds)
			errs := make(chan error, len(tc.ops))
			// What the open batch should hold, and how many batches an op
			// on an account already in it sealed, and so sent.
			var open []string
			var sealed uint64
			for _, op := range tc.ops {
				c := caller{accounts: []string{op[1:]}, remove: op[0] == '-'}
				go func() { errs <- c.do(t.Context(), s) }()
				if slices.ContainsFunc(open, func(o string) bool { return o[1:] == op[1:] }) {
					open, sealed = nil, sealed+1
				}
				open = append(open, op)
				waitUntil(t, fmt.Sprintf("%d calls and the open batch to hold %v", sealed, open), func() bool {
					return f.calls(modify) == sealed && slices.Equal(f.open(ownerCreds.AccessKeyID, imageID), open)
				})
			}
			f.flush(t, ownerCreds.AccessKeyID, imageID)
			for range tc.ops {
				if err := <-errs; err != nil {
					t.Errorf("op: %v", err)
				}
			}
			if got := f.calls(modify); got != tc.wantCalls {
				t.Errorf("%d Modify calls, want %d", got, tc.wantCalls)
			}
			if diff := cmp.Diff(tc.wantShared, f.shared(t)); diff != "" {
				t.Errorf("shares (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAccountErrors: a batch that fails for what one account may have
// caused is retried an account at a time, so that one bad account does not
// fail the others and each caller gets its own cause.
func TestAccountErrors(t *testing.T) {
	known := accountIDs(10)
	quota := testConfig(known...)
	quota.Images[0].MaxShares = 5 // friend and four more
	// An encrypted image whose share role trusts all but the last account.
	encrypted := testConfig(known...)
	encrypted.Images[0].Encryption = ecssim.EncryptionCMK
	trusted := make([]string, 0, len(known))
	for _, a := range append([]string{friend}, known[:9]...) {
		trusted = append(trusted, a+"@ecs.aliyuncs.com")
	}
	encrypted.Roles = []ecssim.Role{{Account: owner, Name: ecs.ShareEncryptedImageRole, TrustedServices: trusted}}
	cases := []struct {
		reason   string
		cfg      ecssim.Config
		accounts []string
		// together makes one call with every account, in order, instead of
		// a call each.
		together   bool
		wantCodes  map[string]int // "" counts successes
		wantShared []string       // if set; otherwise friend and the accounts that succeeded
		wantCalls  uint64
	}{
		{
			reason:    "an account ECS does not know fails alone",
			cfg:       testConfig(known[:9]...),
			accounts:  append(slices.Clone(known[:4]), append([]string{nobody}, known[4:9]...)...),
			wantCodes: map[string]int{"": 9, ecs.CodeAccountNotFound: 1},
			wantCalls: 11,
		},
		{
			reason:    "the owner's own account fails alone",
			cfg:       testConfig(known[:9]...),
			accounts:  append(slices.Clone(known[:9]), owner),
			wantCodes: map[string]int{"": 9, ecs.CodeAccountForbidden: 1},
			wantCalls: 11,
		},
		{
			reason:     "a full quota fails the accounts that arrived after it filled",
			cfg:        quota,
			accounts:   known,
			together:   true,
			wantCodes:  map[string]int{"": 4, ecs.CodeQuotaShareImageUser: 6},
			wantShared: slices.Sorted(slices.Values(append([]string{friend}, known[:4]...))),
			wantCalls:  11,
		},
		{
			reason:    "a full quota with a caller per account",
			cfg:       quota,
			accounts:  known,
			wantCodes: map[string]int{"": 4, ecs.CodeQuotaShareImageUser: 6},
			wantCalls: 11,
		},
		{
			reason:    "an account the encrypted image's share role does not trust fails alone",
			cfg:       encrypted,
			accounts:  known,
			wantCodes: map[string]int{"": 9, ecs.CodeAssumeRoleError: 1},
			wantCalls: 11,
		},
		{
			reason:    "a batch of one is not retried",
			cfg:       testConfig(),
			accounts:  []string{nobody},
			wantCodes: map[string]int{ecs.CodeAccountNotFound: 1},
			wantCalls: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f := newFixture(t, tc.cfg, Options{Window: time.Hour})
			s, _ := f.shares(t, ownerCreds)
			outcomes := map[string]string{} // account → code
			if tc.together {
				err := make(chan error, 1)
				go func() { err <- s.AddAccounts(t.Context(), imageID, tc.accounts...) }()
				if len(tc.accounts) < ecs.MaxAccountsPerCall {
					f.waitOpen(t, ownerCreds.AccessKeyID, imageID, plus(tc.accounts)...)
					f.flush(t, ownerCreds.AccessKeyID, imageID)
				}
				joined := <-err
				for _, a := range tc.accounts {
					outcomes[a] = codeOf(accountError(joined, a))
				}
			} else {
				type result struct {
					account string
					err     error
				}
				results := make(chan result, len(tc.accounts))
				for _, a := range tc.accounts {
					go func() { results <- result{a, s.AddAccounts(t.Context(), imageID, a)} }()
				}
				if len(tc.accounts) < ecs.MaxAccountsPerCall {
					waitUntil(t, "every account to join", func() bool { return len(f.open(ownerCreds.AccessKeyID, imageID)) == len(tc.accounts) })
					f.flush(t, ownerCreds.AccessKeyID, imageID)
				}
				for range tc.accounts {
					r := <-results
					outcomes[r.account] = codeOf(r.err)
				}
			}

			codes := map[string]int{}
			succeeded := []string{friend}
			for a, code := range outcomes {
				codes[code]++
				if code == "" {
					succeeded = append(succeeded, a)
				}
			}
			if diff := cmp.Diff(tc.wantCodes, codes); diff != "" {
				t.Errorf("outcomes by code (-want +got):\n%s", diff)
			}
			wantShared := tc.wantShared
			if wantShared == nil {
				wantShared = slices.Sorted(slices.Values(succeeded))
			}
			if diff := cmp.Diff(wantShared, f.shared(t)); diff != "" {
				t.Errorf("shares (-want +got):\n%s", diff)
			}
			if got := f.calls(modify); got != tc.wantCalls {
				t.Errorf("%d Modify calls, want %d", got, tc.wantCalls)
			}
		})
	}
}

// plus is accounts as adds in the open batch.
func plus(accounts []string) []string {
	out := make([]string, len(accounts))
	for i, a := range accounts {
		out[i] = "+" + a
	}
	return out
}

// accountError is the error a call of several accounts returned for one of
// them, nil if it succeeded.
func accountError(joined error, account string) error {
	var many interface{ Unwrap() []error }
	if !errors.As(joined, &many) {
		return joined
	}
	for _, err := range many.Unwrap() {
		if change := (*ChangeError)(nil); errors.As(err, &change) && change.Account == account {
			return err
		}
	}
	return nil
}

// TestBatchErrorReachesEveryCaller: an error no account caused fails the
// whole batch, without a retry per account, and drops the listing, since
// whether the call applied is unknown.
func TestBatchErrorReachesEveryCaller(t *testing.T) {
	f := newFixture(t, anyAccount(100), Options{Freshness: time.Hour, Window: time.Hour})
	s, _ := f.shares(t, ownerCreds)
	if share, err := s.FindShare(t.Context(), imageID, friend); err != nil || share == nil {
		t.Fatalf("FindShare = %+v, %v; want the share", share, err)
	}
	if err := f.sim.DeleteImage(region, imageID); err != nil {
		t.Fatalf("DeleteImage: %v", err)
	}
	accounts := accountIDs(ecs.MaxAccountsPerCall)
	errs := make(chan error, len(accounts))
	for _, a := range accounts {
		go func() { errs <- s.AddAccounts(t.Context(), imageID, a) }()
	}
	for range accounts {
		if err := <-errs; !ecs.IsNotFound(err) {
			t.Errorf("AddAccounts = %v, want %s", err, ecs.CodeImageNotFound)
		}
	}
	if got := f.calls(modify); got != 1 {
		t.Errorf("%d Modify calls, want 1", got)
	}
	if _, err := s.FindShare(t.Context(), imageID, friend); !ecs.IsNotFound(err) {
		t.Errorf("FindShare after the failed batch = %v, want %s read anew", err, ecs.CodeImageNotFound)
	}
	if got := f.calls(describe); got != 2 {
		t.Errorf("%d Describe calls, want 2: the fresh listing was dropped", got)
	}
}

// TestCancelledWriterDoesNotFailOthers: a caller that gives up stops
// waiting at once; its batch still fills and goes, with its account.
func TestCancelledWriterDoesNotFailOthers(t *testing.T) {
	f := newFixture(t, anyAccount(100), Options{Window: time.Hour})
	s, p := f.shares(t, ownerCreds)
	h := p.hold(t, "Modify")
	accounts := accountIDs(ecs.MaxAccountsPerCall)
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { first <- s.AddAccounts(ctx, imageID, accounts[0]) }()
	f.waitOpen(t, ownerCreds.AccessKeyID, imageID, "+"+accounts[0])
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled caller = %v, want it to stop waiting with %v", err, context.Canceled)
	}
	errs := make(chan error, len(accounts)-1)
	for _, a := range accounts[1:] {
		go func() { errs <- s.AddAccounts(t.Context(), imageID, a) }()
	}
	receive(t, "the batch", h.entered)
	h.Release()
	for range accounts[1:] {
		if err := <-errs; err != nil {
			t.Errorf("AddAccounts: %v", err)
		}
	}
	want := slices.Sorted(slices.Values(append([]string{friend}, accounts...)))
	if diff := cmp.Diff(want, f.shared(t)); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
	if got := f.calls(modify); got != 1 {
		t.Errorf("%d Modify calls, want 1", got)
	}
}

// TestStreamOfWritesFillsOneBatch: writes that keep coming, each within a
// Window of the last, as when kubectl applies or deletes shares one by one
// on a loaded API server, go out in one call however long they take
// together. The spacing is half the Window, so only a machine stalled for
// half a second could split the batch.
func TestStreamOfWritesFillsOneBatch(t *testing.T) {
	const window = time.Second
	f := newFixture(t, anyAccount(100), Options{Window: window})
	s, _ := f.shares(t, ownerCreds)
	// Ten writes span 4.5 Windows: a Window that did not restart would send
	// five calls, and one that held a batch at most four Windows from its
	// oldest write, as it once did, two.
	accounts := accountIDs(ecs.MaxAccountsPerCall)
	errs := make(chan error, len(accounts))
	for _, a := range accounts {
		go func() { errs <- s.AddAccounts(t.Context(), imageID, a) }()
		time.Sleep(window / 2)
	}
	for range accounts {
		if err := <-errs; err != nil {
			t.Errorf("AddAccounts: %v", err)
		}
	}
	if got := f.calls(modify); got != 1 {
		t.Errorf("%d Modify calls for %d writes %s apart, want 1", got, len(accounts), window/2)
	}
}

// TestTheSameChangeWaitingIsMadeOnce: a change made again while the same
// change still waits for its call, as by a caller that gave up waiting and
// came back, is not queued twice (which would split the calls: an
// account's changes go in calls of their own); both callers get its
// answer. The second comes well within the Window of the first.
func TestTheSameChangeWaitingIsMadeOnce(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Window: time.Second})
	s, _ := f.shares(t, ownerCreds)
	first := make(chan error, 1)
	go func() { first <- s.AddAccounts(t.Context(), imageID, stranger) }()
	f.waitOpen(t, ownerCreds.AccessKeyID, imageID, "+"+stranger)
	if err := s.AddAccounts(t.Context(), imageID, stranger); err != nil {
		t.Errorf("the second caller: %v", err)
	}
	if err := <-first; err != nil {
		t.Errorf("the first caller: %v", err)
	}
	if got := f.calls(modify); got != 1 {
		t.Errorf("%d Modify calls, want 1", got)
	}
	if diff := cmp.Diff([]string{friend, stranger}, f.shared(t)); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
}

// TestThrottledWriteKeepsTheListing: a throttled call applied nothing and
// says nothing of the image, so the image's listing still answers: the
// resources of a busy account are not all sent back to read it again.
func TestThrottledWriteKeepsTheListing(t *testing.T) {
	cfg := testConfig()
	// One Modify a minute: the first call takes the bucket's one token, the
	// second is throttled.
	cfg.Faults.RateLimits.PerAction = map[string]ecssim.Rate{modify: {PerSecond: 1.0 / 60, Burst: 1}}
	f := newFixture(t, cfg, Options{Freshness: time.Hour})
	s, _ := f.shares(t, ownerCreds)
	if _, err := s.FindShare(t.Context(), imageID, stranger); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccounts(t.Context(), imageID, stranger); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAccounts(t.Context(), imageID, friend); !ecs.IsThrottled(err) {
		t.Fatalf("the second call = %v, want it throttled", err)
	}
	share, err := s.FindShare(t.Context(), imageID, stranger)
	if err != nil || share == nil {
		t.Errorf("FindShare after the throttle = %v, %v: want the listing with our own add", share, err)
	}
	if got := f.calls(describe); got != 1 {
		t.Errorf("%d Describe calls, want 1: the listing was dropped for a throttle", got)
	}
}

// TestWritesWaitForMoreWhileThePacerBinds: while another image's calls keep
// the client's pacer busy, writes of an image that come further apart than
// the Window still go in one call: the call would have waited for a turn
// anyway. Objects that exist before the provider starts reach an image a
// few a second, and went in calls of five or six. The pacer is real, at 2
// Modify calls a second; the busy image has ten full calls to make.
func TestWritesWaitForMoreWhileThePacerBinds(t *testing.T) {
	const (
		window = 200 * time.Millisecond
		busy   = "m-test0002"
	)
	cfg := anyAccount(100)
	cfg.Images = append(cfg.Images, ecssim.Image{ID: busy, Region: region, Owner: owner, MaxShares: 200})
	f := newFixture(t, cfg, Options{Window: window})
	pacer := pacing.New(pacing.Options{Rates: map[string]float64{ecs.ActionModify: 2}, CeilingFactor: 1}).For(pacing.Key{Budget: "test", Region: region})
	c, err := ecs.New(ecs.Config{
		Region: region, Endpoint: f.url, Credentials: ownerCreds,
		ConnectTimeout: time.Second, ReadTimeout: 5 * time.Second, Pacer: pacer,
	})
	if err != nil {
		t.Fatalf("ecs.New: %v", err)
	}
	t.Cleanup(c.Close)
	s := f.c.For(ownerCreds.AccessKeyID, c)

	answered := make(chan struct{}, 200)
	wake := func() { answered <- struct{}{} }
	for _, a := range accountIDs(100) {
		if err := s.Submit(t.Context(), busy, "6"+a[1:], true, wake); err != nil {
			t.Fatalf("Submit on the busy image: %v", err)
		}
	}
	// Ten writes 1.5 Windows apart: each gap would send what waits.
	accounts := accountIDs(ecs.MaxAccountsPerCall)
	for _, a := range accounts {
		if err := s.Submit(t.Context(), imageID, a, true, wake); err != nil {
			t.Fatalf("Submit: %v", err)
		}
		time.Sleep(window * 3 / 2)
	}
	for range 100 + len(accounts) {
		select {
		case <-answered:
		case <-time.After(time.Minute):
			t.Fatal("not every write was answered within a minute")
		}
	}
	byImage := f.sim.CallsBy(func(c ecssim.Call) string { return c.Image }, func(c ecssim.Call) bool { return c.Action == modify })
	if got := byImage[imageID]; got != 1 {
		t.Errorf("%d Modify calls for %d writes %v apart while the pacer was busy, want 1", got, len(accounts), window*3/2)
	}
	if got := byImage[busy]; got != 10 {
		t.Errorf("%d Modify calls on the busy image for 100 writes, want 10", got)
	}
}
