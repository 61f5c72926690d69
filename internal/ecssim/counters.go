package ecssim

import (
	"maps"

	"github.com/prometheus/client_golang/prometheus"
)

// callCounters counts ECS calls by action and outcome ("Success" or the
// error code). It is guarded by the Simulator's mutex.
type callCounters map[string]map[string]uint64

func (c callCounters) add(action string, err *APIError) {
	result := "Success"
	if err != nil {
		result = err.Code
	}
	if c[action] == nil {
		c[action] = map[string]uint64{}
	}
	c[action][result]++
}

// Counters returns a copy of the call counters: action → outcome → calls.
func (s *Simulator) Counters() map[string]map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]uint64{}
	for a, m := range s.calls {
		out[a] = maps.Clone(m)
	}
	return out
}

// Calls is how many calls of action were answered, whatever the outcome.
func (s *Simulator) Calls(action string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n uint64
	for _, v := range s.calls[action] {
		n += v
	}
	return n
}

// ResetCounters zeroes the call counters and nothing else.
func (s *Simulator) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = callCounters{}
}

var callsDesc = prometheus.NewDesc("ecssim_calls_total",
	"ECS API calls answered by the simulator, by action and outcome (Success or the ECS error code).",
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
