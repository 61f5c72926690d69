package ecssim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// Faults shapes how the simulator answers, to rehearse a slow, throttled or
// flaky ECS. Only RateLimits.PerAction reaches STS. The zero value is a perfect service. Every random choice comes
// from one generator seeded with Seed, so a run with the same calls in the
// same order sees the same faults.
type Faults struct {
	Seed int64 `json:"seed,omitempty"`
	// Latency is added to every call, plus a uniform random part of up to Jitter.
	Latency Duration `json:"latency,omitzero"`
	Jitter  Duration `json:"jitter,omitzero"`
	// ErrorRate is the fraction (0..1) of authenticated calls answered with a
	// server error instead of being served.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ErrorCode is the server error injected: InternalError (500),
	// ServiceUnavailable (503), or empty for a random mix of both.
	ErrorCode string `json:"errorCode,omitempty"`
	// VisibilityLag delays when Describe calls see a share added or removed by
	// ModifyImageSharePermission; the quota always counts the true state.
	VisibilityLag Duration `json:"visibilityLag,omitzero"`
	// RateLimits answer Throttling.User past a token-bucket rate.
	RateLimits RateLimits `json:"rateLimits,omitzero"`
	// HangRate is the fraction (0..1) of authenticated calls whose answer is
	// held back for HangFor, as when a gateway stalls: the call itself is
	// carried out (or refused) as usual, so a client that gives up first
	// cannot know whether a ModifyImageSharePermission took effect. Set
	// HangFor past the client's read timeout to rehearse that. A client
	// that disconnects ends the wait.
	HangRate float64  `json:"hangRate,omitempty"`
	HangFor  Duration `json:"hangFor,omitzero"`
}

// RateLimits are token buckets checked after authentication.
type RateLimits struct {
	// PerAction has one bucket per named action, shared by every caller.
	// STS actions may be named too.
	PerAction map[string]Rate `json:"perAction,omitempty"`
	// PerAccount gives each calling account a bucket of its own.
	PerAccount *Rate `json:"perAccount,omitempty"`
}

// Rate is a token bucket: PerSecond tokens refill it, Burst is its size.
type Rate struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst,omitempty"`
}

// Validate reports settings that make no sense.
func (f Faults) Validate() error {
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return fmt.Errorf("faults.errorRate %v must be between 0 and 1", f.ErrorRate)
	}
	switch f.ErrorCode {
	case "", CodeInternalError, CodeServiceUnavailable:
	default:
		return fmt.Errorf("faults.errorCode %q must be %s, %s or empty", f.ErrorCode, CodeInternalError, CodeServiceUnavailable)
	}
	if f.Latency.Duration < 0 || f.Jitter.Duration < 0 || f.VisibilityLag.Duration < 0 || f.HangFor.Duration < 0 {
		return fmt.Errorf("faults durations must not be negative")
	}
	if f.HangRate < 0 || f.HangRate > 1 {
		return fmt.Errorf("faults.hangRate %v must be between 0 and 1", f.HangRate)
	}
	if f.HangRate > 0 && f.HangFor.Duration == 0 {
		return fmt.Errorf("faults.hangRate needs faults.hangFor, how long a hung call waits")
	}
	rates := []Rate{}
	for a, r := range f.RateLimits.PerAction {
		if !knownAction(a) {
			return fmt.Errorf("faults.rateLimits.perAction: unknown action %q", a)
		}
		rates = append(rates, r)
	}
	if f.RateLimits.PerAccount != nil {
		rates = append(rates, *f.RateLimits.PerAccount)
	}
	for _, r := range rates {
		if r.PerSecond < 0 || r.Burst < 0 {
			return fmt.Errorf("faults.rateLimits: perSecond and burst must not be negative")
		}
	}
	return nil
}

// faultState is the live part of Faults: the seeded generator and the token
// buckets. It is guarded by the Simulator's mutex.
type faultState struct {
	cfg     Faults
	rng     *rand.Rand
	buckets map[string]*bucket
}

func newFaultState(f Faults) *faultState {
	return &faultState{cfg: f, rng: rand.New(rand.NewPCG(uint64(f.Seed), 0x5eed)), buckets: map[string]*bucket{}}
}

// latency is how long this call waits before it is answered.
func (f *faultState) latency() time.Duration {
	d := f.cfg.Latency.Duration
	if j := f.cfg.Jitter.Duration; j > 0 {
		d += time.Duration(f.rng.Int64N(int64(j) + 1))
	}
	return d
}

// admit applies rate limits and injected errors to an authenticated call.
func (f *faultState) admit(now time.Time, action, account string) *APIError {
	if err := f.throttle(now, action); err != nil {
		return err
	}
	if r := f.cfg.RateLimits.PerAccount; r != nil && !f.take("account/"+account, *r, now) {
		return errThrottled()
	}
	if f.cfg.ErrorRate > 0 && f.rng.Float64() < f.cfg.ErrorRate {
		code := f.cfg.ErrorCode
		if code == "" {
			code = []string{CodeInternalError, CodeServiceUnavailable}[f.rng.IntN(2)]
		}
		if code == CodeServiceUnavailable {
			return apiErr(http.StatusServiceUnavailable, code, "The request has failed due to a temporary failure of the server.")
		}
		return apiErr(http.StatusInternalServerError, code, "The request processing has failed due to some unknown error, exception or failure.")
	}
	return nil
}

// throttle applies the action's rate limit.
func (f *faultState) throttle(now time.Time, action string) *APIError {
	if r, ok := f.cfg.RateLimits.PerAction[action]; ok && !f.take("action/"+action, r, now) {
		return errThrottled()
	}
	return nil
}

// hang is how much longer than its latency this call's answer waits. The
// generator is drawn only when hangs are on, so that a seed without hangs
// gives the faults it gave before hangs existed.
func (f *faultState) hang() time.Duration {
	if f.cfg.HangRate > 0 && f.rng.Float64() < f.cfg.HangRate {
		return f.cfg.HangFor.Duration
	}
	return 0
}

func (f *faultState) take(key string, r Rate, now time.Time) bool {
	b := f.buckets[key]
	size := float64(max(r.Burst, 1))
	if b == nil {
		b = &bucket{tokens: size, last: now}
		f.buckets[key] = b
	}
	b.tokens = min(size, b.tokens+now.Sub(b.last).Seconds()*r.PerSecond)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type bucket struct {
	tokens float64
	last   time.Time
}
