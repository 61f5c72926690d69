package imageshares

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

const (
	describe = "DescribeImageSharePermission"
	modify   = "ModifyImageSharePermission"
)

type lookupResult struct {
	account string
	share   *ecs.Share
	err     error
}

// findAsync looks account up in a goroutine and sends the result to out.
func findAsync(ctx context.Context, s *Shares, image, account string, out chan<- lookupResult) {
	go func() {
		share, err := s.FindShare(ctx, image, account)
		out <- lookupResult{account, share, err}
	}()
}

// TestConcurrentLookupsShareOneRead holds the first read until every other
// lookup has joined it. With Freshness 0 no listing outlives its read, so
// one Describe shows the lookups shared the read in flight.
func TestConcurrentLookupsShareOneRead(t *testing.T) {
	const n = 20
	f := newFixture(t, testConfig(), Options{})
	s, p := f.shares(t, ownerCreds)
	h := p.hold(t, "ListShares")
	results := make(chan lookupResult, n)
	for i := range n {
		findAsync(t.Context(), s, imageID, []string{friend, stranger}[i%2], results)
	}
	receive(t, "the read", h.entered)
	waitUntil(t, "every other lookup to join the read", func() bool { return f.lookups(t, metrics.ListingJoined) == n-1 })
	h.Release()
	for range n {
		r := <-results
		if r.err != nil {
			t.Errorf("FindShare(%s): %v", r.account, r.err)
			continue
		}
		if found := r.share != nil; found != (r.account == friend) {
			t.Errorf("FindShare(%s) = %+v, want a share only for %s", r.account, r.share, friend)
		}
	}
	if got := f.calls(describe); got != 1 {
		t.Errorf("%d Describe calls, want 1", got)
	}
	if got := f.lookups(t, metrics.ListingMiss); got != 1 {
		t.Errorf("%d lookups missed, want 1", got)
	}
}

func TestFreshness(t *testing.T) {
	const freshness = time.Minute
	f := newFixture(t, testConfig(), Options{Freshness: freshness})
	s, _ := f.shares(t, ownerCreds)
	type counts struct{ Describes, Hits, Misses int }
	steps := []struct {
		reason  string
		advance time.Duration
		want    counts
	}{
		{reason: "the first lookup reads", want: counts{Describes: 1, Misses: 1}},
		{reason: "a listing younger than Freshness answers", advance: freshness - time.Nanosecond, want: counts{Describes: 1, Hits: 1, Misses: 1}},
		{reason: "a listing as old as Freshness is read again", advance: time.Nanosecond, want: counts{Describes: 2, Hits: 1, Misses: 2}},
		{reason: "the new listing's age counts from its own read", advance: freshness - time.Nanosecond, want: counts{Describes: 2, Hits: 2, Misses: 2}},
	}
	for _, step := range steps {
		f.clock.Advance(step.advance)
		share, err := s.FindShare(t.Context(), imageID, friend)
		if err != nil || share == nil || share.AccountID != friend {
			t.Fatalf("%s: FindShare(%s) = %+v, %v; want the share", step.reason, friend, share, err)
		}
		got := counts{Describes: int(f.calls(describe)), Hits: f.lookups(t, metrics.ListingHit), Misses: f.lookups(t, metrics.ListingMiss)}
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: counts (-want +got):\n%s", step.reason, diff)
		}
	}
}

// TestFreshnessCountsFromReadStart: a share changed while the read was in
// flight may be missing from its answer, so its listing is only as fresh as
// the moment it started.
func TestFreshnessCountsFromReadStart(t *testing.T) {
	const freshness = time.Minute
	f := newFixture(t, testConfig(), Options{Freshness: freshness})
	s, p := f.shares(t, ownerCreds)
	h := p.hold(t, "ListShares")
	results := make(chan lookupResult, 1)
	findAsync(t.Context(), s, imageID, friend, results)
	receive(t, "the read", h.entered)
	f.clock.Advance(freshness / 2)
	h.Release()
	if r := <-results; r.err != nil {
		t.Fatalf("FindShare: %v", r.err)
	}
	f.clock.Advance(freshness / 2)
	if _, err := s.FindShare(t.Context(), imageID, friend); err != nil {
		t.Fatalf("FindShare: %v", err)
	}
	if got := f.calls(describe); got != 2 {
		t.Errorf("%d Describe calls, want 2: a listing read a Freshness ago, landed half of it ago, is stale", got)
	}
}

