package imageshares

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// TestSubmit: Submit returns before ECS is called; the outcome reaches the
// caller through its wake and the account's FindShare, which tells a
// refusal once and then answers from the listing.
func TestSubmit(t *testing.T) {
	cases := map[string]struct {
		reason  string
		account string
		add     bool
		// wantCodes are the codes of the first two FindShares after the
		// wake ("" for none).
		wantCodes [2]string
		wantHeld  bool // whether the second FindShare finds the share
		// wantReads is 1 when our own write keeps the listing fresh, 2
		// when a failed write drops it.
		wantReads uint64
	}{
		"Shared": {
			reason: "a share that went through is in the listing when the wake comes", account: stranger, add: true,
			wantHeld: true, wantReads: 1,
		},
		"Unshared": {
			reason: "an unshare that went through is gone from the listing when the wake comes", account: friend,
			wantReads: 1,
		},
		"Refused": {
			reason: "a refused share's error is told once by FindShare; after that the listing answers", account: nobody, add: true,
			wantCodes: [2]string{ecs.CodeAccountNotFound, ""}, wantReads: 2,
		},
		"UnshareRefused": {
			reason: "a refused unshare's error is told once by FindShare; after that the listing answers", account: nobody,
			wantCodes: [2]string{ecs.CodeAccountNotFound, ""}, wantReads: 2,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, testConfig(), Options{Freshness: time.Hour, Window: time.Hour})
			s, p := f.shares(t, ownerCreds)
			if _, err := s.FindShare(t.Context(), imageID, friend); err != nil {
				t.Fatal(err)
			}
			h := p.hold(t, "Modify")
			woken := make(chan struct{}, 1)
			if err := s.Submit(t.Context(), imageID, tc.account, tc.add, func() { woken <- struct{}{} }); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if got := f.calls(modify); got != 0 {
				t.Fatalf("%d Modify calls before the window ended, want Submit to return first", got)
			}
			f.flush(t, ownerCreds.AccessKeyID, imageID)
			receive(t, "the call", h.entered)
			select {
			case <-woken:
				t.Fatal("woken before ECS's answer reached the Coalescer")
			default:
			}
			h.Release()
			receive(t, "the wake", woken)

			var codes [2]string
			var share *ecs.Share
			for i := range codes {
				var err error
				share, err = s.FindShare(t.Context(), imageID, tc.account)
				codes[i] = codeOf(err)
			}
			if diff := cmp.Diff(tc.wantCodes, codes); diff != "" {
				t.Errorf("%s\nFindShare's codes after the wake: -want, +got:\n%s", tc.reason, diff)
			}
			// Only a refused share is known not to be there; a refused
			// unshare says nothing of whether the share is.
			if diff := cmp.Diff(tc.add && tc.wantCodes[0] != "", s.Refused(imageID, tc.account)); diff != "" {
				t.Errorf("%s\nRefused after the FindShares: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantHeld, share != nil); diff != "" {
				t.Errorf("%s\nshare found: -want, +got:\n%s", tc.reason, diff)
			}
			if got := f.calls(describe); got != tc.wantReads {
				t.Errorf("%s\n%d Describe calls, want %d", tc.reason, got, tc.wantReads)
			}
		})
	}
}

