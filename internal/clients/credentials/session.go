package credentials

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Session is a set of STS credentials and when they end.
type Session struct {
	Credentials Credentials
	Expiration  time.Time
	// ARN is the assumed role's session ARN, e.g.
	// acs:ram::<account>:assumed-role/<role>/<session>; empty where the
	// issuer does not say (the ECS instance metadata).
	ARN string
}

// String hides the secret and the token, as Credentials does.
func (s Session) String() string {
	return fmt.Sprintf("{Credentials: %v, Expiration: %s, ARN: %s}", s.Credentials, s.Expiration.Format(time.RFC3339), s.ARN)
}

// GoString does for %#v what String does for %v.
func (s Session) GoString() string { return "credentials.Session" + s.String() }

// Timing of refreshes and retries.
const (
	// maxMargin is the most a session is refreshed ahead of its expiry;
	// shorter sessions are refreshed a quarter of their lifetime ahead.
	maxMargin = 5 * time.Minute
	// firstBackoff doubles per failed fetch up to maxBackoff, each ±20%, so
	// that a failing STS or a wrong configuration costs a call every minute
	// at most, however many reconciles ask.
	firstBackoff = 5 * time.Second
	maxBackoff   = time.Minute
	// maxGuard is the most of its end a session is not handed out in, so
	// that a call that takes it does not outlive it.
	maxGuard = time.Minute
	// fetchTimeout bounds one fetch, which runs on without the context of
	// whichever caller started it: other callers wait for it too.
	fetchTimeout = 2 * time.Minute
	// refusedYoung is how old a session must be for its refusal to be an
	// ordinary one (revoked, rotated). More than youngRefusals sessions in
	// a row refused younger than this say that fresh ones are refused too (a
	// clock that is off, a revocation loop): fetching another at once would
	// make every call an STS call, so fetches back off as failures do.
	refusedYoung  = 30 * time.Second
	youngRefusals = 3
)

// Option tunes a Source; tests use them to drive time.
type Option func(*refreshing)

// WithClock makes a Source read the time from now.
func WithClock(now func() time.Time) Option { return func(s *refreshing) { s.now = now } }

// WithJitter makes a Source draw its jitter from rnd, which returns a float
// in [0, 1).
func WithJitter(rnd func() float64) Option { return func(s *refreshing) { s.rnd = rnd } }

// refreshing keeps a Session fresh: it fetches one, hands it out until it
// is due for refresh, refreshes it ahead of its expiry while still handing
// it out, and lets callers wait only when it is no longer usable. One fetch
// is in flight at a time; failures back off.
type refreshing struct {
	id string
	// name says which hop this is in errors, e.g. "assume-role hop 2
	// (acs:ram::1:role/x)".
	name  string
	fetch func(ctx context.Context) (Session, error)
	now   func() time.Time
	rnd   func() float64

	mu  sync.Mutex
	cur *Session
	// refreshAt is when cur is due for refresh; usableUntil is when it
	// stops being handed out.
	refreshAt, usableUntil time.Time
	flight                 *flight
	lastErr                error
	backoff                time.Duration
	retryAt                time.Time
	// fetchedAt is when cur was fetched; refusals counts the sessions in a
	// row refused younger than refusedYoung.
	fetchedAt time.Time
	refusals  int
}

// flight is a fetch in progress; done is closed when it ends.
type flight struct {
	done  chan struct{}
	creds Credentials
	err   error
}

func newRefreshing(id, name string, fetch func(context.Context) (Session, error), opts []Option) *refreshing {
	s := &refreshing{id: id, name: name, fetch: fetch, now: time.Now, rnd: rand.Float64}
	for _, o := range opts {
		o(s)
	}
	return s
}

func (s *refreshing) ID() string { return s.id }

func (s *refreshing) Credentials(ctx context.Context) (Credentials, error) {
	s.mu.Lock()
	now := s.now()
	if s.cur != nil && now.Before(s.usableUntil) {
		creds := s.cur.Credentials
		if !now.Before(s.refreshAt) && s.flight == nil && !now.Before(s.retryAt) {
			s.start(ctx)
		}
		s.mu.Unlock()
		return creds, nil
	}
	if s.flight == nil {
		if s.lastErr != nil && now.Before(s.retryAt) {
			err := s.lastErr
			s.mu.Unlock()
			return Credentials{}, err
		}
		s.start(ctx)
	}
	f := s.flight
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.creds, f.err
	case <-ctx.Done():
		return Credentials{}, ctx.Err()
	}
}

// start begins a fetch. It runs without the caller's cancellation (keeping
// its values) because other callers may wait for it. s.mu is held.
func (s *refreshing) start(ctx context.Context) {
	f := &flight{done: make(chan struct{})}
	s.flight = f
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		sess, err := s.fetch(fctx)
		s.finish(f, sess, err)
	}()
}

func (s *refreshing) finish(f *flight, sess Session, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(f.done)
	s.flight = nil
	now := s.now()
	if err == nil && !sess.Expiration.After(now) {
		err = fmt.Errorf("the session fetched expired at %s, before it was used: is this machine's clock right?", sess.Expiration.Format(time.RFC3339))
	}
	if err != nil {
		f.err = fmt.Errorf("%s: %w", s.name, err)
		s.lastErr = f.err
		s.backoff = min(max(2*s.backoff, firstBackoff), maxBackoff)
		s.retryAt = now.Add(s.jittered(s.backoff))
		return
	}
	s.cur, f.creds, s.fetchedAt = &sess, sess.Credentials, now
	s.lastErr, s.backoff, s.retryAt = nil, 0, time.Time{}
	lifetime := sess.Expiration.Sub(now)
	margin := min(maxMargin, lifetime/4)
	s.refreshAt = sess.Expiration.Add(-margin - time.Duration(s.rnd()*float64(margin/2)))
	s.usableUntil = sess.Expiration.Add(-min(maxGuard, margin/2))
}

// jittered spreads d by ±20%, so that sources failing together do not
// retry together.
func (s *refreshing) jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*s.rnd()))
}

func (s *refreshing) Refused(c Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || !sameKeys(s.cur.Credentials, c) {
		return
	}
	s.cur = nil
	now := s.now()
	if now.Sub(s.fetchedAt) >= refusedYoung {
		s.refusals = 0
		return
	}
	// A few young refusals may be revocations racing the fetches; past
	// youngRefusals in a row, the next fetch waits.
	if s.refusals++; s.refusals <= youngRefusals {
		return
	}
	d := min(firstBackoff<<min(s.refusals-youngRefusals-1, 6), maxBackoff)
	s.retryAt = now.Add(s.jittered(d))
	s.lastErr = fmt.Errorf("%s: fresh sessions are refused as soon as they are fetched: is this machine's clock right, or are the role's sessions being revoked? "+
		"The next is fetched in %s", s.name, d)
}

// sameKeys compares what identifies a session's credentials.
func sameKeys(a, b Credentials) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SecurityToken == b.SecurityToken
}
