package ecssim_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// clientTimeout is the read timeout of the clients hangs are tried on: long
// enough that an unhung call on a loaded machine answers within it, short
// enough that the tests wait little for the hung ones.
const clientTimeout = 300 * time.Millisecond

// TestHang checks that a hung call is carried out but answered too late for
// the client, and that the counters say which call hung.
func TestHang(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	if err := sim.SetFaults(ecssim.Faults{HangRate: 1, HangFor: ecssim.Duration{Duration: time.Minute}}); err != nil {
		t.Fatal(err)
	}
	c := v4ClientWith(t, srv, ownerKey, ownerSec, "", int(clientTimeout/time.Millisecond))
	begin := time.Now()
	err := modify(c, imageID, []string{stranger}, nil)
	var sdkErr *tea.SDKError
	if err == nil || errors.As(err, &sdkErr) {
		t.Fatalf("a hung call answered the client: %v", err)
	}
	// The client gave up: its wait, not the minute, bounds the call.
	if took := time.Since(begin); took > 30*time.Second {
		t.Errorf("the client waited %v for a hung call", took)
	}
	if got, _ := sim.SharedWith(region, imageID); !slices.Contains(got, stranger) {
		t.Errorf("the hung Modify was not carried out: shares %v", got)
	}
	hung := sim.CallsBy(func(c ecssim.Call) string { return c.Action + "/" + c.Outcome },
		func(c ecssim.Call) bool { return c.Hung })
	if want := map[string]uint64{"ModifyImageSharePermission/Success": 1}; !maps.Equal(hung, want) {
		t.Errorf("hung calls %v, want %v", hung, want)
	}

	// Calls that fail authentication are never held: they did not get far
	// enough to stall.
	bad := v4ClientWith(t, srv, ownerKey, "wrong", "", int(clientTimeout/time.Millisecond)+1)
	if got := code(t, modify(bad, imageID, []string{friend}, nil)); got != ecssim.CodeSignatureMismatch {
		t.Errorf("wrong secret: code %q, want %s", got, ecssim.CodeSignatureMismatch)
	}
}

// TestSeededHangsRepeat checks that the same seed hangs the same calls, and
// another seed others. Each call names its own image so that the counters
// say which of them hung.
func TestSeededHangsRepeat(t *testing.T) {
	const calls = 16
	run := func(seed int64) []string {
		sim, srv := simtest.Serve(t, testConfig())
		if err := sim.SetFaults(ecssim.Faults{Seed: seed, HangRate: 0.5, HangFor: ecssim.Duration{Duration: time.Minute}}); err != nil {
			t.Fatal(err)
		}
		c := v4ClientWith(t, srv, ownerKey, ownerSec, "", int(clientTimeout/time.Millisecond))
		for i := range calls {
			_, _ = describe(c, fmt.Sprintf("m-seq%04d", i), 0, 0)
		}
		hung := sim.CallsBy(func(c ecssim.Call) string { return c.Image }, func(c ecssim.Call) bool { return c.Hung })
		return slices.Sorted(maps.Keys(hung))
	}
	a, b, other := run(7), run(7), run(8)
	if !slices.Equal(a, b) {
		t.Fatalf("seed 7 hung different calls:\n%v\n%v", a, b)
	}
	if slices.Equal(a, other) {
		t.Errorf("seeds 7 and 8 hung the same calls: %v", a)
	}
	if len(a) == 0 || len(a) == calls {
		t.Errorf("hang rate 0.5 hung %d of %d calls: want some, not all", len(a), calls)
	}
}

func TestHangValidation(t *testing.T) {
	bad := map[string]ecssim.Faults{
		"hang rate above 1":     {HangRate: 1.5, HangFor: ecssim.Duration{Duration: time.Second}},
		"negative hang rate":    {HangRate: -0.1, HangFor: ecssim.Duration{Duration: time.Second}},
		"hang rate, no hangFor": {HangRate: 0.1},
		"negative hangFor":      {HangRate: 0.1, HangFor: ecssim.Duration{Duration: -time.Second}},
	}
	sim, _ := simtest.Serve(t, testConfig())
	for name, f := range bad {
		if err := sim.SetFaults(f); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := sim.SetFaults(ecssim.Faults{HangFor: ecssim.Duration{Duration: time.Second}}); err != nil {
		t.Errorf("hangFor without a rate (hangs off) refused: %v", err)
	}
}
