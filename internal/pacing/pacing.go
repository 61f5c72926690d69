// Package pacing keeps the provider's ECS calls under ECS's rate limits,
// which are counted per account, per API action and per region in one-minute
// windows, with thresholds Alibaba Cloud does not publish. A throttled action
// stays refused until the next minute, so a storm of throttled calls is pure
// waste; the pacer instead finds the rate that ECS accepts the way TCP finds a
// link's: it halves its rate when throttled and climbs back slowly while there
// is demand for more (AIMD).
package pacing

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AIMD constants.
const (
	// firstCut is the cut of the first throttle of an episode: most often
	// the rate has just passed the limit, by a climb or by a call's
	// latency running short of the one before it, and a fifth below is
	// margin enough for ECS's bucket to refill.
	firstCut = 0.8
	// cutFactor halves the rate on each later throttle of the episode:
	// the account's other tools, or ECS's one-minute window, are taking
	// more than a margin. From the default rates the floor, Alibaba's
	// advised 1 call/s after a throttle, is a few cuts away.
	cutFactor = 0.5
	// cutEvery lets the throttles of calls in flight together cut once: they
	// all report the same excess.
	cutEvery = time.Second
	// calm is how long after the last throttle the next one begins a new
	// episode.
	calm = 5 * time.Second
	// recoverAfter is how long after the last throttle the rate may climb
	// back towards the limit: long enough for the calls sent at the rate
	// before the cut to have come back.
	recoverAfter = 2 * time.Second
	// climbFactor is the climb per climbEvery of demand: 10% a second takes
	// about 24 s to climb tenfold, slow beside the cut.
	climbFactor = 1.1
	climbEvery  = time.Second
	// demandWindow is how long after the last caller that had to wait the
	// pacer still counts on demand: long enough for that caller's call to
	// come back, short enough that an idle pacer cannot creep up and then
	// burst into a storm.
	demandWindow = 2 * time.Second
	// After a cut the pacer remembers the rate ECS throttled for
	// limitMemory, ECS's counting window. It climbs back towards it fast,
	// recoverFactor a second, to belowLimit of it, and holds there: with
	// only the slow climb, each throttle cost half the rate for the calm
	// and most of what it took to climb back, and the climb went on into
	// the same limit again. Past limitMemory without a throttle, it probes
	// upwards slowly again, as the account's other tools may have gone.
	limitMemory   = time.Minute
	recoverFactor = 1.5
	belowLimit    = 0.9
)

// Defaults for Options left unset.
const (
	DefaultFloor         = 1.0
	DefaultCeilingFactor = 10.0
	DefaultIdleAfter     = 10 * time.Minute
)

// Key names one ECS budget as far as the provider can tell: the same
// Budget at the same endpoint and region. ECS counts calls per account,
// action and region.
type Key struct {
	// Budget is an opaque name the caller chooses for whose calls ECS counts
	// together: for example the account, once the configuration's identity
	// is verified, or the configuration itself before. It may identify an
	// account or a configuration, so whoever exports it (OnRate, OnEvict)
	// must not show it as it is.
	Budget string
	// Endpoint and Region are where the calls go.
	Endpoint, Region string
}

// Options configure Pacers.
type Options struct {
	// Rates are the actions paced and each one's starting rate in calls per
	// second. An action not named, or with a rate of zero or less, is not
	// paced.
	Rates map[string]float64
	// Floor is the lowest rate a cut may reach, but never above an action's
	// starting rate; zero or less means DefaultFloor.
	Floor float64
	// CeilingFactor times an action's starting rate is the highest rate it
	// may climb to; zero or less means DefaultCeilingFactor and a factor
	// below 1 means 1, no climbing.
	CeilingFactor float64
	// IdleAfter is how long a Key's pacer may go unused before it is dropped,
	// which bounds memory; zero or less means DefaultIdleAfter.
	IdleAfter time.Duration
	// Now is the clock every decision is taken by; nil means time.Now.
	Now func() time.Time
	// OnRate, if set, is told each action's rate when a pacer is made and
	// whenever the rate changes, to export it as a gauge. It is called with
	// a lock held, so that the last value told is the current one: it must be
	// quick and must not call into this package.
	OnRate func(k Key, action string, perSecond float64)
	// OnEvict, if set, is told each paced action of a pacer that For drops,
	// so that what OnRate exported for it can go. It comes after the
	// dropped pacer's last OnRate and before the first OnRate of the pacer
	// For makes for k next. Like OnRate it is called with locks held: it
	// must be quick and must not call into this package.
	OnEvict func(k Key, action string)
}

