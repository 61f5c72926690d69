package main

import "fmt"

// target is one of the targets, judged on one mode's figures.
type target struct {
	Target string `json:"target"`
	Mode   string `json:"mode"`
	Value  string `json:"value"`
	// Met is nil when this run cannot judge it.
	Met  *bool  `json:"met"`
	Note string `json:"note,omitempty"`
}

// Terraform took 92 s to share 1,000; the issue asks for a fifth of that
// with ECS unlimited.
const terraformSeconds = 92.0

// targetResources is the size the memory and CPU targets are set for.
const targetResources = 1000

// judge marks each target met or missed. The provider's defaults are what
// the targets are for: all but one are judged on the shared mode.
func (rep *report) judge() []target {
	return []target{
		rep.judgeOn("shared", "all Ready within 1.5× the rate-limit bound", rep.readyWithin(1.5)),
		rep.judgeOn("unlimited", fmt.Sprintf("all Ready in under %.1f s, a fifth of Terraform's %.0f s", terraformSeconds/5, terraformSeconds), func(r result) (string, *bool, string) {
			if r.Converge == nil {
				return "-", nil, ""
			}
			return fmt.Sprintf("%.1f s", r.Converge.Seconds), verdict(r.Converge.Seconds < terraformSeconds/5), ""
		}),
		rep.judgeOn("shared", "ECS calls to converge within 1.2× the minimum", rep.callsWithin(1.2)),
		rep.judgeOn("sharing", "all Ready within 1.2× the rate-limit bound", rep.readyWithin(1.2)),
		rep.judgeOn("sharing", "ECS calls to converge within 1.1× the minimum", rep.callsWithin(1.1)),
		rep.judgeOn("family", "a new version of every family rolled out within one poll plus its rate-limit bound", func(r result) (string, *bool, string) {
			ratio, ok := rep.rolloutOverBound(r)
			if !ok {
				return "-", nil, ""
			}
			return fmt.Sprintf("%.2f× (%.1f s)", ratio, r.Rollout.Seconds), verdict(ratio <= 1), ""
		}),
		rep.judgeOn("backlog", "ECS calls to converge within 1.2× the minimum", rep.callsWithin(1.2)),
		rep.judgeOn("shared", "at rest, at most 1 Describe page per image per poll", func(r result) (string, *bool, string) {
			v, ok := rested(rep.restDescribesPerImage)(r)
			if !ok {
				return "-", nil, ""
			}
			return fmt.Sprintf("%.2f", v), verdict(v <= 1), ""
		}),
		rep.judgeOn("shared", "at most 3% of calls to converge throttled", func(r result) (string, *bool, string) {
			if r.Converge == nil {
				return "-", nil, ""
			}
			share := throttledShare(r.Converge)
			return fmt.Sprintf("%.1f%%", 100*share), verdict(share <= 0.03), ""
		}),
		rep.judgeOn("shared", "provider peak RSS under 96 MiB", func(r result) (string, *bool, string) {
			v, ok := used(func(r result) float64 { return float64(r.PeakRSSBytes) / (1 << 20) })(r)
			if !ok {
				return "-", nil, ""
			}
			met, note := atTargetSize(r, v < 96)
			return fmt.Sprintf("%.1f MiB", v), met, note
		}),
		rep.judgeOn("shared", "provider CPU under 0.02 s per resource", func(r result) (string, *bool, string) {
			v, ok := used(func(r result) float64 { return r.CPUSeconds / float64(r.Resources) })(r)
			if !ok {
				return "-", nil, ""
			}
			met, note := atTargetSize(r, v < 0.02)
			return fmt.Sprintf("%.4f s", v), met, note
		}),
	}
}

// readyWithin judges how long a mode took to converge against limit times
// the rate-limit bound.
func (rep *report) readyWithin(limit float64) func(result) (string, *bool, string) {
	return func(r result) (string, *bool, string) {
		ratio, ok := rep.readyOverBound(r)
		if !ok {
			return "-", nil, fmt.Sprintf("the bound is %.1f s at this size", rep.bound.Seconds())
		}
		return fmt.Sprintf("%.2f× (%.1f s, bound %.1f s)", ratio, r.Converge.Seconds, rep.bound.Seconds()), verdict(ratio <= limit), ""
	}
}

// callsWithin judges a mode's calls to converge against limit times the
// minimum.
func (rep *report) callsWithin(limit float64) func(result) (string, *bool, string) {
	return func(r result) (string, *bool, string) {
		ratio, ok := rep.callsOverMin(r)
		if !ok {
			return "-", nil, ""
		}
		return fmt.Sprintf("%.2f× (%d of %d)", ratio, r.Converge.Calls.total(), rep.minTotal()), verdict(ratio <= limit), ""
	}
}

// judgeOn judges a target on mode's result, if the mode ran.
func (rep *report) judgeOn(mode, what string, judge func(result) (value string, met *bool, note string)) target {
	t := target{Target: what, Mode: mode, Value: "-"}
	r, ok := rep.find(mode)
	switch {
	case !ok:
		t.Note = "not run"
	case r.Skipped != "":
		t.Note = "skipped"
	default:
		t.Value, t.Met, t.Note = judge(r)
	}
	return t
}

func verdict(met bool) *bool { return &met }

// atTargetSize judges a memory or CPU target only at the size it is for.
func atTargetSize(r result, met bool) (*bool, string) {
	if r.Resources != targetResources {
		return nil, fmt.Sprintf("set for %d resources, not %d", targetResources, r.Resources)
	}
	return verdict(met), ""
}
