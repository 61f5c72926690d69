package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// calls are ECS calls by action and outcome, as the simulator counts them.
type calls map[string]map[string]uint64

func (c calls) total() uint64 {
	var n uint64
	for _, m := range c {
		for _, v := range m {
			n += v
		}
	}
	return n
}

func (c calls) action(a string) uint64 {
	var n uint64
	for _, v := range c[a] {
		n += v
	}
	return n
}

func (c calls) outcome(o string) uint64 {
	var n uint64
	for _, m := range c {
		n += m[o]
	}
	return n
}

// ECS's sizes: a Describe page lists up to 100 accounts, a Modify call adds
// up to 10.
const (
	describePageSize = 100
	modifyBatch      = 10
)

// minCalls is the fewest calls of each action that can share images images
// with accounts accounts each: one Describe page and one Modify per batch,
// per image.
func minCalls(images, accounts int) map[string]int {
	ceilDiv := func(a, b int) int { return (a + b - 1) / b }
	return map[string]int{
		describeCall: images * ceilDiv(accounts, describePageSize),
		modifyCall:   images * ceilDiv(accounts, modifyBatch),
	}
}

// rateBound is how long ECS's rate limits make those calls take at least:
// the slowest action's calls past its burst, at its rate.
func rateBound(minimum map[string]int, rates map[string]ecssim.Rate) time.Duration {
	var bound float64
	for action, n := range minimum {
		if r, ok := rates[action]; ok && r.PerSecond > 0 {
			bound = math.Max(bound, math.Max(0, float64(n-r.Burst))/r.PerSecond)
		}
	}
	return time.Duration(bound * float64(time.Second))
}

// usage is what the kernel says a process has used so far.
type usage struct {
	cpu time.Duration
	// peakRSS is the most resident memory it has had, in bytes.
	peakRSS uint64
}

// readUsage reads pid's CPU time and peak resident memory from /proc.
func readUsage(pid int, ticks int64) (usage, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return usage{}, err
	}
	cpu, err := parseStat(string(stat), ticks)
	if err != nil {
		return usage{}, err
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return usage{}, err
	}
	rss, err := parseStatus(string(status))
	return usage{cpu: cpu, peakRSS: rss}, err
}

// parseStat reads utime and stime, fields 14 and 15 of /proc/<pid>/stat,
// in clock ticks. The command name, field 2, is in parentheses and may
// hold spaces and parentheses of its own, so fields count from its end.
func parseStat(stat string, ticks int64) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("/proc/<pid>/stat: no command name")
	}
	// After the name: state (3), ppid (4), ..., utime (14), stime (15).
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/<pid>/stat: %d fields after the command name, want at least 13", len(f))
	}
	var sum int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/<pid>/stat: %w", err)
		}
		sum += n
	}
	return time.Duration(sum) * time.Second / time.Duration(ticks), nil
}

// parseStatus reads VmHWM, the peak resident set, from /proc/<pid>/status.
func parseStatus(status string) (uint64, error) {
	for line := range strings.Lines(status) {
		v, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/<pid>/status VmHWM: %w", err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("/proc/<pid>/status has no VmHWM")
}

// clockTicks is the kernel's USER_HZ, which /proc/<pid>/stat counts in.
func clockTicks(ctx context.Context) int64 {
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 100 // USER_HZ on every Linux architecture Go builds for
}

// phase is one measured stretch of a mode: its ECS calls (the counters are
// zeroed at its start) and the provider's CPU over it.
type phase struct {
	Seconds    float64 `json:"seconds"`
	Calls      calls   `json:"calls"`
	CPUSeconds float64 `json:"cpuSeconds"`
	// Timeline is the Modify calls of each second of the phase, as
	// "successes" or "successes+throttled": where the pacing lost time.
	Timeline []string `json:"modifyTimeline,omitempty"`
}

// meter measures phases of one provider process against one simulator.
type meter struct {
	sim   *ecssim.Simulator
	pid   int
	ticks int64
}

// start zeroes the counters and returns what end needs.
func (m meter) start() (func() (phase, error), error) {
	before, err := readUsage(m.pid, m.ticks)
	if err != nil {
		return nil, err
	}
	m.sim.ResetCounters()
	return m.since(time.Now(), before), nil
}

// sample reads the Modify counters once a second until the returned
// function is called, which returns each second's calls.
func (m meter) sample() func() []string {
	done := make(chan struct{})
	var timeline []string
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var ok, throttled uint64
		read := func() {
			c := calls(m.sim.Counters())
			o, th := c[modifyCall]["Success"], c[modifyCall][ecssim.CodeThrottlingUser]
			entry := strconv.FormatUint(o-ok, 10)
			if th > throttled {
				entry += "+" + strconv.FormatUint(th-throttled, 10)
			}
			timeline = append(timeline, entry)
			ok, throttled = o, th
		}
		for {
			select {
			case <-done:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() []string {
		close(done)
		<-finished
		return timeline
	}
}

// since returns what ends a phase that began at begin, when the counters
// were zeroed and the provider had used before (nothing, if it started
// after).
func (m meter) since(begin time.Time, before usage) func() (phase, error) {
	stop := m.sample()
	return func() (phase, error) {
		took := time.Since(begin)
		timeline := stop()
		after, err := readUsage(m.pid, m.ticks)
		if err != nil {
			return phase{}, err
		}
		return phase{Seconds: took.Seconds(), Calls: m.sim.Counters(), CPUSeconds: (after.cpu - before.cpu).Seconds(), Timeline: timeline}, nil
	}
}
