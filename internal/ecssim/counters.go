package ecssim

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Call is what the counters know of one ECS, STS or metadata call: enough
// to attribute it to a caller (the AccessKey, who it proved to be, the
// client's User-Agent) and to what it was about (the image), so that a test
// can tell which resource or which process made it.
type Call struct {
	Action string `json:"action"`
	// Outcome is "Success" or the error code answered (for the metadata
	// surface, the HTTP status text without spaces, such as "Unauthorized").
	Outcome string `json:"outcome"`
	// AccessKeyID is the key the call was signed with, whether or not the
	// signature held; empty when it named none.
	AccessKeyID string `json:"accessKeyId,omitempty"`
	// Principal is the ARN the call authenticated as:
	// acs:ram::<account>:root, acs:ram::<account>:user/<user> or
	// acs:ram::<account>:assumed-role/<role>/<session>. Empty when it did not
	// authenticate, and for anonymous and metadata calls.
	Principal string `json:"principal,omitempty"`
	Region    string `json:"region,omitempty"`
	Image     string `json:"image,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	// Hung is set when Faults.HangRate held the answer back.
	Hung bool `json:"hung,omitempty"`
	// Accounts is how many AddAccount.N and RemoveAccount.N entries a
	// ModifyImageSharePermission call carried (at most 20), so that a test
	// can tell a batched write's short calls from its full ones.
	Accounts int `json:"accounts,omitempty"`
}

// Limits on what attribution remembers: callers choose image ids and
// User-Agents, and a long-running simulator must not grow without bound.
const (
	maxAttributedCalls = 10000
	maxAttributeLen    = 256
	// overflowAttribute stands for the attribution of calls past
	// maxAttributedCalls distinct ones; they are still counted.
	overflowAttribute = "(overflow)"
)

// callCounters counts ECS calls by everything a Call records; counts by
// action and outcome are sums over it. It is guarded by the Simulator's
// mutex.
type callCounters map[Call]uint64

func (c callCounters) add(call Call) {
	for _, s := range []*string{&call.AccessKeyID, &call.Principal, &call.Region, &call.Image, &call.UserAgent} {
		if len(*s) > maxAttributeLen {
			*s = strings.ToValidUTF8((*s)[:maxAttributeLen], "")
		}
	}
	if _, seen := c[call]; !seen && len(c) >= maxAttributedCalls {
		call.AccessKeyID, call.Principal, call.Region, call.Image, call.UserAgent = overflowAttribute, overflowAttribute,
			overflowAttribute, overflowAttribute, overflowAttribute
	}
	c[call]++
}

// byAction sums the calls by action and outcome.
func (c callCounters) byAction() map[string]map[string]uint64 {
	out := map[string]map[string]uint64{}
	for call, n := range c {
		if out[call.Action] == nil {
			out[call.Action] = map[string]uint64{}
		}
		out[call.Action][call.Outcome] += n
	}
	return out
}

// outcomeOf is how a call's result is counted.
func outcomeOf(err *APIError) string {
	if err != nil {
		return err.Code
	}
	return "Success"
}

// Counters returns a copy of the call counters: action → outcome → calls.
func (s *Simulator) Counters() map[string]map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls.byAction()
}

// Calls is how many calls of action were answered, whatever the outcome.
func (s *Simulator) Calls(action string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for c, v := range s.calls {
		if c.Action == action {
			n += v
		}
	}
	return n
}

// CallsBy counts the calls keep accepts (all when keep is nil), grouped by
// what group says of each.
func (s *Simulator) CallsBy(group func(Call) string, keep func(Call) bool) map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]uint64{}
	for c, n := range s.calls {
		if keep == nil || keep(c) {
			out[group(c)] += n
		}
	}
	return out
}

// CallsByUserAgent counts calls by the User-Agent they were sent with.
func (s *Simulator) CallsByUserAgent() map[string]uint64 {
	return s.CallsBy(callGroups["userAgent"], nil)
}

// callGroups are the ways the control API groups calls: GET
// /_sim/calls?by=<group>.
var callGroups = map[string]func(Call) string{
	"action":      func(c Call) string { return c.Action },
	"outcome":     func(c Call) string { return c.Outcome },
	"accessKeyId": func(c Call) string { return c.AccessKeyID },
	"principal":   func(c Call) string { return c.Principal },
	"image":       func(c Call) string { return c.Region + "/" + c.Image },
	"userAgent":   func(c Call) string { return c.UserAgent },
	"accounts":    func(c Call) string { return strconv.Itoa(c.Accounts) },
}

// ResetCounters zeroes the call counters and nothing else.
func (s *Simulator) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = callCounters{}
}

var callsDesc = prometheus.NewDesc("ecssim_calls_total",
	"ECS, STS and metadata calls answered by the simulator, by action and outcome (Success or the error code).",
	[]string{"action", "outcome"}, nil)

// countersCollector exports the counters; reading them through the
// Simulator keeps one source of truth for the control API and Prometheus.
type countersCollector struct{ s *Simulator }

func (countersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- callsDesc }

func (c countersCollector) Collect(ch chan<- prometheus.Metric) {
	for action, m := range c.s.Counters() {
		for result, n := range m {
			ch <- prometheus.MustNewConstMetric(callsDesc, prometheus.CounterValue, float64(n), action, result)
		}
	}
}