// TestRefusedChangeWaitsForItsAnswer: after ECS refused an account's queued
// change, the account's next Submits wait for ECS's answer and return it,
// so that the caller retrying it sees each refusal and backs off; once a
// change of the account goes through, its Submits are queued again.
func TestRefusedChangeWaitsForItsAnswer(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour})
	s, p := f.shares(t, ownerCreds)
	woken := make(chan struct{}, 1)
	if err := s.Submit(t.Context(), imageID, nobody, true, func() { woken <- struct{}{} }); err != nil {
		t.Fatalf("first Submit, queued: %v", err)
	}
	receive(t, "the wake", woken)
	if s.Refused(imageID, nobody) {
		t.Error("Refused before the refusal was told: want false, so that the caller's next look tells it")
	}
	if _, err := s.FindShare(t.Context(), imageID, nobody); codeOf(err) != ecs.CodeAccountNotFound {
		t.Fatalf("FindShare after the refusal: %v, want %s", err, ecs.CodeAccountNotFound)
	}
	if !s.Refused(imageID, nobody) {
		t.Error("Refused after FindShare told the refusal: want true, the share known not to be there")
	}

	var got []string
	for range 2 {
		err := s.Submit(t.Context(), imageID, nobody, true, func() { t.Error("a Submit that waited for its answer woke its caller too") })
		got = append(got, codeOf(err))
		if _, err := s.FindShare(t.Context(), imageID, nobody); err != nil {
			t.Errorf("FindShare after a Submit that returned its refusal: %v, want the refusal not told twice", err)
		}
		if !s.Refused(imageID, nobody) {
			t.Error("Refused after a Submit returned its refusal: want true")
		}
	}
	if err := f.sim.AddAccount(ecssim.Account{ID: nobody}); err != nil {
		t.Fatal(err)
	}
	got = append(got, codeOf(s.Submit(t.Context(), imageID, nobody, true, nil)))
	if diff := cmp.Diff([]string{ecs.CodeAccountNotFound, ecs.CodeAccountNotFound, ""}, got); diff != "" {
		t.Errorf("the retries' outcomes, returned by Submit: -want, +got:\n%s", diff)
	}
	if got := f.calls(modify); got != 4 {
		t.Errorf("%d Modify calls, want 4: one per Submit, each made before the retries returned", got)
	}
	if share, err := s.FindShare(t.Context(), imageID, nobody); err != nil || share == nil {
		t.Errorf("FindShare after the share went through: %v, %v; want the share", share, err)
	}
	if s.Refused(imageID, nobody) {
		t.Error("Refused after the share went through: want false")
	}

	h := p.hold(t, "Modify")
	if err := s.Submit(t.Context(), imageID, nobody, false, nil); err != nil {
		t.Fatalf("Submit after a change went through: %v", err)
	}
	receive(t, "the unshare's call, made after Submit returned", h.entered)
	h.Release()
}

// TestRefusedIsOnlyWhatECSRefused: a share whose call failed on ECS's
// side may have been made, so it is not known to be missing: the resource
// keeps waiting for ECS to list it, as for any new share.
func TestRefusedIsOnlyWhatECSRefused(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour})
	s, _ := f.shares(t, ownerCreds)
	if err := f.sim.SetFaults(ecssim.Faults{ErrorRate: 1, ErrorCode: ecssim.CodeServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	woken := make(chan struct{}, 1)
	if err := s.Submit(t.Context(), imageID, stranger, true, func() { woken <- struct{}{} }); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	receive(t, "the wake", woken)
	if _, err := s.FindShare(t.Context(), imageID, stranger); codeOf(err) != ecs.CodeServiceUnavailable {
		t.Fatalf("FindShare after the failure: %v, want %s", err, ecs.CodeServiceUnavailable)
	}
	if s.Refused(imageID, stranger) {
		t.Error("Refused after a call that failed on ECS's side: want false, the share may have been made")
	}
}

// TestForgetDropsAFailure: once the resource that made a refused change is
// gone, nothing of the refusal is kept, and the account's next Submit is
// queued again rather than waiting for ECS's answer.
func TestForgetDropsAFailure(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Freshness: time.Hour, Window: time.Hour})
	s, p := f.shares(t, ownerCreds)
	woken := make(chan struct{}, 1)
	if err := s.Submit(t.Context(), imageID, nobody, true, func() { woken <- struct{}{} }); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	f.flush(t, ownerCreds.AccessKeyID, imageID)
	receive(t, "the wake", woken)
	if _, err := s.FindShare(t.Context(), imageID, nobody); codeOf(err) != ecs.CodeAccountNotFound {
		t.Fatalf("FindShare after the refusal: %v, want %s", err, ecs.CodeAccountNotFound)
	}
	s.Forget(imageID, nobody)
	if s.Refused(imageID, nobody) {
		t.Error("Refused after Forget: want false")
	}
	h := p.hold(t, "Modify")
	defer h.Release()
	// A Submit that waited for ECS's answer would wait out the hour-long
	// window: it gives up after a few seconds instead, and fails.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Submit(ctx, imageID, nobody, true, nil); err != nil {
		t.Fatalf("Submit after Forget: %v, want it queued", err)
	}
	if got := f.calls(modify); got != 1 {
		t.Errorf("%d Modify calls after the Submit that followed Forget, want 1: it is queued, not made while the caller waits", got)
	}
}

