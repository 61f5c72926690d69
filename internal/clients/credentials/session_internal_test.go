package credentials

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests drive the refresh timing with a fake fetch and a settable
// clock; sources_test.go drives the real sources against the simulator.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSTS issues numbered sessions of a fixed lifetime, or fails while err
// is set; release, if set, holds each fetch until it is closed.
type fakeSTS struct {
	clock    *clock
	lifetime time.Duration
	mu       sync.Mutex
	calls    int
	err      error
	release  chan struct{}
}

func (f *fakeSTS) fetch(context.Context) (Session, error) {
	f.mu.Lock()
	f.calls++
	n, err, release := f.calls, f.err, f.release
	f.mu.Unlock()
	if release != nil {
		<-release
	}
	if err != nil {
		return Session{}, err
	}
	return Session{
		Credentials: Credentials{AccessKeyID: fmt.Sprintf("STS.%d", n), AccessKeySecret: "s", SecurityToken: "t"},
		Expiration:  f.clock.now().Add(f.lifetime),
	}, nil
}

func (f *fakeSTS) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

func newTestSession(f *fakeSTS, jitter float64) *refreshing {
	return newRefreshing("id", "test hop", f.fetch, []Option{WithClock(f.clock.now), WithJitter(func() float64 { return jitter })})
}

// wait lets the background refresh, if any, finish.
func (s *refreshing) wait() {
	s.mu.Lock()
	f := s.flight
	s.mu.Unlock()
	if f != nil {
		<-f.done
	}
}

func keyOf(t *testing.T, s *refreshing) string {
	t.Helper()
	c, err := s.Credentials(context.Background())
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	return c.AccessKeyID
}

func TestRefreshAheadOfExpiry(t *testing.T) {
	// A one-hour session: margin 5m; jitter 0.5 of margin/2 is 75s, so the
	// refresh is due 6m15s before expiry, and the session is handed out
	// until 1m before it.
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := &fakeSTS{clock: c, lifetime: time.Hour}
	s := newTestSession(f, 0.5)

	if got := keyOf(t, s); got != "STS.1" {
		t.Fatalf("first credentials %s, want STS.1", got)
	}
	c.advance(time.Hour - 6*time.Minute - 16*time.Second)
	if got := keyOf(t, s); got != "STS.1" || f.count() != 1 {
		t.Fatalf("before the refresh is due: %s after %d fetches, want STS.1 after 1", got, f.count())
	}
	c.advance(2 * time.Second)
	// Due: the caller still gets the current session, without waiting, and
	// a refresh starts.
	if got := keyOf(t, s); got != "STS.1" {
		t.Errorf("when the refresh is due: %s, want STS.1 while it runs", got)
	}
	s.wait()
	if got := keyOf(t, s); got != "STS.2" || f.count() != 2 {
		t.Errorf("after the refresh: %s after %d fetches, want STS.2 after 2", got, f.count())
	}
}

func TestMarginOfShortSessions(t *testing.T) {
	// A 16-minute session: margin a quarter, 4m; jitter 0 refreshes at 12m.
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := &fakeSTS{clock: c, lifetime: 16 * time.Minute}
	s := newTestSession(f, 0)
	keyOf(t, s)
	c.advance(12*time.Minute - time.Second)
	keyOf(t, s)
	s.wait()
	if f.count() != 1 {
		t.Fatalf("refreshed %d times before 12m of 16m, want 0", f.count()-1)
	}
	c.advance(time.Second)
	keyOf(t, s)
	s.wait()
	if f.count() != 2 {
		t.Errorf("refreshed %d times at 12m of 16m, want 1", f.count()-1)
	}
}

func TestSingleFlight(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	release := make(chan struct{})
	f := &fakeSTS{clock: c, lifetime: time.Hour, release: release}
	s := newTestSession(f, 0)
	var wg sync.WaitGroup
	keys := make(chan string, 100)
	for range 100 {
		wg.Go(func() {
			cr, err := s.Credentials(context.Background())
			if err != nil {
				t.Errorf("Credentials: %v", err)
			}
			keys <- cr.AccessKeyID
		})
	}
	// Every caller is either waiting for the flight or about to join it; the
	// flight is held until released, so none can start another.
	for f.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(keys)
	for k := range keys {
		if k != "STS.1" {
			t.Errorf("a caller got %s, want STS.1", k)
		}
	}
	if f.count() != 1 {
		t.Errorf("%d fetches for 100 callers, want 1", f.count())
	}
}

