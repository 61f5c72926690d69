// Package requeue decides when a resource whose reconcile did not finish is
// reconciled again. It serves one controller, as its workqueue rate limiter.
//
// It keeps crossplane-runtime's curve for failures (1s doubling to 60s) but
// jitters it, so that resources that failed together, on one ECS outage,
// do not retry together. And it lets the external client announce a longer
// wait for a resource ECS throttled, which the resource's condition states:
// ECS counts calls in one-minute windows, so such waits must be able to
// reach into the next minute.
//
// Not every requeue is a failure. crossplane-runtime also asks for one after
// a Create or a Delete, to confirm it, while a creation grace period runs,
// and while another controller's finalizer remains; a workqueue cannot tell
// those from failures. The external client marks a resource whose reconcile
// ends in such a wait (its share or unshare went through, or the runtime
// waits for ECS to list a new share or for another finalizer), and its next
// requeue then waits on a short curve of its own and restarts the failure
// curve: a resource that failed a few times before its share went through
// is not confirmed a minute later.
package requeue

import (
	"context"
	"fmt"
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
	// The curve after a success: short, as what is waited for (ECS showing
	// a share, another finalizer going) comes soon or is announced by an
	// event, yet growing, so that a long wait on another controller's
	// finalizer costs a reconcile every few seconds, not every second.
	settledBase = time.Second
	settledMax  = 8 * time.Second
)

// Limiter is a workqueue rate limiter for reconcile requests.
type Limiter struct {
	mu        sync.Mutex
	failures  map[reconcile.Request]int
	throttles map[reconcile.Request]int
	announced map[reconcile.Request]time.Duration
	// settled marks the resources whose reconcile ends in a success or a
	// wait (Succeeded) since their last wait; settles counts their waits on
	// the settled curve in a row.
	settled map[reconcile.Request]bool
	settles map[reconcile.Request]int
	// jitter returns a uniform fraction in [0, 1); tests fix it.
	jitter func() float64
}

// New returns a Limiter.
func New() *Limiter {
	return &Limiter{
		failures:  map[reconcile.Request]int{},
		throttles: map[reconcile.Request]int{},
		announced: map[reconcile.Request]time.Duration{},
		settled:   map[reconcile.Request]bool{},
		settles:   map[reconcile.Request]int{},
		jitter:    rand.Float64,
	}
}

// When returns how long r waits before its next reconcile: the wait
// announced for it, if any; else, if its reconcile ended in a success or a
// wait, the next step of the settled curve; else the next step of the
// failure curve. Both curves are jittered by a fifth either way.
func (l *Limiter) When(r reconcile.Request) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.announced[r]; ok {
		delete(l.announced, r)
		delete(l.settled, r)
		l.failures[r]++
		return d
	}
	if l.settled[r] {
		delete(l.settled, r)
		delete(l.failures, r)
		n := l.settles[r]
		l.settles[r] = n + 1
		return l.jittered(exponential(settledBase, settledMax, n))
	}
	n := l.failures[r]
	l.failures[r] = n + 1
	delete(l.settles, r)
	return l.jittered(exponential(failureBase, failureMax, n))
}

func (l *Limiter) jittered(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*l.jitter()))
}

// Succeeded marks r's reconcile as ending in a success or a wait: its ECS
// call went through, or the runtime waits without calling ECS (a new share
// not listed yet, another finalizer). Unless a failure follows in the same
// reconcile (Failed), the runtime's requeue that ends it is not one.
func (l *Limiter) Succeeded(r reconcile.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.settled[r] = true
}

// Failed takes back Succeeded: the reconcile failed after its ECS call.
func (l *Limiter) Failed(r reconcile.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.settled, r)
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

// Reconciler wraps the reconciler whose requeues l decides: a reconcile
// that returns an error failed, whatever its ECS call did.
func (l *Limiter) Reconciler(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		res, err := r.Reconcile(ctx, req)
		if err != nil {
			l.Failed(req)
		}
		return res, err
	})
}

// Forget is called once r reconciled without a requeue: its curves start
// again.
func (l *Limiter) Forget(r reconcile.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, r)
	delete(l.throttles, r)
	delete(l.announced, r)
	delete(l.settled, r)
	delete(l.settles, r)
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

// Reporter is what an external client tells its controller's Limiter of
// how its ECS calls ended.
type Reporter interface {
	Throttled(reconcile.Request) time.Duration
	Succeeded(reconcile.Request)
	Failed(reconcile.Request)
}

// Report tells rep how r's calls ended and returns err. When ECS throttled
// them, the error says when r tries again, and the reconciler's requeue
// waits exactly that long. A nil rep tells nothing.
func Report(rep Reporter, r reconcile.Request, err error, throttled bool) error {
	switch {
	case rep == nil:
		return err
	case err == nil:
		rep.Succeeded(r)
		return nil
	}
	rep.Failed(r)
	if !throttled {
		return err
	}
	d := rep.Throttled(r)
	return fmt.Errorf("%w; next try in %s, at %s", err, d, time.Now().Add(d).UTC().Format("15:04:05 UTC"))
}
