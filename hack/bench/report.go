package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// report is every mode's figures and the targets, as printed and as
// written to the JSON file.
type report struct {
	StartedAt time.Time     `json:"startedAt"`
	Settings  shownSettings `json:"settings"`
	// MinCalls are the fewest calls of each action that can converge, and
	// RateBoundSeconds how long ECS's rate limits make them take at least.
	MinCalls         map[string]int `json:"minCalls"`
	RateBoundSeconds float64        `json:"rateBoundSeconds"`
	Results          []result       `json:"modes"`
	Targets          []target       `json:"targets"`
	s                settings
	bound            time.Duration
}

type shownSettings struct {
	Images       int                    `json:"images"`
	Accounts     int                    `json:"accountsPerImage"`
	RateLimits   map[string]ecssim.Rate `json:"rateLimits"`
	Latency      string                 `json:"latency"`
	Jitter       string                 `json:"jitter"`
	Poll         string                 `json:"poll"`
	ProviderArgs []string               `json:"providerArgs,omitempty"`
	ProviderEnv  []string               `json:"providerEnv,omitempty"`
}

func newReport(s settings, started time.Time, results []result) *report {
	minimum := minCalls(s.images, s.accounts)
	bound := rateBound(minimum, s.rates())
	rep := &report{
		StartedAt: started,
		Settings: shownSettings{Images: s.images, Accounts: s.accounts, RateLimits: s.rates(),
			Latency: s.latency.String(), Jitter: s.jitter.String(), Poll: s.poll.String(), ProviderArgs: s.providerArgs, ProviderEnv: s.providerEnv},
		MinCalls: minimum, RateBoundSeconds: bound.Seconds(), Results: results, s: s, bound: bound,
	}
	rep.Targets = rep.judge()
	return rep
}

