package chaos

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// report prints what the run cost: ECS calls by action and outcome, per
// resource and per image, how long resources took to become Ready, and
// what each stuck resource cost. Figures, not verdicts: speed depends on
// the machine.
func report(t *testing.T, w world, sim *ecssim.Simulator, objs map[string]observed, stuck []stuckReport, begin, end time.Time, starts []time.Time) {
	var b strings.Builder
	span := end.Sub(begin)
	fmt.Fprintf(&b, "figures for %d healthy and %d stuck resources over %v (poll %v, %d provider starts):\n",
		len(w.healthy), len(w.stuck), span.Round(time.Second), cfg.poll, len(starts))

	counters := sim.Counters()
	hung := sim.CallsBy(func(c ecssim.Call) string { return c.Action }, func(c ecssim.Call) bool { return c.Hung })
	var total uint64
	b.WriteString("  ECS calls by action and outcome:\n")
	for _, action := range slices.Sorted(maps.Keys(counters)) {
		m := counters[action]
		var n uint64
		var parts []string
		for _, o := range slices.SortedFunc(maps.Keys(m), func(x, y string) int { return cmp.Compare(m[y], m[x]) }) {
			n += m[o]
			parts = append(parts, fmt.Sprintf("%s %d", o, m[o]))
		}
		total += n
		fmt.Fprintf(&b, "    %-30s %6d  (%s; hung past the read timeout %d)\n", action, n, strings.Join(parts, ", "), hung[action])
	}
	resources := len(w.healthy) + len(w.stuck)
	fmt.Fprintf(&b, "  calls per resource: %.1f overall, %.2f per resource per poll interval\n",
		float64(total)/float64(resources), float64(total)/float64(resources)/(span.Seconds()/cfg.poll.Seconds()))

	byImage := sim.CallsBy(func(c ecssim.Call) string { return c.Image }, nil)
	perImage := map[string]int{}
	for _, s := range w.healthy {
		perImage[s.image]++
	}
	images := slices.Collect(maps.Keys(perImage))
	ratio := func(img string) float64 { return float64(byImage[img]) / float64(perImage[img]) }
	slices.SortFunc(images, func(x, y string) int { return cmp.Compare(ratio(y), ratio(x)) })
	b.WriteString("  images with the most calls per resource:")
	for _, img := range first(images, 3) {
		fmt.Fprintf(&b, " %s %d calls for %d resources (%.1f each);", img, byImage[img], perImage[img], ratio(img))
	}
	b.WriteString("\n")

	var lat []time.Duration
	var worst string
	var worstD time.Duration
	for _, s := range w.healthy {
		if d, ok := readyAfter(objs[s.key()]); ok {
			lat = append(lat, d)
			if d > worstD {
				worst, worstD = s.key(), d
			}
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))].Round(100 * time.Millisecond) }
		fmt.Fprintf(&b, "  creation to Ready: median %v, p90 %v, max %v (the slowest: %s)\n", q(0.5), q(0.9), q(1), worst)
	}

	b.WriteString("  stuck resources (calls over the run; budget; per poll; waits between retries after the last start):\n")
	for _, r := range stuck {
		fmt.Fprintf(&b, "    %-26s %-28s %4d calls (budget %d), %.1f per poll, waits %s\n",
			r.name, r.code, r.calls, r.budget, r.perPoll, roundAll(r.gaps))
	}
	t.Log(b.String())
}
