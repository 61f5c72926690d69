package pacing

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const action = "DescribeImageSharePermission"

var key = Key{Budget: "account:1000000000000001", Endpoint: "ecs.cn-hangzhou.aliyuncs.com", Region: "cn-hangzhou"}

// approx compares rates computed by repeated multiplication.
var approx = cmpopts.EquateApprox(0, 1e-9)

// event is what happens to a pacer at one moment of a test.
type event int

const (
	throttled event = iota // a call comes back throttled
	ok                     // a call comes back not throttled
	// demand: callers take turns until one has to wait.
	demand
)

type step struct {
	after time.Duration // the clock moves on this much first
	do    []event
}

// run plays steps on a fresh pacer and returns its rate after each step.
func run(t *testing.T, o Options, steps []step) []float64 {
	t.Helper()
	clk := simtest.NewClock()
	o.Now = clk.Now
	p := New(o).For(key)
	var rates []float64
	for _, st := range steps {
		clk.Advance(st.after)
		for _, e := range st.do {
			switch e {
			case throttled, ok:
				p.Done(action, e == throttled)
			case demand:
				for {
					if _, d, _ := p.reserve(action, clk.Now()); d > 0 {
						break
					}
				}
			}
		}
		rates = append(rates, p.Rate(action))
	}
	return rates
}

// every repeats st n times.
func every(n int, st step) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = st
	}
	return out
}