func (rep *report) write(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

func (rep *report) minTotal() int {
	n := 0
	for _, v := range rep.MinCalls {
		n += v
	}
	return n
}

// figure is one number a mode measured, or false when it has none.
type figure func(r result) (float64, bool)

func converged(f func(p *phase) float64) figure {
	return func(r result) (float64, bool) {
		if r.Converge == nil {
			return 0, false
		}
		return f(r.Converge), true
	}
}

func rested(f func(r result) float64) figure {
	return func(r result) (float64, bool) {
		if r.Rest == nil || r.RestPolls == 0 {
			return 0, false
		}
		return f(r), true
	}
}

func deleted(f func(p *phase) float64) figure {
	return func(r result) (float64, bool) {
		if r.Delete == nil {
			return 0, false
		}
		return f(r.Delete), true
	}
}

// used is a figure of the provider's whole life, known once a mode with a
// provider finished.
func used(f func(r result) float64) figure {
	return func(r result) (float64, bool) {
		if r.Delete == nil || r.Error != "" || r.PeakRSSBytes == 0 {
			return 0, false
		}
		return f(r), true
	}
}

func (rep *report) readyOverBound(r result) (float64, bool) {
	if r.Converge == nil || !r.RateLimited || rep.bound <= 0 {
		return 0, false
	}
	return r.Converge.Seconds / rep.bound.Seconds(), true
}

func (rep *report) callsOverMin(r result) (float64, bool) {
	if r.Converge == nil {
		return 0, false
	}
	return float64(r.Converge.Calls.total()) / float64(rep.minTotal()), true
}

// rolloutBound is how long ECS's Modify limit makes a family roll-out take
// at least: every family's new version shared with its accounts, and the
// old one unshared from them, in calls of ten.
func (rep *report) rolloutBound() time.Duration {
	n := 2 * minCalls(rep.s.images, rep.s.accounts)[modifyCall]
	r := rep.s.rates()[modifyCall]
	return time.Duration(math.Max(0, float64(n-r.Burst)) / r.PerSecond * float64(time.Second))
}

// rolloutOverBound is a roll-out's time over one poll (when the provider
// looks at each family next) plus rolloutBound.
func (rep *report) rolloutOverBound(r result) (float64, bool) {
	if r.Rollout == nil {
		return 0, false
	}
	return r.Rollout.Seconds / (rep.s.poll + rep.rolloutBound()).Seconds(), true
}

func throttledShare(p *phase) float64 {
	if p.Calls.total() == 0 {
		return 0
	}
	return float64(p.Calls.outcome(ecssim.CodeThrottlingUser)) / float64(p.Calls.total())
}

func (rep *report) restDescribesPerImage(r result) float64 {
	return float64(r.Rest.Calls.action(describeCall)) / float64(rep.s.images) / r.RestPolls
}

func count(n uint64) float64 { return float64(n) }

// How a row's figures are printed.
const (
	whole      = "%.0f"
	tenths     = "%.1f"
	hundredths = "%.2f"
)

// row is one line of the table: a figure for every mode.
type row struct {
	label  string
	value  figure
	format string
	// ratio shows shared ÷ unshared.
	ratio bool
}

func (rep *report) rows() []row {
	rows := []row{
		{label: "create all (s)", value: func(r result) (float64, bool) { return r.CreateSeconds, r.Converge != nil }, format: tenths},
		{label: "all Ready after the first create (s)", value: converged(func(p *phase) float64 { return p.Seconds }), format: tenths, ratio: true},
		{label: fmt.Sprintf("  ÷ rate-limit bound (%.1f s)", rep.bound.Seconds()), value: rep.readyOverBound, format: hundredths},
		{label: "ECS calls to converge", value: converged(func(p *phase) float64 { return count(p.Calls.total()) }), format: whole, ratio: true},
	}
	actions := map[string]bool{describeCall: true, modifyCall: true}
	for _, r := range rep.Results {
		if r.Converge != nil {
			for a := range r.Converge.Calls {
				actions[a] = true
			}
		}
	}
	for _, a := range slices.Sorted(maps.Keys(actions)) {
		rows = append(rows, row{label: "  " + a, value: converged(func(p *phase) float64 { return count(p.Calls.action(a)) }), format: whole, ratio: true})
	}
	rows = append(rows,
		row{label: "  of all: throttled", value: converged(func(p *phase) float64 { return count(p.Calls.outcome(ecssim.CodeThrottlingUser)) }), format: whole, ratio: true},
		row{label: "  of all: other errors", value: converged(func(p *phase) float64 {
			return count(p.Calls.total() - p.Calls.outcome("Success") - p.Calls.outcome(ecssim.CodeThrottlingUser))
		}), format: whole},
		row{label: fmt.Sprintf("  ÷ minimum (%d)", rep.minTotal()), value: rep.callsOverMin, format: hundredths, ratio: true},
		row{label: "  throttled share (%)", value: converged(func(p *phase) float64 { return 100 * throttledShare(p) }), format: tenths},
		row{label: "at rest: Describe calls / image / poll", value: rested(rep.restDescribesPerImage), format: hundredths, ratio: true},
		row{label: "at rest: Modify calls", value: rested(func(r result) float64 { return count(r.Rest.Calls.action(modifyCall)) }), format: whole},
		row{label: "at rest: all calls", value: rested(func(r result) float64 { return count(r.Rest.Calls.total()) }), format: whole, ratio: true},
		row{label: "roll out a new version of each family (s)", value: func(r result) (float64, bool) {
			if r.Rollout == nil {
				return 0, false
			}
			return r.Rollout.Seconds, true
		}, format: tenths},
		row{label: fmt.Sprintf("  ÷ (poll + its bound, %.1f s)", (rep.s.poll + rep.rolloutBound()).Seconds()), value: rep.rolloutOverBound, format: hundredths},
		row{label: "ECS calls to roll out", value: func(r result) (float64, bool) {
			if r.Rollout == nil {
				return 0, false
			}
			return count(r.Rollout.Calls.total()), true
		}, format: whole},
		row{label: "delete all (s)", value: deleted(func(p *phase) float64 { return p.Seconds }), format: tenths, ratio: true},
		row{label: "ECS calls to delete", value: deleted(func(p *phase) float64 { return count(p.Calls.total()) }), format: whole, ratio: true},
		row{label: "  of which throttled", value: deleted(func(p *phase) float64 { return count(p.Calls.outcome(ecssim.CodeThrottlingUser)) }), format: whole},
		row{label: "provider peak RSS (MiB)", value: used(func(r result) float64 { return float64(r.PeakRSSBytes) / (1 << 20) }), format: tenths, ratio: true},
		row{label: "provider CPU (s)", value: used(func(r result) float64 { return r.CPUSeconds }), format: hundredths, ratio: true},
		row{label: "  converging", value: converged(func(p *phase) float64 { return p.CPUSeconds }), format: hundredths, ratio: true},
		row{label: "  at rest", value: rested(func(r result) float64 { return r.Rest.CPUSeconds }), format: hundredths, ratio: true},
		row{label: "  deleting", value: deleted(func(p *phase) float64 { return p.CPUSeconds }), format: hundredths, ratio: true},
		row{label: "CPU per resource (ms)", value: used(func(r result) float64 { return 1000 * r.CPUSeconds / float64(r.Resources) }), format: hundredths, ratio: true},
	)
	return rows
}

func (rep *report) find(name string) (result, bool) {
	i := slices.IndexFunc(rep.Results, func(r result) bool { return r.Mode == name })
	if i < 0 {
		return result{}, false
	}
	return rep.Results[i], true
}

func (rep *report) print(out io.Writer) error {
	var b strings.Builder
	rep.printSettings(&b)
	rep.printTable(&b)
	rep.printNotes(&b)
	rep.printTargets(&b)
	_, err := io.WriteString(out, b.String())
	return err
}

func (rep *report) printSettings(b *strings.Builder) {
	s := rep.s
	fmt.Fprintf(b, "\nbench: %d shares (%d images × %d accounts), provider --poll=%v; ECS latency %v + up to %v;\n",
		s.resources(), s.images, s.accounts, s.poll, s.latency, s.jitter)
	fmt.Fprintf(b, "rate limits (shared, unshared): Describe %.4g/s, Modify %.4g/s, each with a burst of one second's worth;\n", s.describeRate, s.modifyRate)
	fmt.Fprintf(b, "fewest calls: %d Describe pages + %d Modify calls; they take at least %.1f s at those limits.\n\n",
		rep.MinCalls[describeCall], rep.MinCalls[modifyCall], rep.bound.Seconds())
}

// printTable prints every figure, a column per mode.
func (rep *report) printTable(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{""}
	for _, r := range rep.Results {
		header = append(header, r.Mode)
	}
	shared, haveShared := rep.find("shared")
	unshared, haveUnshared := rep.find("unshared")
	withRatio := haveShared && haveUnshared && unshared.Skipped == ""
	if withRatio {
		header = append(header, "shared ÷ unshared")
	}
	rows := rep.rows()
	// Figures align right, labels left: a label padded to the widest fills
	// its column, which leaves right alignment nothing to move.
	width := 0
	for _, rw := range rows {
		width = max(width, utf8.RuneCountInString(rw.label))
	}
	// Writes to a tabwriter over a strings.Builder cannot fail.
	line := func(cells []string) {
		cells[0] = fmt.Sprintf("%-*s", width, cells[0])
		_, _ = io.WriteString(tw, strings.Join(cells, "\t")+"\t\n")
	}
	line(header)
	for _, rw := range rows {
		cells := []string{rw.label}
		for _, r := range rep.Results {
			cells = append(cells, cell(rw, r))
		}
		if withRatio {
			x, okX := rw.value(shared)
			y, okY := rw.value(unshared)
			ratio := ""
			if rw.ratio && okX && okY && y != 0 {
				ratio = fmt.Sprintf(hundredths, x/y)
			}
			cells = append(cells, ratio)
		}
		line(cells)
	}
	_ = tw.Flush()
}

// printNotes says which modes did not run or finish, and where their logs are.
func (rep *report) printNotes(b *strings.Builder) {
	for _, r := range rep.Results {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(b, "%s: skipped: %s\n", r.Mode, r.Skipped)
		case r.Error != "":
			fmt.Fprintf(b, "%s: did not finish: %s\n", r.Mode, r.Error)
		case r.SharesMismatch != "":
			fmt.Fprintf(b, "%s: once all were Ready, ECS differed from what they ask: %s\n", r.Mode, r.SharesMismatch)
		}
		if r.ProviderLog != "" {
			fmt.Fprintf(b, "%s: provider log %s\n", r.Mode, r.ProviderLog)
		}
	}
}

func (rep *report) printTargets(b *strings.Builder) {
	fmt.Fprintln(b, "\nthe issue's targets:")
	for _, t := range rep.Targets {
		mark := "n/a"
		if t.Met != nil {
			mark = map[bool]string{true: "met", false: "MISSED"}[*t.Met]
		}
		line := fmt.Sprintf("  [%-6s] %s (%s): %s", mark, t.Target, t.Mode, t.Value)
		if t.Note != "" {
			line += "; " + t.Note
		}
		fmt.Fprintln(b, line)
	}
}

func cell(rw row, r result) string {
	if r.Skipped != "" {
		return "skipped"
	}
	v, ok := rw.value(r)
	if !ok {
		return "-"
	}
	return fmt.Sprintf(rw.format, v)
}
