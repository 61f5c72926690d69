package ecssim_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

func TestRateLimits(t *testing.T) {
	cases := []struct {
		name   string
		limits ecssim.RateLimits
		// calls are made in order; "other" is another account's Describe of its own image.
		calls []string
		want  []string // error codes, "" for success
	}{
		{
			name:   "per action",
			limits: ecssim.RateLimits{PerAction: map[string]ecssim.Rate{"DescribeImageSharePermission": {PerSecond: 1, Burst: 2}}},
			calls:  []string{"describe", "describe", "describe", "modify", "other", "advance", "describe"},
			want:   []string{"", "", ecssim.CodeThrottlingUser, "", ecssim.CodeThrottlingUser, "", ""},
		},
		{
			name:   "per account",
			limits: ecssim.RateLimits{PerAccount: &ecssim.Rate{PerSecond: 1, Burst: 1}},
			calls:  []string{"describe", "modify", "other", "advance", "modify"},
			want:   []string{"", ecssim.CodeThrottlingUser, "", "", ""},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := simtest.NewClock()
			cfg := testConfig()
			cfg.Faults.RateLimits = tc.limits
			_, srv := simtest.Serve(t, cfg, ecssim.WithClock(clk.Now))
			c, o := ownerClient(t, srv), v4Client(t, srv, otherKey, otherSec, "")
			for i, step := range tc.calls {
				var err error
				switch step {
				case "describe":
					_, err = describe(c, imageID, 0, 0)
				case "modify":
					err = modify(c, imageID, []string{stranger}, nil)
				case "other":
					_, err = describe(o, foreignID, 0, 0)
				case "advance":
					clk.Advance(time.Second)
				}
				if got := code(t, err); got != tc.want[i] {
					t.Fatalf("call %d (%s): code %q, want %q", i, step, got, tc.want[i])
				}
				if err != nil && httpStatus(t, err) != 400 {
					t.Errorf("call %d: throttling answered %d, want 400", i, httpStatus(t, err))
				}
			}
		})
	}
}

func TestInjectedErrors(t *testing.T) {
	cases := []struct {
		code   string
		status int
	}{
		{ecssim.CodeInternalError, 500},
		{ecssim.CodeServiceUnavailable, 503},
	}
	for _, tc := range cases {
		t.Run(tc.code, func(t *testing.T) {
			sim, srv := simtest.Serve(t, testConfig())
			if err := sim.SetFaults(ecssim.Faults{ErrorRate: 1, ErrorCode: tc.code}); err != nil {
				t.Fatal(err)
			}
			c := ownerClient(t, srv)
			err := modify(c, imageID, []string{stranger}, nil)
			if got := code(t, err); got != tc.code || httpStatus(t, err) != tc.status {
				t.Fatalf("got %q, want %s with %d", got, tc.code, tc.status)
			}
			if got, _ := sim.SharedWith(region, imageID); !slices.Equal(got, []string{friend}) {
				t.Errorf("a failed call changed shares to %v", got)
			}
			if err := sim.SetFaults(ecssim.Faults{}); err != nil {
				t.Fatal(err)
			}
			if err := modify(c, imageID, []string{stranger}, nil); err != nil {
				t.Fatalf("after clearing faults: %v", err)
			}
		})
	}
}

// TestSeededFaultsRepeat checks that the same seed and the same calls give
// the same injected errors, and another seed gives others.
func TestSeededFaultsRepeat(t *testing.T) {
	run := func(seed int64) []string {
		cfg := testConfig()
		cfg.Faults = ecssim.Faults{Seed: seed, ErrorRate: 0.5}
		_, srv := simtest.Serve(t, cfg)
		c := ownerClient(t, srv)
		var out []string
		for range 32 {
			_, err := describe(c, imageID, 0, 0)
			out = append(out, code(t, err))
		}
		return out
	}
	a, b, other := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Fatalf("seed 7 gave different faults:\n%v\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 gave the same 32 outcomes: %v", a)
	}
	if !slices.Contains(a, "") || (!slices.Contains(a, ecssim.CodeInternalError) && !slices.Contains(a, ecssim.CodeServiceUnavailable)) {
		t.Errorf("error rate 0.5 gave %v: want a mix of successes and errors", a)
	}
}