func TestBackoff(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := &fakeSTS{clock: c, lifetime: time.Hour, err: errors.New("STS AssumeRole failed: NoPermission")}
	s := newTestSession(f, 0.5) // ±0: backoffs are exactly 5s, 10s, 20s, 40s, 60s, 60s
	_, err := s.Credentials(context.Background())
	if err == nil || err.Error() != "test hop: STS AssumeRole failed: NoPermission" {
		t.Fatalf("Credentials error = %v, want the fetch's, naming the hop", err)
	}
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		for range 10 {
			if _, err := s.Credentials(context.Background()); err == nil {
				t.Fatal("Credentials succeeded while failing")
			}
		}
		c.advance(wait - time.Millisecond)
		s.Credentials(context.Background())
		if f.count() != i+1 {
			t.Fatalf("step %d: %d fetches within %s of the last failure, want %d", i, f.count(), wait, i+1)
		}
		c.advance(time.Millisecond)
		s.Credentials(context.Background())
		if f.count() != i+2 {
			t.Fatalf("step %d: %d fetches %s after the last failure, want %d", i, f.count(), wait, i+2)
		}
	}
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
	c.advance(time.Minute)
	if got := keyOf(t, s); got == "" {
		t.Fatal("no credentials once STS answers again")
	}
}

func TestFailedRefreshKeepsUsableSession(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := &fakeSTS{clock: c, lifetime: time.Hour}
	s := newTestSession(f, 0)
	keyOf(t, s)
	f.mu.Lock()
	f.err = errors.New("STS unreachable")
	f.mu.Unlock()
	c.advance(55 * time.Minute) // due (5m ahead) but usable until 59m
	if got := keyOf(t, s); got != "STS.1" {
		t.Fatalf("got %s, want STS.1", got)
	}
	s.wait()
	for range 10 {
		if got := keyOf(t, s); got != "STS.1" {
			t.Fatalf("after a failed refresh: %s, want the usable STS.1", got)
		}
	}
	if f.count() != 2 {
		t.Errorf("%d fetches, want 2: a failed refresh backs off", f.count())
	}
	c.advance(4*time.Minute + time.Second) // past 59m: no longer handed out, and the backoff is over
	if _, err := s.Credentials(context.Background()); err == nil {
		t.Error("Credentials succeeded with an unusable session and a failing STS")
	}
}

func TestRefusedDropsOnlyTheCurrentSession(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := &fakeSTS{clock: c, lifetime: time.Hour}
	s := newTestSession(f, 0)
	first, _ := s.Credentials(context.Background())
	s.Refused(Credentials{AccessKeyID: "STS.other", SecurityToken: "t"})
	if got := keyOf(t, s); got != "STS.1" {
		t.Fatalf("after refusing other credentials: %s, want STS.1 kept", got)
	}
	s.Refused(first)
	if got := keyOf(t, s); got != "STS.2" {
		t.Errorf("after refusing the current credentials: %s, want a new session STS.2", got)
	}
	s.Refused(first) // stale: the session is already replaced
	if got := keyOf(t, s); got != "STS.2" {
		t.Errorf("after refusing stale credentials: %s, want STS.2 kept", got)
	}
}

// TestRepeatedRefusalsBackOff plays a service that refuses every session
// as soon as it is used: the source must not fetch a new one for every
// call, but back off as failed fetches do, and say why.
func TestRepeatedRefusalsBackOff(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	f := &fakeSTS{clock: c, lifetime: time.Hour}
	s := newTestSession(f, 0.5) // ±0: the waits are exactly 5s, 10s, ...
	var lastErr error
	use := func() {
		for range 50 {
			creds, err := s.Credentials(context.Background())
			if err != nil {
				lastErr = err
				continue
			}
			s.Refused(creds)
		}
	}
	use()
	if got, want := f.count(), youngRefusals+1; got != want {
		t.Fatalf("50 calls whose sessions were all refused at once made %d fetches, want %d: past %d young refusals in a row, fetches back off", got, want, youngRefusals)
	}
	if lastErr == nil || !strings.Contains(lastErr.Error(), "fresh sessions are refused as soon as they are fetched") {
		t.Errorf("while backing off, Credentials said %v, want why", lastErr)
	}
	c.advance(5 * time.Second)
	use()
	if got, want := f.count(), youngRefusals+2; got != want {
		t.Errorf("after the first wait, %d fetches, want %d: one more, then a longer wait", got, want)
	}
	// A session that lived a while before its refusal is an ordinary
	// revocation: the next is fetched at once.
	c.advance(10 * time.Second)
	first, err := s.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.advance(refusedYoung)
	s.Refused(first)
	if got, want := keyOf(t, s), fmt.Sprintf("STS.%d", youngRefusals+4); got != want {
		t.Errorf("after refusing an old session: %s, want a new one at once, %s", got, want)
	}
}