func TestAIMD(t *testing.T) {
	start := map[string]float64{action: 8}
	cases := []struct {
		name   string
		reason string
		o      Options
		steps  []step
		want   []float64
	}{
		{
			name:   "a burst of throttles cuts once",
			reason: "calls in flight together report one excess; the next second's throttles cut again, by half",
			o:      Options{Rates: start},
			steps: []step{
				{do: []event{throttled, throttled, throttled}},
				{after: 999 * time.Millisecond, do: []event{throttled}},
				{after: time.Millisecond, do: []event{throttled}},
			},
			want: []float64{6.4, 6.4, 3.2},
		},
		{
			name:   "cuts stop at the floor",
			reason: "the floor is the rate the pacer probes at",
			o:      Options{Rates: start, Floor: 3},
			steps:  every(3, step{after: time.Second, do: []event{throttled}}),
			want:   []float64{6.4, 3.2, 3},
		},
		{
			name:   "the default floor is 1/s",
			reason: "Alibaba advises probing at 1 call/s after a throttle",
			o:      Options{Rates: start},
			steps:  every(5, step{after: time.Second, do: []event{throttled}}),
			want:   []float64{6.4, 3.2, 1.6, 1, 1},
		},
		{
			name:   "a throttle after a calm cuts by a fifth again",
			reason: "it begins a new episode: the rate has most likely just passed the limit again, not fallen far below what others take",
			o:      Options{Rates: start},
			steps: []step{
				{do: []event{throttled}},
				{after: 5 * time.Second, do: []event{throttled}},
			},
			want: []float64{6.4, 5.12},
		},
		{
			name:   "the floor is never above the starting rate",
			reason: "a cut must not raise the rate",
			o:      Options{Rates: map[string]float64{action: 0.5}},
			steps:  []step{{do: []event{throttled}}},
			want:   []float64{0.5},
		},
		{
			name:   "no climb without demand",
			reason: "an idle pacer must not drift up and then burst into a storm",
			o:      Options{Rates: start},
			steps:  every(5, step{after: time.Second, do: []event{ok, ok, ok}}),
			want:   []float64{8, 8, 8, 8, 8},
		},
		{
			name:   "demand climbs 10% a second",
			reason: "successes while callers wait raise the rate, once per second however many",
			o:      Options{Rates: start},
			steps: []step{
				{do: []event{demand, ok, ok}},
				{after: 500 * time.Millisecond, do: []event{demand, ok}},
				{after: 500 * time.Millisecond, do: []event{demand, ok}},
			},
			want: []float64{8.8, 8.8, 9.68},
		},
		{
			name:   "demand long past does not climb",
			reason: "demand counts for 2s after the last waiting caller's turn",
			o:      Options{Rates: start},
			steps: []step{
				{do: []event{demand}},
				{after: 3 * time.Second, do: []event{ok}},
			},
			want: []float64{8, 8},
		},
		{
			name:   "no climb until 2s after the last throttle",
			reason: "the calls sent at the rate before the cut must have come back first",
			o:      Options{Rates: start},
			steps: append([]step{{do: []event{throttled}}},
				every(3, step{after: time.Second, do: []event{demand, ok}})...),
			want: []float64{6.4, 6.4, 7.2, 7.2},
		},
		{
			name: "after a throttle, fast back to just below the rate throttled, and held there for a minute",
			reason: "the slow climb went on into the same limit, and each throttle cost half the rate for the calm and the climb back; " +
				"past a minute (ECS's window) without a throttle the slow climb probes again",
			o: Options{Rates: start},
			steps: append(append([]step{{do: []event{throttled}}, {after: time.Second, do: []event{throttled}}, {after: 2 * time.Second, do: []event{demand, ok}}},
				every(3, step{after: time.Second, do: []event{demand, ok}})...),
				step{after: 55 * time.Second, do: []event{demand, ok}}),
			want: []float64{6.4, 3.2, 4.8, 7.2, 7.2, 7.2, 7.92},
		},
		{
			name:   "the limit is the rate when an episode of throttles began",
			reason: "the calls throttled a second after the first cut were sent at the rate before it, not at the cut one",
			o:      Options{Rates: start},
			steps: append([]step{{do: []event{throttled}}, {after: time.Second, do: []event{throttled}}},
				every(3, step{after: 2 * time.Second, do: []event{demand, ok}})...),
			want: []float64{6.4, 3.2, 4.8, 7.2, 7.2},
		},
		{
			name:   "a throttle while waiting to climb back restarts the wait",
			reason: "the wait is measured from the last throttle, even one that did not cut",
			o:      Options{Rates: start},
			steps: []step{
				{do: []event{throttled}},
				{after: 500 * time.Millisecond, do: []event{throttled}},
				{after: 1700 * time.Millisecond, do: []event{demand, ok}},
				{after: 300 * time.Millisecond, do: []event{demand, ok}},
			},
			want: []float64{6.4, 6.4, 6.4, 7.2},
		},
		{
			name:   "climbing stops at the ceiling",
			reason: "the rate may reach CeilingFactor × the starting rate and no more",
			o:      Options{Rates: map[string]float64{action: 2}, CeilingFactor: 1.5},
			steps:  every(6, step{after: time.Second, do: []event{demand, ok}}),
			want:   []float64{2.2, 2.42, 2.662, 2.9282, 3, 3},
		},
		{
			name:   "a ceiling factor below 1 means no climbing",
			reason: "a ceiling below the starting rate would make no sense",
			o:      Options{Rates: start, CeilingFactor: 0.5},
			steps:  every(2, step{after: time.Second, do: []event{demand, ok}}),
			want:   []float64{8, 8},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, run(t, tc.o, tc.steps), approx); diff != "" {
				t.Errorf("%s\nrates after each step (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

type told struct {
	Key    Key
	Action string
	Rate   float64
}

func TestOnRate(t *testing.T) {
	clk := simtest.NewClock()
	var got []told
	ps := New(Options{
		Rates: map[string]float64{action: 8, "ModifyImageSharePermission": 4, "Unpaced": 0},
		Now:   clk.Now,
		OnRate: func(k Key, action string, r float64) {
			got = append(got, told{k, action, r})
		},
	})
	p := ps.For(key)
	ps.For(key)
	p.Done(action, true)
	p.Done(action, true) // within the second: no cut, nothing to tell
	clk.Advance(time.Second)
	for range 4 {
		clk.Advance(time.Second)
		p.Done(action, true) // 3.2, 1.6, then 1, then the floor again: nothing to tell
	}
	wantMade := []told{{key, action, 8}, {key, "ModifyImageSharePermission", 4}}
	wantChanged := []told{{key, action, 6.4}, {key, action, 3.2}, {key, action, 1.6}, {key, action, 1}}
	if len(got) < len(wantMade) {
		t.Fatalf("OnRate told %v, want at least the starting rates %v", got, wantMade)
	}
	byAction := cmpopts.SortSlices(func(a, b told) bool { return a.Action < b.Action })
	if diff := cmp.Diff(wantMade, got[:len(wantMade)], byAction); diff != "" {
		t.Errorf("OnRate told, when the pacer was made, once (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantChanged, got[len(wantMade):]); diff != "" {
		t.Errorf("OnRate told, on changes only (-want +got):\n%s", diff)
	}
}

// TestOnEvict checks that OnEvict is told each paced action of a dropped
// pacer, once, after its last OnRate and before its successor's first.
func TestOnEvict(t *testing.T) {
	clk := simtest.NewClock()
	other := Key{Budget: "account:1000000000000002", Endpoint: key.Endpoint, Region: key.Region}
	type told struct {
		Event  string
		Key    Key
		Action string
	}
	var got []told
	ps := New(Options{
		Rates:     map[string]float64{action: 8, "ModifyImageSharePermission": 4, "Unpaced": 0},
		IdleAfter: 10 * time.Minute,
		Now:       clk.Now,
		OnRate:    func(k Key, action string, _ float64) { got = append(got, told{"rate", k, action}) },
		OnEvict:   func(k Key, action string) { got = append(got, told{"evict", k, action}) },
	})
	p := ps.For(key)
	clk.Advance(5 * time.Minute)
	ps.For(other)
	clk.Advance(5 * time.Minute)
	got = nil
	ps.For(other)        // drops key's pacer, idle for 10 minutes, and keeps other's
	p.Done(action, true) // the dropped pacer hands on to a successor, which tells its rates
	byAction := cmpopts.SortSlices(func(a, b told) bool { return a.Event+a.Action < b.Event+b.Action })
	wantEvicted := []told{{"evict", key, action}, {"evict", key, "ModifyImageSharePermission"}}
	wantMade := []told{{"rate", key, action}, {"rate", key, "ModifyImageSharePermission"}}
	if len(got) < len(wantEvicted)+len(wantMade) {
		t.Fatalf("told %v, want the dropped pacer's actions, then its successor's rates", got)
	}
	if diff := cmp.Diff(wantEvicted, got[:2], byAction); diff != "" {
		t.Errorf("OnEvict told, for the dropped pacer's paced actions only (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantMade, got[2:4], byAction); diff != "" {
		t.Errorf("OnRate told, for the successor, after the eviction (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]told{{"rate", key, action}}, got[4:]); diff != "" {
		t.Errorf("after the eviction, the throttle told (-want +got):\n%s", diff)
	}
}

func TestEviction(t *testing.T) {
	other := Key{Budget: "account:1000000000000002", Endpoint: key.Endpoint, Region: key.Region}
	uses := []struct {
		name     string
		reason   string
		use      func(*Pacers, *Pacer)
		wantKept bool
	}{
		{name: "For", reason: "asking for a pacer is using it", use: func(ps *Pacers, _ *Pacer) { ps.For(key) }, wantKept: true},
		{name: "Wait", reason: "a call is a use", use: func(_ *Pacers, p *Pacer) { _ = p.Wait(context.Background(), action) }, wantKept: true},
		{name: "Done", reason: "a call is a use", use: func(_ *Pacers, p *Pacer) { p.Done(action, false) }, wantKept: true},
		{name: "Rate", reason: "reading the rate is a use", use: func(_ *Pacers, p *Pacer) { p.Rate(action) }, wantKept: true},
		{name: "nothing", reason: "a pacer unused for IdleAfter is dropped", use: func(*Pacers, *Pacer) {}},
	}
	for _, u := range uses {
		t.Run("kept by "+u.name, func(t *testing.T) {
			clk := simtest.NewClock()
			ps := New(Options{Rates: map[string]float64{action: 8}, IdleAfter: 10 * time.Minute, Now: clk.Now})
			p := ps.For(key)
			if ps.For(key) != p {
				t.Fatal("For gave two pacers for one key")
			}
			clk.Advance(9 * time.Minute)
			u.use(ps, p)
			clk.Advance(9 * time.Minute)
			ps.For(other) // drops what has gone unused
			ps.mu.Lock()
			kept := ps.m[key] == p
			ps.mu.Unlock()
			if kept != u.wantKept {
				t.Errorf("%s: pacer kept = %v, want %v", u.reason, kept, u.wantKept)
			}
		})
	}

	t.Run("a dropped pacer hands on to its successor", func(t *testing.T) {
		clk := simtest.NewClock()
		ps := New(Options{Rates: map[string]float64{action: 8}, IdleAfter: 10 * time.Minute, Now: clk.Now})
		p := ps.For(key)
		p.Done(action, true)
		clk.Advance(10 * time.Minute)
		ps.For(other)
		ps.mu.Lock()
		held := len(ps.m)
		ps.mu.Unlock()
		if held != 1 {
			t.Errorf("Pacers hold %d pacers after 10 idle minutes, want 1: the one just asked for", held)
		}
		fresh := ps.For(key)
		if fresh == p {
			t.Fatal("For kept a pacer idle for 10 minutes")
		}
		if got := fresh.Rate(action); got != 8 {
			t.Errorf("a fresh pacer's rate is %v, want the starting 8", got)
		}
		// A client still holding the dropped pacer must pace with the fresh one.
		p.Done(action, true)
		if got := fresh.Rate(action); got != 6.4 {
			t.Errorf("after a throttle told to the dropped pacer, the fresh one's rate is %v, want 6.4", got)
		}
		if got := p.Rate(action); got != 6.4 {
			t.Errorf("the dropped pacer's rate is %v, want the fresh one's 6.4", got)
		}
	})
}

func TestKeysAreIndependent(t *testing.T) {
	others := map[string]Key{
		"another budget":   {Budget: "account:1000000000000002", Endpoint: key.Endpoint, Region: key.Region},
		"another endpoint": {Budget: key.Budget, Endpoint: "ecs-vpc.cn-hangzhou.aliyuncs.com", Region: key.Region},
		"another region":   {Budget: key.Budget, Endpoint: key.Endpoint, Region: "cn-shanghai"},
	}
	for name, k := range others {
		t.Run(name, func(t *testing.T) {
			ps := New(Options{Rates: map[string]float64{action: 8, "ModifyImageSharePermission": 4}})
			ps.For(key).Done(action, true)
			got := map[string]float64{"base": ps.For(key).Rate(action), "other": ps.For(k).Rate(action), "base's other action": ps.For(key).Rate("ModifyImageSharePermission")}
			want := map[string]float64{"base": 6.4, "other": 8, "base's other action": 4}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rates after throttling the base key's %s (-want +got):\n%s", action, diff)
			}
		})
	}
}

func TestUnpacedActions(t *testing.T) {
	p := New(Options{Rates: map[string]float64{action: 8, "Zero": 0}}).For(key)
	for _, a := range []string{"Zero", "NotNamed"} {
		for range 100 {
			if err := p.Wait(context.Background(), a); err != nil {
				t.Fatalf("Wait(%s): %v", a, err)
			}
			p.Done(a, true)
		}
		if got := p.Rate(a); !math.IsInf(got, 1) {
			t.Errorf("Rate(%s) = %v, want +Inf", a, got)
		}
	}
}

// TestWaitHonoursContext checks that a caller who stops waiting gives its
// turn back.
func TestWaitHonoursContext(t *testing.T) {
	clk := simtest.NewClock()
	// One call per 1000 s: a turn not given back would be plain.
	p := New(Options{Rates: map[string]float64{action: 0.001}, Now: clk.Now}).For(key)
	b := p.budgets[action]
	if err := p.Wait(context.Background(), action); err != nil {
		t.Fatalf("Wait for the first turn: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx, action); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with an ended context = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := p.Wait(ctx, action)
	if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Errorf("Wait for a turn 1000 s away with 10 minutes to go = %v, context %v; want DeadlineExceeded at once, the context still live", err, ctx.Err())
	}

	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Wait(ctx, action) }()
	for b.lim.TokensAt(clk.Now()) >= 0 { // until the goroutine holds its turn
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait cancelled while waiting = %v, want context.Canceled", err)
	}

	clk.Advance(1000 * time.Second)
	if _, d, _ := p.reserve(action, clk.Now()); d != 0 {
		t.Errorf("1000 s after the first turn the next is %v away, want 0: the abandoned turns were not given back", d)
	}
}

// TestWaitAfterACutTakesATurnAtTheNewRate: a caller waiting for a turn
// booked at the old rate takes another at the new one when a throttle cuts
// the rate meanwhile. The clock stands still, so the limiter's bookings
// show it: the turn after is two turns at the new rate away, not one.
func TestWaitAfterACutTakesATurnAtTheNewRate(t *testing.T) {
	clk := simtest.NewClock()
	p := New(Options{Rates: map[string]float64{action: 10}, Now: clk.Now}).For(key)
	for range 10 {
		if _, d, _ := p.reserve(action, clk.Now()); d != 0 {
			t.Fatalf("the burst's turns should come at once, one waited %v", d)
		}
	}
	waited := make(chan error, 1)
	go func() { waited <- p.Wait(context.Background(), action) }()
	// The waiter has booked its turn 100 ms away; the throttle comes
	// after.
	for p.bookedAhead(action) == 0 {
		time.Sleep(time.Millisecond)
	}
	clk.Advance(time.Millisecond)
	p.Done(action, true)
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	_, next, _ := p.reserve(action, clk.Now())
	if next < 200*time.Millisecond {
		t.Errorf("the next turn is %v away: the waiter kept the turn booked at 10/s; want it to book another at 8/s, putting the next 250 ms from the cut", next)
	}
}

// bookedAhead is the latest turn given to a caller that had to wait, as a
// time past the clock's now, or zero.
func (p *Pacer) bookedAhead(action string) time.Duration {
	p = p.lock(p.pacers.o.Now())
	defer p.mu.Unlock()
	return max(0, p.budgets[action].busyUntil.Sub(p.pacers.o.Now()))
}

// TestACutDropsTheTurnsBookedAtTheOldRate: turns booked seconds ahead at the
// rate ECS refused do not hold back the first turn at the new one. They
// did: after a cut, a hundred waiters' bookings kept every call back for
// seconds, and the provider sent nothing while ECS's bucket refilled.
func TestACutDropsTheTurnsBookedAtTheOldRate(t *testing.T) {
	clk := simtest.NewClock()
	p := New(Options{Rates: map[string]float64{action: 10}, Now: clk.Now}).For(key)
	var last time.Duration
	for range 40 {
		_, last, _ = p.reserve(action, clk.Now())
	}
	if last < 2*time.Second {
		t.Fatalf("40 turns at 10/s with a burst of 10 should reach about 3 s ahead, the last is %v away", last)
	}
	p.Done(action, true)
	if _, next, _ := p.reserve(action, clk.Now()); next > 125*time.Millisecond {
		t.Errorf("after the cut the next turn is %v away; want one turn at the new 8/s, 125 ms, not behind the turns booked at 10/s", next)
	}
}

// TestAClimbBringsTheWaitingTurnsForward: a caller waiting for a turn
// booked seconds ahead at the old rate books again when the rate climbs.
// Kept, such turns held the old rate for as long as they reached, and then
// came all at once at the new one, far past ECS's limit. The clock stands
// still, so only the new booking can end the wait soon.
func TestAClimbBringsTheWaitingTurnsForward(t *testing.T) {
	clk := simtest.NewClock()
	p := New(Options{Rates: map[string]float64{action: 10}, Now: clk.Now}).For(key)
	for range 40 {
		p.reserve(action, clk.Now())
	}
	waited := make(chan error, 1)
	go func() { waited <- p.Wait(context.Background(), action) }()
	for p.bookedAhead(action) < 3*time.Second {
		time.Sleep(time.Millisecond)
	}
	p.Done(action, false) // callers wait and nothing was throttled: it climbs
	if got := p.Rate(action); got != 11 {
		t.Fatalf("the rate after a success under demand is %v, want 11", got)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the waiter still waits for the turn booked 3 s ahead at 10/s; want it to book again at 11/s, about 90 ms away")
	}
}
