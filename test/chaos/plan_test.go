package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// plan is when things happen in a run, as offsets from its start, drawn
// from the seed.
type plan struct {
	// waves are when each batch of healthy shares is created, and what
	// fraction of them each creates.
	waves     []time.Duration
	fractions []float64
	kills     []kill
	// apiserver is when kube-apiserver is killed, and how long it stays down.
	apiserver, apiserverDown time.Duration
}

// kill is one SIGKILL of the provider and how long it stays down.
type kill struct{ at, down time.Duration }

// Spacing of disruptions: each one's effects (a relist, a backoff reset)
// should be told apart from the next one's.
const (
	minKillGap      = 6 * time.Second
	minAPIServerGap = 10 * time.Second
)

func newPlan(rng *rand.Rand, s settings) plan {
	d := s.chaos
	p := plan{
		waves:         []time.Duration{0, d / 4, d / 2},
		fractions:     []float64{0.4, 0.3, 0.3},
		apiserver:     d*3/10 + time.Duration(rng.Int64N(int64(d*4/10))),
		apiserverDown: time.Second + time.Duration(rng.Int64N(int64(2*time.Second))),
	}
	far := func(at time.Duration) bool {
		if (at - p.apiserver).Abs() < minAPIServerGap {
			return false
		}
		for _, k := range p.kills {
			if (at - k.at).Abs() < minKillGap {
				return false
			}
		}
		return true
	}
	lo, span := d/10, d*85/100
	for attempt := 0; len(p.kills) < s.kills && attempt < 10000; attempt++ {
		at := lo + time.Duration(rng.Int64N(int64(span)))
		if far(at) {
			p.kills = append(p.kills, kill{at: at, down: 500*time.Millisecond + time.Duration(rng.Int64N(int64(2500*time.Millisecond)))})
		}
	}
	// A run too short for its kills to be spaced gets them evenly instead.
	for i := len(p.kills); i < s.kills; i++ {
		p.kills = append(p.kills, kill{at: lo + span*time.Duration(i+1)/time.Duration(s.kills+1), down: time.Second})
	}
	slices.SortFunc(p.kills, func(a, b kill) int { return int(a.at - b.at) })
	return p
}

func (p plan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "waves at %v; kube-apiserver killed at +%v for %v; provider SIGKILLed at",
		p.waves, p.apiserver.Round(100*time.Millisecond), p.apiserverDown.Round(100*time.Millisecond))
	for _, k := range p.kills {
		fmt.Fprintf(&b, " +%v (down %v)", k.at.Round(100*time.Millisecond), k.down.Round(100*time.Millisecond))
	}
	return b.String()
}
