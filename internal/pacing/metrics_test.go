package pacing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/pacing"
)

const pacedRate = "alibabacloud_ecs_paced_rate"

// TestEvictedPacersLeaveNoSeries wires the pacers to the metrics as the
// provider does and checks that a dropped pacer's paced_rate series go,
// that a live one's stay, and that no label shows a budget.
func TestEvictedPacersLeaveNoSeries(t *testing.T) {
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	clk := simtest.NewClock()
	ps := pacing.New(pacing.Options{
		Rates:     map[string]float64{describe: 20, ecs.ActionModify: 10},
		IdleAfter: 10 * time.Minute,
		Now:       clk.Now,
		OnRate: func(k pacing.Key, action string, perSecond float64) {
			m.PacedRate(action, k.Region, k.Budget, k.Endpoint, perSecond)
		},
		OnEvict: func(k pacing.Key, action string) { m.PacerGone(action, k.Region, k.Budget, k.Endpoint) },
	})
	// As prometheus/testutil.CollectAndCount would say, which this module
	// does not import, to keep its test dependencies as they are.
	count := func() int { return strings.Count(gathered(t, reg), "budget=") }

	const endpoint = "https://ecs.cn-hangzhou.aliyuncs.com"
	idle := pacing.Key{Budget: "account:1000000000000001", Endpoint: endpoint, Region: "cn-hangzhou"}
	live := pacing.Key{Budget: "config:6f1c2a9e-0000-4000-8000-000000000001", Endpoint: endpoint, Region: "cn-hangzhou"}
	ps.For(idle)
	p := ps.For(live)
	if got := count(); got != 4 {
		t.Fatalf("%d paced_rate series for two pacers of two actions, want 4", got)
	}

	// Many short-lived pacers, e.g. bogus regions: each goes with its series.
	for i := range 100 {
		clk.Advance(time.Minute)
		p.Done(describe, false) // keeps live alive
		ps.For(pacing.Key{Budget: live.Budget, Endpoint: endpoint, Region: "xx-bogus" + strings.Repeat("a", i%40)})
	}
	if got := count(); got > 2*11 {
		t.Errorf("%d paced_rate series after 100 pacers made a minute apart, want at most those of the 11 used in the last 10 minutes", got)
	}

	clk.Advance(10 * time.Minute)
	p.Done(describe, false)
	ps.For(live) // drops every pacer but live's
	if got := count(); got != 2 {
		t.Errorf("%d paced_rate series once all but one pacer are dropped, want its 2", got)
	}
	text := gathered(t, reg)
	for _, budget := range []string{"1000000000000001", "6f1c2a9e", endpoint} {
		if strings.Contains(text, budget) {
			t.Errorf("the paced_rate labels show %q:\n%s", budget, text)
		}
	}
	if want := "budget=" + metrics.BudgetLabel(live.Budget, endpoint) + "\n"; !strings.Contains(text, want) {
		t.Errorf("the paced_rate labels lack %q:\n%s", want, text)
	}
}

// gathered is every paced_rate label value reg holds, one per line.
func gathered(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if mf.GetName() != pacedRate {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				b.WriteString(l.GetName() + "=" + l.GetValue() + "\n")
			}
		}
	}
	return b.String()
}
