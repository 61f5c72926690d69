package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// Hot-loop bounds for a resource stuck on a permanent error.
//
// crossplane-runtime requeues a failed Observe or Create through the
// controller's per-item exponential backoff (1s doubling to 60s; a
// successful reconcile resets it). A stuck resource's retry costs at most
// maxCallsPerRetry ECS calls: a Describe page, and a Modify that fails.
const (
	maxCallsPerRetry = 2
	// maxStuckCallsPerPoll is the ECS calls one stuck resource may make per
	// poll interval, on average over the run, beyond what restarts cost. Once
	// its backoff reaches 60s it makes 2 calls a minute, about one per 30s
	// poll; 4 leaves room for the denser first minute. A resource retried
	// every second, or every few seconds, makes tens per poll.
	maxStuckCallsPerPoll = 4
	// retriesPerStart is what each start of the provider legitimately costs:
	// the backoff lives in the process's memory, so a new one retries at 1,
	// 2, 4, 8, 16, 32 and 60s again, 7 retries in its first two minutes.
	retriesPerStart = 7
	// minBackoffGrowth is how much longer the longest wait between retries
	// must be than the shortest, after the last start: exponential backoff
	// over 5 or more waits gives 16 or more; a fixed interval, however
	// long, gives about 1.
	minBackoffGrowth = 4
)

// callTimes records when the simulator answered each call about the images
// it watches, from the simulator's one-line-per-call log: the counters say
// how many calls, this says when.
type callTimes struct {
	watch map[string]bool
	mu    sync.Mutex
	at    map[string][]time.Time // image → answers to DescribeImageSharePermission
}

func newCallTimes(images []string) *callTimes {
	c := &callTimes{watch: map[string]bool{}, at: map[string][]time.Time{}}
	for _, im := range images {
		c.watch[im] = true
	}
	return c
}

func (c *callTimes) Enabled(context.Context, slog.Level) bool { return true }
func (c *callTimes) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *callTimes) WithGroup(string) slog.Handler            { return c }

func (c *callTimes) Handle(_ context.Context, r slog.Record) error {
	var image, action string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "image":
			image = a.Value.String()
		case "action":
			action = a.Value.String()
		}
		return true
	})
	// Every reconcile starts with one Describe: their times are the
	// reconciles'.
	if c.watch[image] && action == "DescribeImageSharePermission" {
		c.mu.Lock()
		c.at[image] = append(c.at[image], r.Time)
		c.mu.Unlock()
	}
	return nil
}

// retriesSince are the reconciles of image from since on.
func (c *callTimes) retriesSince(image string, since time.Time) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Time
	for _, t := range c.at[image] {
		if !t.Before(since) {
			out = append(out, t)
		}
	}
	return out
}

// stuckReport is what one stuck resource cost.
type stuckReport struct {
	name, code    string
	calls, budget uint64
	perPoll       float64
	gaps          []time.Duration
}

// checkStuck asserts the hot-loop bounds for each stuck resource over
// [begin, end], in which the provider started at starts.
func checkStuck(w world, sim *ecssim.Simulator, rec *callTimes, begin, end time.Time, starts []time.Time, poll time.Duration) ([]stuckReport, []error) {
	byImage := sim.CallsBy(func(c ecssim.Call) string { return c.Image }, nil)
	polls := end.Sub(begin).Seconds() / poll.Seconds()
	lastStart := starts[len(starts)-1]
	var reports []stuckReport
	var errs []error
	for _, s := range w.stuck {
		r := stuckReport{name: s.name, code: s.code, calls: byImage[s.image]}
		r.perPoll = float64(r.calls) / polls
		r.budget = uint64(maxStuckCallsPerPoll*polls) + uint64(maxCallsPerRetry*retriesPerStart*len(starts))
		if r.calls > r.budget {
			errs = append(errs, fmt.Errorf("%s made %d ECS calls in %v (%.1f per %v poll), more than the %d that %d provider starts and %d per poll allow: it is retried too often",
				s.name, r.calls, end.Sub(begin).Round(time.Second), r.perPoll, poll, r.budget, len(starts), maxStuckCallsPerPoll))
		}
		if r.calls == 0 {
			errs = append(errs, fmt.Errorf("%s made no ECS call: its calls are not attributed, so the bound proves nothing", s.name))
		}
		at := rec.retriesSince(s.image, lastStart)
		for i := 1; i < len(at); i++ {
			r.gaps = append(r.gaps, at[i].Sub(at[i-1]))
		}
		if len(at) >= minRetriesToJudge {
			lo, hi := slices.Min(r.gaps), slices.Max(r.gaps)
			if hi < minBackoffGrowth*lo {
				errs = append(errs, fmt.Errorf("%s: retries after the last start came %v apart: the longest wait is not %dx the shortest, so the backoff is not exponential",
					s.name, roundAll(r.gaps), minBackoffGrowth))
			}
		} else {
			errs = append(errs, fmt.Errorf("%s: only %d retries after the last provider start (%v before the end): too few to judge the backoff",
				s.name, len(at), end.Sub(lastStart).Round(time.Second)))
		}
		reports = append(reports, r)
	}
	return reports, errs
}

func roundAll(ds []time.Duration) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, d.Round(100*time.Millisecond).String())
	}
	return strings.Join(parts, " ")
}