// TestErrorsAreNotCached: every waiter of a failed read gets its error, and
// the next lookup reads again.
func TestErrorsAreNotCached(t *testing.T) {
	const n, missing = 5, "m-missing"
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour})
	s, p := f.shares(t, ownerCreds)
	h := p.hold(t, "ListShares")
	results := make(chan lookupResult, n)
	for range n {
		findAsync(t.Context(), s, missing, friend, results)
	}
	receive(t, "the read", h.entered)
	waitUntil(t, "every other lookup to join the read", func() bool { return f.lookups(t, metrics.ListingJoined) == n-1 })
	h.Release()
	for range n {
		if r := <-results; !ecs.IsNotFound(r.err) {
			t.Errorf("FindShare of a missing image = %+v, %v; want %s", r.share, r.err, ecs.CodeImageNotFound)
		}
	}
	if _, err := s.FindShare(t.Context(), missing, friend); !ecs.IsNotFound(err) {
		t.Errorf("FindShare again = %v, want %s", err, ecs.CodeImageNotFound)
	}
	if got := f.calls(describe); got != 2 {
		t.Errorf("%d Describe calls, want 2: one shared read, then one more since errors are not kept", got)
	}
}

// TestScopesDoNotShare: the image is owner's; other's key cannot see it.
// Neither owner's listing nor owner's batch may serve other.
func TestScopesDoNotShare(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour, Window: time.Hour})
	owners, _ := f.shares(t, ownerCreds)
	others, _ := f.shares(t, otherCreds)
	byKey := func(action string) map[string]uint64 {
		return f.sim.CallsBy(func(c ecssim.Call) string { return c.AccessKeyID }, func(c ecssim.Call) bool { return c.Action == action })
	}

	if share, err := owners.FindShare(t.Context(), imageID, friend); err != nil || share == nil {
		t.Fatalf("owner's FindShare = %+v, %v; want the share", share, err)
	}
	if share, err := others.FindShare(t.Context(), imageID, friend); !ecs.IsNotFound(err) {
		t.Errorf("other's FindShare = %+v, %v; want %s: owner's listing must not answer it", share, err, ecs.CodeImageNotFound)
	}
	want := map[string]uint64{ownerCreds.AccessKeyID: 1, otherCreds.AccessKeyID: 1}
	if diff := cmp.Diff(want, byKey(describe)); diff != "" {
		t.Errorf("Describe calls by AccessKey ID (-want +got):\n%s", diff)
	}

	ownerErr, otherErr := make(chan error, 1), make(chan error, 1)
	go func() { ownerErr <- owners.AddAccounts(t.Context(), imageID, stranger) }()
	go func() { otherErr <- others.AddAccounts(t.Context(), imageID, stranger) }()
	for _, creds := range []credentials.Credentials{ownerCreds, otherCreds} {
		f.waitOpen(t, creds.AccessKeyID, imageID, "+"+stranger)
		f.flush(t, creds.AccessKeyID, imageID)
	}
	if err := <-ownerErr; err != nil {
		t.Errorf("owner's AddAccounts: %v", err)
	}
	if err := <-otherErr; !ecs.IsNotFound(err) {
		t.Errorf("other's AddAccounts = %v, want %s", err, ecs.CodeImageNotFound)
	}
	if diff := cmp.Diff(want, byKey(modify)); diff != "" {
		t.Errorf("Modify calls by AccessKey ID (-want +got):\n%s", diff)
	}
}

// TestOwnWritesUpdateTheListing: after our own successful write, the
// listing says what it did, and no lookup reads ECS again.
func TestOwnWritesUpdateTheListing(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour, Window: time.Millisecond})
	s, _ := f.shares(t, ownerCreds)
	ctx := t.Context()
	first, err := s.FindShare(ctx, imageID, friend)
	if err != nil || first == nil || first.SharedTime.IsZero() {
		t.Fatalf("FindShare(%s) = %+v, %v; want the share with its SharedTime", friend, first, err)
	}
	steps := []struct {
		reason  string
		write   func() error
		account string
		want    *ecs.Share
	}{
		{
			reason:  "an account added is listed, with no SharedTime known",
			write:   func() error { return s.AddAccounts(ctx, imageID, stranger) },
			account: stranger,
			want:    &ecs.Share{ImageID: imageID, AccountID: stranger},
		},
		{
			reason:  "an account added again keeps the SharedTime it was listed with",
			write:   func() error { return s.AddAccounts(ctx, imageID, friend) },
			account: friend,
			want:    first,
		},
		{
			reason:  "an account removed is not listed",
			write:   func() error { return s.RemoveAccounts(ctx, imageID, friend) },
			account: friend,
		},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			t.Fatalf("%s: write: %v", step.reason, err)
		}
		got, err := s.FindShare(ctx, imageID, step.account)
		if err != nil {
			t.Fatalf("%s: FindShare: %v", step.reason, err)
		}
		if diff := cmp.Diff(step.want, got); diff != "" {
			t.Errorf("%s: FindShare(%s) (-want +got):\n%s", step.reason, step.account, diff)
		}
	}
	if got := f.calls(describe); got != 1 {
		t.Errorf("%d Describe calls, want 1", got)
	}
}

