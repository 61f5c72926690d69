// Package requeue decides when a resource whose reconcile did not finish is
// reconciled again. It serves one controller, as its workqueue rate limiter.
//
// It keeps crossplane-runtime's curve for failures (1s doubling to 60s) but
// jitters it, so that resources that failed together, on one ECS outage,
// do not retry together. And it lets the external client announce a longer
// wait for a resource ECS throttled, which the resource's condition states:
// ECS counts calls in one-minute windows, so such waits must be able to
// reach into the next minute.
package requeue

import (
	"math/rand/v2"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// The failure curve, as crossplane-runtime's, and the throttle curve: its
// first waits are short because the pacer has already slowed the calls, and
// it ends past ECS's one-minute window.
const (
	failureBase  = time.Second
	failureMax   = time.Minute
	throttleBase = 5 * time.Second
	throttleMax  = 2 * time.Minute
)

// Limiter is a workqueue rate limiter for reconcile requests.
type Limiter struct {
	mu        sync.Mutex
	failures  map[reconcile.Request]int
	throttles map[reconcile.Request]int
	announced map[reconcile.Request]time.Duration
	// jitter returns a uniform fraction in [0, 1); tests fix it.
	jitter func() float64
}

// New returns a Limiter.
func New() *Limiter {
	return &Limiter{
		failures:  map[reconcile.Request]int{},
		throttles: map[reconcile.Request]int{},
		announced: map[reconcile.Request]time.Duration{},
		jitter:    rand.Float64,
	}
}

// When returns how long r waits before its next reconcile: the wait
// announced for it, if any, else the next step of the failure curve, give
// or take a fifth.
func (l *Limiter) When(r reconcile.Request) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.failures[r]
	l.failures[r] = n + 1
	if d, ok := l.announced[r]; ok {
		delete(l.announced, r)
		return d
	}
	d := exponential(failureBase, failureMax, n)
	return time.Duration(float64(d) * (0.8 + 0.4*l.jitter()))
}

// Throttled chooses, and remembers for the next When, how long r waits
// after ECS throttled it: between half and all of a step that doubles from
// 5s to 2 minutes with each throttle in a row.
func (l *Limiter) Throttled(r reconcile.Request) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.throttles[r]
	l.throttles[r] = n + 1
	d := exponential(throttleBase, throttleMax, n)
	d = time.Duration(float64(d) * (0.5 + 0.5*l.jitter())).Round(time.Second)
	l.announced[r] = d
	return d
}

// Forget is called once r reconciled without a requeue: its curves start
// again.
func (l *Limiter) Forget(r reconcile.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, r)
	delete(l.throttles, r)
	delete(l.announced, r)
}

// NumRequeues is how many times r has waited since it last succeeded.
func (l *Limiter) NumRequeues(r reconcile.Request) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failures[r]
}

// exponential is base doubled n times, at most limit.
func exponential(base, limit time.Duration, n int) time.Duration {
	d := base
	for range n {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return d
}
