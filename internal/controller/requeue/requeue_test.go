package requeue

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

var (
	a = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "team-a", Name: "share"}}
	b = reconcile.Request{NamespacedName: types.NamespacedName{Name: "share"}}
)

// step is one call on the Limiter and the wait it must return.
type step struct {
	call string // when, throttled, succeeded, failed or forget
	r    reconcile.Request
	want time.Duration
}

func TestLimiter(t *testing.T) {
	cases := map[string]struct {
		reason string
		jitter float64
		steps  []step
	}{
		"FailuresDoubleToAMinute": {
			reason: "without jitter (0.5 is the curve's middle) failures wait 1s, 2s, 4s... and never more than a minute",
			jitter: 0.5,
			steps: []step{
				{"when", a, time.Second}, {"when", a, 2 * time.Second}, {"when", a, 4 * time.Second}, {"when", a, 8 * time.Second},
				{"when", a, 16 * time.Second}, {"when", a, 32 * time.Second}, {"when", a, time.Minute}, {"when", a, time.Minute},
			},
		},
		"JitterSpreadsAFifthEitherWay": {
			reason: "the lowest jitter shortens a wait by a fifth",
			jitter: 0,
			steps:  []step{{"when", a, 800 * time.Millisecond}, {"when", a, 1600 * time.Millisecond}},
		},
		"ThrottleWaitIsAnnouncedThenUsed": {
			reason: "the wait Throttled announces is the wait When returns next, once",
			jitter: 0.5,
			steps: []step{
				{"throttled", a, 4 * time.Second}, {"when", a, 4 * time.Second}, {"when", a, 2 * time.Second},
			},
		},
		"ThrottleWaitsReachPastAMinute": {
			reason: "throttles in a row wait ever longer, up to two minutes, past ECS's one-minute window",
			jitter: 0.999,
			steps: []step{
				{"throttled", a, 5 * time.Second}, {"throttled", a, 10 * time.Second}, {"throttled", a, 20 * time.Second},
				{"throttled", a, 40 * time.Second}, {"throttled", a, 80 * time.Second}, {"throttled", a, 2 * time.Minute}, {"throttled", a, 2 * time.Minute},
			},
		},
		"ForgetStartsAgain": {
			reason: "a resource that reconciled cleanly starts both curves again",
			jitter: 0.5,
			steps: []step{
				{"when", a, time.Second}, {"throttled", a, 4 * time.Second}, {"forget", a, 0},
				{"when", a, time.Second}, {"throttled", a, 4 * time.Second},
			},
		},
		"RequeuesAfterSuccessAreNotFailures": {
			reason: "after a successful ECS call the runtime's requeues (to confirm a Create or Delete, in the creation grace period, while another finalizer remains) wait 1s, 2s... at most 8s, and the failure curve starts again",
			jitter: 0.5,
			steps: []step{
				{"when", a, time.Second}, {"when", a, 2 * time.Second}, {"when", a, 4 * time.Second},
				{"succeeded", a, 0}, {"when", a, time.Second}, {"succeeded", a, 0}, {"when", a, 2 * time.Second},
				{"succeeded", a, 0}, {"when", a, 4 * time.Second}, {"succeeded", a, 0}, {"when", a, 8 * time.Second},
				{"succeeded", a, 0}, {"when", a, 8 * time.Second},
				{"when", a, time.Second}, {"when", a, 2 * time.Second},
			},
		},
		"AFailureAfterTheCallTakesItBack": {
			reason: "a reconcile that failed after its ECS call succeeded waits on the failure curve",
			jitter: 0.5,
			steps: []step{
				{"when", a, time.Second}, {"succeeded", a, 0}, {"failed", a, 0}, {"when", a, 2 * time.Second},
			},
		},
		"AThrottleWinsOverASuccess": {
			reason: "a throttled call's announced wait is kept even if another call of the reconcile succeeded",
			jitter: 0.5,
			steps: []step{
				{"succeeded", a, 0}, {"throttled", a, 4 * time.Second}, {"when", a, 4 * time.Second},
			},
		},
		"ResourcesAreSeparate": {
			reason: "one resource's failures and throttles do not lengthen another's waits",
			jitter: 0.5,
			steps: []step{
				{"when", a, time.Second}, {"when", a, 2 * time.Second}, {"throttled", a, 4 * time.Second},
				{"when", b, time.Second}, {"throttled", b, 4 * time.Second},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l := New()
			l.jitter = func() float64 { return tc.jitter }
			var got, want []time.Duration
			for _, s := range tc.steps {
				want = append(want, s.want)
				switch s.call {
				case "when":
					got = append(got, l.When(s.r))
				case "throttled":
					got = append(got, l.Throttled(s.r))
				case "succeeded":
					l.Succeeded(s.r)
					got = append(got, 0)
				case "failed":
					l.Failed(s.r)
					got = append(got, 0)
				case "forget":
					l.Forget(s.r)
					if n := l.NumRequeues(s.r); n != 0 {
						t.Errorf("NumRequeues after Forget = %d, want 0", n)
					}
					got = append(got, 0)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s\nwaits: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