// TestWriteDuringReadIsNotLost holds a read once ECS has answered it, makes
// a write meanwhile, then lets the read, which predates the write, land.
func TestWriteDuringReadIsNotLost(t *testing.T) {
	cases := []struct {
		reason        string
		write         func(ctx context.Context, s *Shares) error
		wantWriteCode string
		account       string
		wantFound     bool
		wantDescribes uint64
	}{
		{
			reason:        "an add made during the read is applied to its result",
			write:         func(ctx context.Context, s *Shares) error { return s.AddAccounts(ctx, imageID, stranger) },
			account:       stranger,
			wantFound:     true,
			wantDescribes: 1,
		},
		{
			reason:        "a remove made during the read is applied to its result",
			write:         func(ctx context.Context, s *Shares) error { return s.RemoveAccounts(ctx, imageID, friend) },
			account:       friend,
			wantDescribes: 1,
		},
		{
			reason:        "a write that failed during the read, which may have applied, spoils its result",
			write:         func(ctx context.Context, s *Shares) error { return s.AddAccounts(ctx, imageID, nobody) },
			wantWriteCode: ecs.CodeAccountNotFound,
			account:       nobody,
			wantDescribes: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			f := newFixture(t, testConfig(), Options{Freshness: time.Hour, Window: time.Millisecond})
			s, p := f.shares(t, ownerCreds)
			h := p.hold(t, "ListShares")
			results := make(chan lookupResult, 1)
			findAsync(t.Context(), s, imageID, tc.account, results)
			receive(t, "the read", h.entered)
			if err := tc.write(t.Context(), s); codeOf(err) != tc.wantWriteCode {
				t.Fatalf("write = %v, want code %q", err, tc.wantWriteCode)
			}
			h.Release()
			r := <-results
			if r.err != nil {
				t.Fatalf("the lookup waiting for the read: %v", r.err)
			}
			if found := r.share != nil; found != tc.wantFound {
				t.Errorf("the lookup waiting for the read: FindShare(%s) = %+v, want found %v", tc.account, r.share, tc.wantFound)
			}
			share, err := s.FindShare(t.Context(), imageID, tc.account)
			if err != nil {
				t.Fatalf("a later lookup: %v", err)
			}
			if found := share != nil; found != tc.wantFound {
				t.Errorf("a later lookup: FindShare(%s) = %+v, want found %v", tc.account, share, tc.wantFound)
			}
			if got := f.calls(describe); got != tc.wantDescribes {
				t.Errorf("%d Describe calls, want %d", got, tc.wantDescribes)
			}
		})
	}
}

// TestCancelledLookupDoesNotFailOthers: the caller that started a read
// gives up; the read goes on for the caller that joined it.
func TestCancelledLookupDoesNotFailOthers(t *testing.T) {
	f := newFixture(t, testConfig(), Options{})
	s, p := f.shares(t, ownerCreds)
	h := p.hold(t, "ListShares")
	ctx, cancel := context.WithCancel(t.Context())
	first, second := make(chan lookupResult, 1), make(chan lookupResult, 1)
	findAsync(ctx, s, imageID, friend, first)
	waitUntil(t, "the first lookup to start the read", func() bool { return f.lookups(t, metrics.ListingMiss) == 1 })
	cancel()
	if r := <-first; !errors.Is(r.err, context.Canceled) {
		t.Errorf("the cancelled lookup = %+v, %v; want it to stop waiting with %v", r.share, r.err, context.Canceled)
	}
	findAsync(t.Context(), s, imageID, friend, second)
	waitUntil(t, "the second lookup to join the read", func() bool { return f.lookups(t, metrics.ListingJoined) == 1 })
	receive(t, "the read", h.entered)
	h.Release()
	if r := <-second; r.err != nil || r.share == nil {
		t.Errorf("the second lookup = %+v, %v; want the share", r.share, r.err)
	}
	if got := f.calls(describe); got != 1 {
		t.Errorf("%d Describe calls, want 1", got)
	}
}

