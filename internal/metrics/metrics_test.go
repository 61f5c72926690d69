package metrics_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

func TestOutcome(t *testing.T) {
	cases := []struct {
		reason string
		code   string
		want   string
	}{
		{reason: "a documented image code is its own outcome", code: "InvalidImageId.NotFound", want: "InvalidImageId.NotFound"},
		{reason: "ECS's misspelling is the code it sends", code: "InvalidAccount.Forbbiden", want: "InvalidAccount.Forbbiden"},
		{reason: "each throttling code is its own outcome", code: "Throttling.User", want: "Throttling.User"},
		{reason: "a refused STS token is its own outcome", code: "InvalidSecurityToken.Expired", want: "InvalidSecurityToken.Expired"},
		{reason: "a temporary failure is its own outcome", code: "ServiceUnavailable", want: "ServiceUnavailable"},
		{reason: "an unknown code is Other", code: "Made.Up", want: metrics.OutcomeOther},
		{reason: "an unknown code under a known prefix is Other", code: "Throttling.Whatever", want: metrics.OutcomeOther},
		{reason: "codes are compared exactly, case included", code: "throttling", want: metrics.OutcomeOther},
		{reason: "a known code with more after it is Other", code: "Throttling\x00", want: metrics.OutcomeOther},
		{reason: "a code may not pass for the provider's own outcomes", code: metrics.OutcomeSuccess, want: metrics.OutcomeOther},
		{reason: "a code may not pass for Unreachable", code: metrics.OutcomeUnreachable, want: metrics.OutcomeOther},
		{reason: "an empty code is Other", code: "", want: metrics.OutcomeOther},
		{reason: "a megabyte of code is Other", code: strings.Repeat("A", 1<<20), want: metrics.OutcomeOther},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, metrics.Outcome(tc.code)); diff != "" {
			t.Errorf("%s: Outcome(%.40q) (-want +got):\n%s", tc.reason, tc.code, diff)
		}
	}
}

// TestCallSeriesAreBounded has an endpoint answer with thousands of
// random, long codes: the api_calls_total series stay those of the codes
// it could have chosen from the closed set, here just Other.
func TestCallSeriesAreBounded(t *testing.T) {
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := make([]byte, 1+r.IntN(2048))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		m.Call("DescribeImageSharePermission", metrics.Outcome(string(b)), time.Millisecond, false)
	}
	m.Call("DescribeImageSharePermission", metrics.Outcome("Throttling"), time.Millisecond, true)
	m.Call("DescribeImageSharePermission", metrics.OutcomeSuccess, time.Millisecond, false)
	if got := seriesOf(t, reg, "alibabacloud_ecs_api_calls_total"); got != 3 {
		t.Errorf("%d api_calls_total series after 5000 random codes, a throttle and a success, want 3: Other, Throttling and Success", got)
	}
	if got := counted(t, reg, "Other"); got != 5000 {
		t.Errorf("api_calls_total{outcome=Other} = %v, want 5000", got)
	}
}

// seriesOf is how many series reg has of the metric name, as
// prometheus/testutil.CollectAndCount says (which this module does not
// import, to keep its test dependencies as they are).
func seriesOf(t *testing.T, reg *prometheus.Registry, name string) int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

// counted is api_calls_total's count of outcome.
func counted(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "alibabacloud_ecs_api_calls_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no api_calls_total series with outcome %q", outcome)
	return 0
}

func TestPacedRateSeriesGoWithTheirPacer(t *testing.T) {
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	const endpoint = "https://ecs.cn-hangzhou.aliyuncs.com"
	for i := range 100 {
		budget := "account:" + strings.Repeat("1", i)
		m.PacedRate("DescribeImageSharePermission", "cn-hangzhou", budget, endpoint, 20)
		m.PacedRate("DescribeImageSharePermission", "cn-hangzhou", budget, endpoint, 10) // a change: the same series
		m.PacerGone("DescribeImageSharePermission", "cn-hangzhou", budget, endpoint)
	}
	m.PacedRate("DescribeImageSharePermission", "cn-hangzhou", "account:1234567890123456", endpoint, 20)
	if got := seriesOf(t, reg, "alibabacloud_ecs_paced_rate"); got != 1 {
		t.Errorf("%d paced_rate series, want 1: that of the one pacer not gone", got)
	}
	// Nothing on a nil *ECS records or panics.
	var none *metrics.ECS
	none.PacedRate("a", "r", "b", "e", 1)
	none.PacerGone("a", "r", "b", "e")
}

func TestBudgetLabel(t *testing.T) {
	const budget, endpoint = "account:1234567890123456", "https://ecs.cn-hangzhou.aliyuncs.com"
	got := metrics.BudgetLabel(budget, endpoint)
	if len(got) != 12 || strings.Trim(got, "0123456789abcdef") != "" {
		t.Errorf("BudgetLabel = %q, want 12 hex digits", got)
	}
	if got != metrics.BudgetLabel(budget, endpoint) {
		t.Error("BudgetLabel is not stable")
	}
	others := map[string][2]string{
		"another budget":   {"account:1234567890123457", endpoint},
		"another endpoint": {budget, "https://ecs-vpc.cn-hangzhou.aliyuncs.com"},
		"a shifted split":  {budget + "h", "ttps://ecs.cn-hangzhou.aliyuncs.com"},
	}
	for name, o := range others {
		if metrics.BudgetLabel(o[0], o[1]) == got {
			t.Errorf("%s: the same BudgetLabel %q", name, got)
		}
	}
}
