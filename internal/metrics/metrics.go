// Package metrics holds the provider's own Prometheus metrics: what it asks
// of ECS and how much the shared reads, batching and pacing save. It knows
// nothing of Kubernetes; the provider registers it on controller-runtime's
// registry, whose endpoint --metrics-bind-address serves.
//
// Every method is safe on a nil *ECS, which records nothing, so that tests
// and tools that do not care need not build one.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "alibabacloud_ecs"

// Outcomes of an ECS call other than ECS's own error codes.
const (
	OutcomeSuccess = "Success"
	// OutcomeUnreachable is a call that got no answer: a transport error or
	// a timeout.
	OutcomeUnreachable = "Unreachable"
	// OutcomeAbandoned is a call whose caller stopped waiting.
	OutcomeAbandoned = "Abandoned"
)

// Listing lookups, by how they were answered.
const (
	ListingHit    = "hit"    // a fresh cached listing answered
	ListingMiss   = "miss"   // the lookup read ECS
	ListingJoined = "joined" // the lookup waited for another's read in flight
)

// ECS is the provider's ECS metrics.
type ECS struct {
	calls     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttles *prometheus.CounterVec
	pacedRate *prometheus.GaugeVec
	batchSize prometheus.Histogram
	listings  *prometheus.CounterVec
}

// New returns unregistered metrics.
func New() *ECS {
	return &ECS{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_calls_total",
			Help: "ECS API calls by action and outcome: Success, ECS's error code, Unreachable or Abandoned.",
		}, []string{"action", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "api_call_duration_seconds",
			Help:    "How long ECS API calls took, answered or not, by action.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20},
		}, []string{"action"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_throttles_total",
			Help: "ECS API calls refused with a Throttling code, by action.",
		}, []string{"action"}),
		pacedRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "paced_rate",
			Help: "Calls per second the provider currently allows itself, by action, region and AccessKey ID.",
		}, []string{"action", "region", "access_key_id"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "share_batch_accounts",
			Help:    "Accounts added or removed by one ModifyImageSharePermission call.",
			Buckets: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		}),
		listings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "share_listing_lookups_total",
			Help: "Lookups of an image's share listing: hit (a fresh cached listing), miss (read from ECS), joined (waited for a read in flight).",
		}, []string{"result"}),
	}
}

// Register adds the metrics to r.
func (m *ECS) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.calls, m.latency, m.throttles, m.pacedRate, m.batchSize, m.listings} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Call records one finished ECS call.
func (m *ECS) Call(action, outcome string, took time.Duration, throttled bool) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(action, outcome).Inc()
	m.latency.WithLabelValues(action).Observe(took.Seconds())
	if throttled {
		m.throttles.WithLabelValues(action).Inc()
	}
}

// PacedRate records the rate a pacer now allows.
func (m *ECS) PacedRate(action, region, accessKeyID string, perSecond float64) {
	if m == nil {
		return
	}
	m.pacedRate.WithLabelValues(action, region, accessKeyID).Set(perSecond)
}

// Batch records how many accounts one Modify call carried.
func (m *ECS) Batch(accounts int) {
	if m == nil {
		return
	}
	m.batchSize.Observe(float64(accounts))
}

// Listing records how a listing lookup was answered.
func (m *ECS) Listing(result string) {
	if m == nil {
		return
	}
	m.listings.WithLabelValues(result).Inc()
}