// Pacers hands out one Pacer per Key.
type Pacers struct {
	o  Options
	mu sync.Mutex
	m  map[Key]*Pacer
}

// New returns Pacers configured by o.
func New(o Options) *Pacers {
	if o.Floor <= 0 {
		o.Floor = DefaultFloor
	}
	switch {
	case o.CeilingFactor <= 0:
		o.CeilingFactor = DefaultCeilingFactor
	case o.CeilingFactor < 1:
		o.CeilingFactor = 1
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = DefaultIdleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Pacers{o: o, m: map[Key]*Pacer{}}
}

// For returns k's Pacer: the same one on every call until it has gone unused
// for IdleAfter, when For drops it. A dropped Pacer still held by a client
// hands its calls on to the Pacer For then gives, so that one Key never has
// two budgets.
func (ps *Pacers) For(k Key) *Pacer {
	now := ps.o.Now()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for key, p := range ps.m {
		p.mu.Lock()
		if now.Sub(p.lastUsed) >= ps.o.IdleAfter {
			p.evicted = true
			delete(ps.m, key)
			ps.onEvict(p)
		}
		p.mu.Unlock()
	}
	if p := ps.m[k]; p != nil {
		p.mu.Lock()
		p.lastUsed = now
		p.mu.Unlock()
		return p
	}
	p := &Pacer{pacers: ps, key: k, lastUsed: now, budgets: map[string]*budget{}}
	for action, r := range ps.o.Rates {
		if r <= 0 {
			continue
		}
		p.budgets[action] = &budget{
			changed: make(chan struct{}),
			lim:     rate.NewLimiter(rate.Limit(r), burstFor(r)),
			rate:    r,
			floor:   min(ps.o.Floor, r),
			ceiling: r * ps.o.CeilingFactor,
		}
		ps.onRate(k, action, r)
	}
	ps.m[k] = p
	return p
}

func (ps *Pacers) onRate(k Key, action string, r float64) {
	if ps.o.OnRate != nil {
		ps.o.OnRate(k, action, r)
	}
}

// onEvict tells OnEvict of p's actions. The caller holds ps.mu and p.mu.
func (ps *Pacers) onEvict(p *Pacer) {
	if ps.o.OnEvict == nil {
		return
	}
	for action := range p.budgets {
		ps.o.OnEvict(p.key, action)
	}
}

// Pacer paces the calls of one Key, each action on a token bucket of its own.
// It satisfies the ECS client's Pacer interface.
type Pacer struct {
	pacers *Pacers
	key    Key

	mu       sync.Mutex
	lastUsed time.Time
	// evicted is set when For dropped the pacer.
	evicted bool
	// budgets is fixed when the pacer is made; the budgets themselves
	// change under mu.
	budgets map[string]*budget
}

// budget is one action's token bucket and the AIMD state that sets its rate.
type budget struct {
	lim                   *rate.Limiter
	rate, floor, ceiling  float64
	lastCut, lastThrottle time.Time
	lastClimb             time.Time
	// limit is the rate at the last cut: what ECS throttled.
	limit float64
	// busyUntil is the latest turn given to a caller that had to wait.
	busyUntil time.Time
	// changed is closed, and replaced, when the rate changes: the callers
	// waiting then book their turns again at the new rate.
	changed chan struct{}
}

// burstFor lets about one second's calls through at once.
func burstFor(r float64) int { return max(1, int(r)) }

// Wait blocks until action may be called or ctx ends. It gives up at once,
// with an error that wraps context.DeadlineExceeded, when the turn would come
// after ctx's deadline, so as not to hold a turn it cannot use.
func (p *Pacer) Wait(ctx context.Context, action string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.budgets[action] == nil {
		return nil
	}
	for {
		r, delay, changed := p.reserve(action, p.pacers.o.Now())
		if delay == 0 {
			return nil
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			r.CancelAt(p.pacers.o.Now())
			return fmt.Errorf("the next %s call may start in %v, after the context's deadline: %w",
				action, delay.Round(time.Millisecond), context.DeadlineExceeded)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			t.Stop()
			// Give the turn back, so that later callers need not wait for it.
			r.CancelAt(p.pacers.o.Now())
			return ctx.Err()
		case <-changed:
			// The rate changed while this caller waited, and with it the
			// bucket its turn was booked in. A hundred resources of
			// different images book turns seconds ahead: kept, turns
			// booked before a cut went on being throttled for as long as
			// they reached, and turns booked before a climb held the old
			// rate as long, then all came at once at the new one. It books
			// again at the new rate.
			t.Stop()
		}
	}
}

// reserve takes action's next turn at now and says how long until it
// comes, and what is closed if the rate changes first. action must be paced.
func (p *Pacer) reserve(action string, now time.Time) (*rate.Reservation, time.Duration, <-chan struct{}) {
	p = p.lock(now)
	defer p.mu.Unlock()
	b := p.budgets[action]
	r := b.lim.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	if due := now.Add(delay); delay > 0 && due.After(b.busyUntil) {
		b.busyUntil = due
	}
	return r, delay, b.changed
}

// Done tells how a call of action ended. A throttle cuts the rate, at most
// once per cutEvery: by a fifth first, by half if ECS goes on throttling. A
// call not throttled lets the rate climb, at most once per climbEvery, if
// callers had to wait lately: fast back towards a rate ECS throttled lately
// once recoverAfter has passed without a throttle, and slowly beyond it once
// the limit is forgotten.
func (p *Pacer) Done(action string, throttled bool) {
	if p.budgets[action] == nil {
		return
	}
	now := p.pacers.o.Now()
	p = p.lock(now)
	defer p.mu.Unlock()
	b := p.budgets[action]
	switch {
	case throttled:
		// The limit is the rate when an episode of throttles began: the
		// calls throttled later in it were sent at that rate too.
		episode := b.limit == 0 || now.Sub(b.lastThrottle) >= calm
		b.lastThrottle = now
		if now.Sub(b.lastCut) >= cutEvery {
			factor := cutFactor
			if episode {
				b.limit, factor = b.rate, firstCut
			}
			b.lastCut = now
			p.set(action, b, now, max(b.floor, b.rate*factor))
		}
	case now.Sub(b.lastThrottle) >= recoverAfter && b.demand(now) && now.Sub(b.lastClimb) >= climbEvery:
		target, factor := b.ceiling, climbFactor
		if b.limit > 0 && now.Sub(b.lastThrottle) < limitMemory {
			target, factor = min(b.ceiling, b.limit*belowLimit), recoverFactor
		}
		if b.rate < target {
			b.lastClimb = now
			p.set(action, b, now, min(target, b.rate*factor))
		}
	}
}

// Saturated reports whether callers have had to wait for turns of action
// lately, the demand a climb needs: the rate binds. Between two waits no
// caller may be waiting for a moment. False if action is not paced.
func (p *Pacer) Saturated(action string) bool {
	if p.budgets[action] == nil {
		return false
	}
	now := p.pacers.o.Now()
	p = p.lock(now)
	defer p.mu.Unlock()
	return p.budgets[action].demand(now)
}

// demand reports whether a caller had to wait for a turn within
// demandWindow of now.
func (b *budget) demand(now time.Time) bool { return !now.After(b.busyUntil.Add(demandWindow)) }

// Rate is action's current rate in calls per second; +Inf if it is not paced.
func (p *Pacer) Rate(action string) float64 {
	if p.budgets[action] == nil {
		return math.Inf(1)
	}
	p = p.lock(p.pacers.o.Now())
	defer p.mu.Unlock()
	return p.budgets[action].rate
}

// set changes action's rate. The turns booked at the old rate go: the
// bucket starts again at the new rate, empty, as ECS's is after a throttle
// and as a climb under demand leaves it, and the callers waiting for those
// turns book again (Wait).
func (p *Pacer) set(action string, b *budget, now time.Time, r float64) {
	if r == b.rate {
		return
	}
	b.rate = r
	b.lim = rate.NewLimiter(rate.Limit(r), burstFor(r))
	b.lim.ReserveN(now, burstFor(r))
	b.busyUntil = now
	close(b.changed)
	b.changed = make(chan struct{})
	p.pacers.onRate(p.key, action, r)
}

// lock locks and marks as used the pacer that stands for p's Key: p, or, if
// For has dropped p, the one For gives now.
func (p *Pacer) lock(now time.Time) *Pacer {
	for {
		p.mu.Lock()
		if !p.evicted {
			p.lastUsed = now
			return p
		}
		p.mu.Unlock()
		p = p.pacers.For(p.key)
	}
}