// TestEviction: entries unused for IdleAfter go, those with work under way
// stay.
func TestEviction(t *testing.T) {
	const idle = 10 * time.Minute
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour, IdleAfter: idle, Window: time.Millisecond})
	s, p := f.shares(t, ownerCreds)
	ctx := t.Context()
	if _, err := s.FindShare(ctx, imageID, friend); err != nil {
		t.Fatalf("FindShare: %v", err)
	}
	for i := range 50 {
		if _, err := s.FindShare(ctx, fmt.Sprintf("m-gone%02d", i), friend); !ecs.IsNotFound(err) {
			t.Fatalf("FindShare of a missing image: %v", err)
		}
	}
	if got := f.entries(); got != 51 {
		t.Fatalf("%d entries, want 51", got)
	}

	// The listing is still fresh, so only its eviction makes this read ECS.
	f.clock.Advance(idle)
	if _, err := s.FindShare(ctx, imageID, friend); err != nil {
		t.Fatalf("FindShare: %v", err)
	}
	if got := f.entries(); got != 1 {
		t.Errorf("%d entries after IdleAfter, want 1", got)
	}
	if got := f.calls(describe); got != 52 {
		t.Errorf("%d Describe calls, want 52: the evicted listing is read again", got)
	}

	if _, err := s.FindShare(ctx, "m-idle", friend); !ecs.IsNotFound(err) {
		t.Fatalf("FindShare of a missing image: %v", err)
	}
	reads, writes := p.hold(t, "ListShares"), p.hold(t, "Modify")
	results := make(chan lookupResult, 1)
	findAsync(ctx, s, "m-held", friend, results)
	written := make(chan error, 1)
	go func() { written <- s.AddAccounts(ctx, imageID, stranger) }()
	receive(t, "the read", reads.entered)
	receive(t, "the write", writes.entered)
	f.clock.Advance(idle)
	// The listing of imageID is still fresh: this lookup sweeps, and reads
	// nothing unless the sweep dropped the entry of the write under way.
	sweeper := make(chan lookupResult, 1)
	findAsync(ctx, s, imageID, friend, sweeper)
	if r := receive(t, "a lookup answered from a fresh listing", sweeper); r.err != nil {
		t.Fatalf("FindShare: %v", r.err)
	}
	if got := f.entries(); got != 2 {
		t.Errorf("%d entries, want 2: m-idle's goes, and a read and a write under way keep theirs", got)
	}
	reads.Release()
	writes.Release()
	if r := <-results; !ecs.IsNotFound(r.err) {
		t.Errorf("the held read = %v, want %s", r.err, ecs.CodeImageNotFound)
	}
	if err := <-written; err != nil {
		t.Errorf("the held write: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	type got struct{ IdleAfter, CallTimeout time.Duration }
	cases := []struct {
		reason string
		o      Options
		want   got
	}{
		{reason: "zero options idle after a minute", want: got{time.Minute, time.Minute}},
		{reason: "IdleAfter is twice Freshness", o: Options{Freshness: 5 * time.Minute}, want: got{10 * time.Minute, time.Minute}},
		{reason: "IdleAfter is at least a minute", o: Options{Freshness: time.Second}, want: got{time.Minute, time.Minute}},
		{reason: "set values are kept", o: Options{IdleAfter: time.Second, CallTimeout: 2 * time.Second}, want: got{time.Second, 2 * time.Second}},
		{reason: "negative values mean the defaults", o: Options{IdleAfter: -1, CallTimeout: -1}, want: got{time.Minute, time.Minute}},
	}
	for _, tc := range cases {
		c := New(tc.o)
		if diff := cmp.Diff(tc.want, got{c.idleAfter, c.callTimeout}); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tc.reason, diff)
		}
	}
}

// TestRefusesMalformedCalls: what ECS would refuse for every account of a
// batch is refused before it can join one.
func TestRefusesMalformedCalls(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Window: time.Hour})
	s, _ := f.shares(t, ownerCreds)
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cases := []struct {
		reason string
		call   func() error
	}{
		{reason: "a lookup with no image", call: func() error { _, err := s.FindShare(ctx, "", friend); return err }},
		{reason: "a lookup with no account", call: func() error { _, err := s.FindShare(ctx, imageID, ""); return err }},
		{reason: "an add with no image", call: func() error { return s.AddAccounts(ctx, "", friend) }},
		{reason: "an add with an empty account", call: func() error { return s.AddAccounts(ctx, imageID, stranger, "") }},
		{reason: "a remove with an empty account", call: func() error { return s.RemoveAccounts(ctx, imageID, "") }},
		{reason: "a lookup already cancelled", call: func() error { _, err := s.FindShare(cancelled, imageID, friend); return err }},
		{reason: "an add already cancelled", call: func() error { return s.AddAccounts(cancelled, imageID, friend) }},
	}
	for _, tc := range cases {
		if err := tc.call(); err == nil {
			t.Errorf("%s: no error", tc.reason)
		}
	}
	if got := f.open(ownerCreds.AccessKeyID, imageID); got != nil {
		t.Errorf("the open batch holds %v, want none", got)
	}
	if got := f.sim.Counters(); len(got) != 0 {
		t.Errorf("calls reached ECS: %v", got)
	}
}
