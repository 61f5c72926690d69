// Package metrics holds the provider's own Prometheus metrics: what it asks
// of ECS and how much the shared reads, batching and pacing save. It knows
// nothing of Kubernetes; the provider registers it on controller-runtime's
// registry, whose endpoint --metrics-bind-address serves.
//
// Every method is safe on a nil *ECS, which records nothing, so that tests
// and tools that do not care need not build one.
//
// Every label value comes from a closed set, or names something that exists
// and whose series go when it goes: an endpoint, which may be a tenant's
// own, picks neither an outcome nor a label's length, and no label carries a
// credential's identifier (the metrics endpoint has no authentication).
package metrics

import (
	"crypto/sha256"
	"encoding/hex"
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
	// OutcomeOther is an answer with an error code not in knownCodes.
	OutcomeOther = "Other"
)

// knownCodes are the error codes that ECS documents for the image share
// actions, or that the provider acts on (throttles, refused credentials,
// temporary failures). An outcome is one of these, one of the Outcome
// constants, or nothing else. A code is compared exactly, case included.
var knownCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range []string{
		// The image and the accounts shared with.
		"InvalidImageId.NotFound",
		"InvalidImageId.BidMismatch",
		"InvalidAccount.NotFound",
		"InvalidAccount.Forbbiden", // sic: ECS spells it so.
		"QuotaExceed.ShareImageUser",
		"QuotaExceed.ShareImage",
		"OperationDenied.InvalidImageStatus",
		"OperationDeined.EncryptedSnapshot", // sic
		"InvalidOperation.ServiceKeyEncryptedImageUnsupported",
		"AssumeRoleError",
		// Permissions and credentials.
		"Forbidden.RAM",
		"InvalidAccessKeyId.NotFound",
		"InvalidAccessKeyId.Inactive",
		"SignatureDoesNotMatch",
		"InvalidTimeStamp.Expired",
		"InvalidSecurityToken.Expired",
		"InvalidSecurityToken.MismatchWithAccessKey",
		"InvalidSecurityToken.Malformed",
		// Throttling.
		"Throttling",
		"Throttling.User",
		"Throttling.Api",
		"Throttling.Api.Concurrency",
		"Throttling.System",
		"Rejected.Throttling",
		// Temporary failures and malformed requests.
		"ServiceUnavailable",
		"InternalError",
		"MissingParameter",
		"InvalidParameter",
	} {
		m[c] = true
	}
	return m
}()

// Outcome is the outcome label of an ECS answer with error code code: the
// code itself if it is one ECS is known to send, else OutcomeOther, so that
// an endpoint cannot add a series by making up a code.
func Outcome(code string) string {
	if knownCodes[code] {
		return code
	}
	return OutcomeOther
}

// budgetDigestLen is how many hex digits of a pacer's digest its budget
// label keeps: 48 bits, enough to tell the pacers alive at one time apart.
const budgetDigestLen = 12

// BudgetLabel is the budget label of the pacer of budget at endpoint: the
// first 12 hex digits of a SHA-256 of both. It tells pacers apart without
// showing the account, configuration or credential the budget names, nor
// the endpoint; one who knows both can compute it.
func BudgetLabel(budget, endpoint string) string {
	sum := sha256.Sum256([]byte(budget + "\x00" + endpoint))
	return hex.EncodeToString(sum[:])[:budgetDigestLen]
}

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
	keptPoll  prometheus.Gauge
	drift     *prometheus.CounterVec
}

// New returns unregistered metrics.
func New() *ECS {
	return &ECS{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_calls_total",
			Help: "ECS API calls by action and outcome: Success, a known ECS error code, Other (an unknown code), Unreachable or Abandoned.",
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
			Help: "Calls per second the provider currently allows itself, by action, region and budget (a digest naming one pacer).",
		}, []string{"action", "region", "budget"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "share_batch_accounts",
			Help:    "Accounts added or removed by one ModifyImageSharePermission call.",
			Buckets: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		}),
		listings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "share_listing_lookups_total",
			Help: "Lookups of an image's share listing: hit (a fresh cached listing), miss (read from ECS), joined (waited for a read in flight).",
		}, []string{"result"}),
		keptPoll: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "kept_poll_seconds",
			Help: "How often each managed resource can be observed: --poll, or more when the resources need more reconciles a second than --max-reconcile-rate allows.",
		}),
		drift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "drift_corrections_total",
			Help: "Shares put back (removed outside the provider) or removed (added outside it, on an exclusive ImageSharing's image) to undo drift, by the kind of managed resource that corrected them.",
		}, []string{"kind"}),
	}
}

// Register adds the metrics to r.
func (m *ECS) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.calls, m.latency, m.throttles, m.pacedRate, m.batchSize, m.listings, m.keptPoll, m.drift} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Call records one finished ECS call. outcome must be one of the Outcome
// constants or what Outcome returned.
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

// PacedRate records the rate that the pacer of budget at endpoint and
// region now allows for action. budget is shown only as BudgetLabel.
func (m *ECS) PacedRate(action, region, budget, endpoint string, perSecond float64) {
	if m == nil {
		return
	}
	m.pacedRate.WithLabelValues(action, region, BudgetLabel(budget, endpoint)).Set(perSecond)
}

// PacerGone deletes the series PacedRate made for a pacer that is no more.
func (m *ECS) PacerGone(action, region, budget, endpoint string) {
	if m == nil {
		return
	}
	m.pacedRate.DeleteLabelValues(action, region, BudgetLabel(budget, endpoint))
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

// KeptPoll records how often each managed resource can be observed.
func (m *ECS) KeptPoll(seconds float64) {
	if m == nil {
		return
	}
	m.keptPoll.Set(seconds)
}

// DriftCorrected records that a resource of kind, one of the provider's
// managed kinds, put back or removed shares to undo drift.
func (m *ECS) DriftCorrected(kind string, shares int) {
	if m == nil {
		return
	}
	m.drift.WithLabelValues(kind).Add(float64(shares))
}
