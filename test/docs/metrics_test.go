package docs

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// describer is a prometheus.Registerer that keeps what the provider
// registers: the provider's own code says which metrics exist.
type describer struct{ collectors []prometheus.Collector }

func (d *describer) Register(c prometheus.Collector) error {
	d.collectors = append(d.collectors, c)
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	d.collectors = append(d.collectors, cs...)
}

func (d *describer) Unregister(prometheus.Collector) bool { return false }

// fqName reads a metric's full name from its Desc, which has no getter for
// it but prints it.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

// providerMetrics are the metrics internal/metrics registers, by full name;
// true for a histogram, whose series add _bucket, _sum and _count.
func providerMetrics(t *testing.T) map[string]bool {
	t.Helper()
	var d describer
	if err := metrics.New().Register(&d); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, c := range d.collectors {
		_, histogram := c.(prometheus.Histogram)
		if _, vec := c.(*prometheus.HistogramVec); vec {
			histogram = true
		}
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for desc := range ch {
			m := fqName.FindStringSubmatch(desc.String())
			if m == nil {
				t.Fatalf("cannot read the name of %s: prometheus changed how a Desc prints, fix fqName", desc)
			}
			out[m[1]] = histogram
		}
	}
	if len(out) == 0 {
		t.Fatal("internal/metrics registered no metrics")
	}
	return out
}

// metricName is a name under the provider's namespace, anywhere in a doc:
// in prose, tables and code blocks (PromQL) alike.
var metricName = regexp.MustCompile(`\balibabacloud_ecs_[a-z0-9_]*[a-z0-9]`)

// checkMetrics checks metrics both ways: every alibabacloud_ecs_ name in
// the docs is a metric the provider registers (or a histogram's series),
// and every metric it registers is named in a code span of some doc
// (docs/operations.md's metrics table), alone or with labels.
func checkMetrics(t *testing.T, docs map[string]*markdown.Doc) {
	exported := providerMetrics(t)
	exists := func(name string) bool {
		if _, ok := exported[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && exported[base] {
				return true
			}
		}
		return false
	}
	documented := map[string]bool{}
	for _, d := range sorted(docs) {
		for i, line := range d.Lines {
			for _, name := range metricName.FindAllString(line, -1) {
				if !exists(name) {
					t.Errorf("%s:%d: %s is no metric of the provider (internal/metrics): fix or drop it", d.Path, i+1, name)
				}
			}
		}
		for _, s := range d.Spans {
			name, _, _ := strings.Cut(s.Text, "{")
			documented[name] = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(exported)) {
		if !documented[name] {
			t.Errorf("the provider's metric %s is documented nowhere: add a row for `%s` to docs/operations.md's metrics table", name, name)
		}
	}
}