// TestSubmitTwiceQueuesOnce: the same change submitted again while it is
// queued, as a resource reconciled again before its call went, is not sent
// twice; both callers are woken.
func TestSubmitTwiceQueuesOnce(t *testing.T) {
	f := newFixture(t, testConfig(), Options{Window: time.Hour})
	s, _ := f.shares(t, ownerCreds)
	woken := make(chan int, 2)
	for i := range 2 {
		if err := s.Submit(t.Context(), imageID, stranger, true, func() { woken <- i }); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	if diff := cmp.Diff([]string{"+" + stranger}, f.open(ownerCreds.AccessKeyID, imageID)); diff != "" {
		t.Errorf("waiting: -want, +got:\n%s", diff)
	}
	f.flush(t, ownerCreds.AccessKeyID, imageID)
	got := []int{receive(t, "a wake", woken), receive(t, "the other wake", woken)}
	slices.Sort(got)
	if diff := cmp.Diff([]int{0, 1}, got); diff != "" {
		t.Errorf("wakes: -want, +got:\n%s", diff)
	}
	if n := f.calls(modify); n != 1 {
		t.Errorf("%d Modify calls, want 1", n)
	}
}

// TestWritesJoinWhileACallIsUnderWay: writes that arrive while the image's
// call is under way (as when it waits for its turn under the pacer) go in
// full calls after it, even with no window at all: calls fill because ECS
// is slow or rationed, however the writes arrive.
func TestWritesJoinWhileACallIsUnderWay(t *testing.T) {
	f := newFixture(t, anyAccount(100), Options{Window: 0})
	s, p := f.shares(t, ownerCreds)
	h := p.hold(t, "Modify")
	accounts := accountIDs(26)
	shareAll(t, s, accounts[0])
	receive(t, "the first call", h.entered)
	shareAll(t, s, accounts[1:]...)
	h.Release()
	f.waitAnswered(t, ownerCreds.AccessKeyID, imageID)
	calls, n := f.batches(t)
	if diff := cmp.Diff([2]int{4, 26}, [2]int{calls, n}); diff != "" {
		t.Errorf("calls and accounts they carried (1, then 10, 10 and 5): -want, +got:\n%s", diff)
	}
	want := slices.Sorted(slices.Values(append([]string{friend}, accounts...)))
	if diff := cmp.Diff(want, f.shared(t)); diff != "" {
		t.Errorf("shares (-want +got):\n%s", diff)
	}
}

// gatePacer holds every call's turn until the test closes turns.
type gatePacer struct {
	waiting chan string
	turns   chan struct{}
}

func (g gatePacer) Wait(ctx context.Context, action string) error {
	g.waiting <- action
	select {
	case <-g.turns:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (gatePacer) Done(string, bool) {}

func (gatePacer) Saturated(string) bool { return false }

// TestCallTakesWhatCameWhileItWaitedForItsTurn: the call takes its accounts
// when its turn under the pacer comes, so that the shares that came while
// it waited go in it: when ECS's rate binds, calls fill, even if each share
// came alone.
func TestCallTakesWhatCameWhileItWaitedForItsTurn(t *testing.T) {
	f := newFixture(t, anyAccount(100), Options{Window: 0})
	gate := gatePacer{waiting: make(chan string, 2*ecs.MaxAccountsPerCall), turns: make(chan struct{})}
	client, err := ecs.New(ecs.Config{
		Region: region, Endpoint: f.url, Credentials: ownerCreds, Pacer: gate,
		ConnectTimeout: time.Second, ReadTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := f.c.For(ownerCreds.AccessKeyID, client)
	accounts := accountIDs(ecs.MaxAccountsPerCall)
	shareAll(t, s, accounts[0])
	receive(t, "the first call's wait for its turn", gate.waiting)
	shareAll(t, s, accounts[1:]...)
	close(gate.turns)
	f.waitAnswered(t, ownerCreds.AccessKeyID, imageID)
	calls, n := f.batches(t)
	if diff := cmp.Diff([2]int{1, ecs.MaxAccountsPerCall}, [2]int{calls, n}); diff != "" {
		t.Errorf("calls and accounts they carried: -want, +got:\n%s", diff)
	}
}

// shareAll submits a share of imageID with each account, queued.
func shareAll(t *testing.T, s *Shares, accounts ...string) {
	t.Helper()
	for _, a := range accounts {
		if err := s.Submit(t.Context(), imageID, a, true, nil); err != nil {
			t.Fatalf("Submit(%s): %v", a, err)
		}
	}
}

// waitAnswered waits until ECS has answered every change submitted on the
// scope's image.
func (f *fixture) waitAnswered(t *testing.T, scope, image string) {
	t.Helper()
	waitUntil(t, "every submitted change to be answered", func() bool {
		f.c.mu.Lock()
		defer f.c.mu.Unlock()
		return len(f.c.entries[key{scope, image}].submitted) == 0
	})
}