func TestLatency(t *testing.T) {
	const latency = 40 * time.Millisecond
	cfg := testConfig()
	cfg.Faults = ecssim.Faults{Latency: ecssim.Duration{Duration: latency}, Jitter: ecssim.Duration{Duration: 5 * time.Millisecond}}
	_, srv := simtest.Serve(t, cfg)
	c := ownerClient(t, srv)
	begin := time.Now()
	if _, err := describe(c, imageID, 0, 0); err != nil {
		t.Fatal(err)
	}
	// Only a lower bound: the call must have waited at least the latency.
	if took := time.Since(begin); took < latency {
		t.Errorf("call took %v, want at least %v", took, latency)
	}
}

func TestVisibilityLag(t *testing.T) {
	const lag = 10 * time.Second
	clk := simtest.NewClock()
	cfg := testConfig()
	cfg.Limits.MaxSharesPerImage = 2
	cfg.AcceptAnyAccount = true
	cfg.Faults.VisibilityLag = ecssim.Duration{Duration: lag}
	sim, srv := simtest.Serve(t, cfg, ecssim.WithClock(clk.Now))
	c := ownerClient(t, srv)
	seen := func() []string {
		t.Helper()
		b, err := describe(c, imageID, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		return sharedIDs(b)
	}
	steps := []struct {
		name    string
		act     func() error
		advance time.Duration
		want    []string
	}{
		{name: "seeded shares are visible at once", want: []string{friend}},
		{name: "an add is not seen at first", act: func() error { return modify(c, imageID, []string{stranger}, nil) }, want: []string{friend}},
		{name: "nor just before the lag", advance: lag - time.Second, want: []string{friend}},
		{name: "but after it", advance: time.Second, want: []string{friend, stranger}},
		{name: "a removal is not seen at first", act: func() error { return modify(c, imageID, nil, []string{friend}) }, want: []string{friend, stranger}},
		{name: "re-sharing within the lag counts as a new share", act: func() error { return modify(c, imageID, []string{friend}, nil) }, want: []string{stranger, friend}},
		{name: "the quota counts the true state, not what Describe sees", act: func() error {
			if got := code(t, modify(c, imageID, []string{"4444444444444444"}, nil)); got != ecssim.CodeQuotaShareImageUser {
				return fmt.Errorf("third share: code %q, want %s", got, ecssim.CodeQuotaShareImageUser)
			}
			return nil
		}, want: []string{stranger, friend}},
		{name: "a removal is seen after the lag", act: func() error { return modify(c, imageID, nil, []string{stranger}) }, advance: lag, want: []string{friend}},
		{name: "out-of-band drift is seen at once", act: func() error { return sim.Share(region, imageID, false, friend) }, want: nil},
	}
	for _, st := range steps {
		if st.act != nil {
			if err := st.act(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		clk.Advance(st.advance)
		if got := seen(); !slices.Equal(got, st.want) {
			t.Fatalf("%s: Describe sees %v, want %v", st.name, got, st.want)
		}
	}
}

func TestFaultsValidation(t *testing.T) {
	bad := map[string]ecssim.Faults{
		"error rate above 1":  {ErrorRate: 1.5},
		"unknown error code":  {ErrorRate: 0.1, ErrorCode: "Throttling"},
		"negative latency":    {Latency: ecssim.Duration{Duration: -time.Second}},
		"unknown action":      {RateLimits: ecssim.RateLimits{PerAction: map[string]ecssim.Rate{"RunInstances": {PerSecond: 1}}}},
		"negative rate":       {RateLimits: ecssim.RateLimits{PerAccount: &ecssim.Rate{PerSecond: -1}}},
		"negative lag":        {VisibilityLag: ecssim.Duration{Duration: -time.Second}},
		"negative burst size": {RateLimits: ecssim.RateLimits{PerAccount: &ecssim.Rate{PerSecond: 1, Burst: -1}}},
	}
	sim, _ := simtest.Serve(t, testConfig())
	for name, f := range bad {
		if err := sim.SetFaults(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
