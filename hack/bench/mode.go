package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// result is what one mode measured, as the JSON file records it.
type result struct {
	Mode string `json:"mode"`
	// ProviderArgs is the provider's whole command line.
	ProviderArgs []string `json:"providerArgs"`
	RateLimited  bool     `json:"rateLimited"`
	Resources    int      `json:"resources"`
	// Skipped says why the mode did not run; Error why it did not finish.
	Skipped     string `json:"skipped,omitempty"`
	Error       string `json:"error,omitempty"`
	ProviderLog string `json:"providerLog,omitempty"`
	// CreateSeconds is how long creating every object took.
	CreateSeconds float64 `json:"createSeconds,omitempty"`
	// Converge runs from the first create to all Ready.
	Converge *phase `json:"converge,omitempty"`
	// SharesMismatch says how ECS differed from what the objects ask once
	// all were Ready; empty when it did not.
	SharesMismatch string `json:"sharesMismatch,omitempty"`
	// Rest is RestPolls poll intervals with every object Ready.
	Rest      *phase  `json:"atRest,omitempty"`
	RestPolls float64 `json:"atRestPolls,omitempty"`
	// Rollout runs from publishing a new version of every family to every
	// account having it and none the version it replaced.
	Rollout *phase `json:"rollout,omitempty"`
	// Delete runs from deleting every object to none left and no share in ECS.
	Delete *phase `json:"delete,omitempty"`
	// CPUSeconds and PeakRSSBytes are over the provider's whole life.
	CPUSeconds   float64 `json:"cpuSeconds,omitempty"`
	PeakRSSBytes uint64  `json:"peakRSSBytes,omitempty"`
}

// metricsAddress keeps the provider's metrics on, as by default, but on a
// free loopback port: its default :8080 is where `make dev` serves the
// simulator.
const metricsAddress = "127.0.0.1:0"

// restPolls is how many poll intervals the at-rest phase lasts: more than
// two, so that every resource polls at least twice despite the ±10% jitter.
const restPolls = 2.2

// runMode runs the workload once in mode m and returns what it measured.
func runMode(ctx context.Context, w *world, s settings, m mode, stamp string) result {
	args := append([]string{"--poll=" + s.poll.String(), "--metrics-bind-address=" + metricsAddress, devenv.TenantEndpointsFlag}, m.args...)
	r := result{Mode: m.name, ProviderArgs: append(args, s.providerArgs...), RateLimited: m.limited, Resources: s.resources()}
	if missing := w.missingFlags(m.args); len(missing) > 0 {
		r.Skipped = "the provider has no " + strings.Join(missing, ", ") + " flag"
		fmt.Printf("bench: %s: skipped: %s\n", m.name, r.Skipped)
		return r
	}
	fmt.Printf("bench: %s: %d shares as %d %ss (%d images × %d accounts); provider %s\n",
		m.name, r.Resources, m.kind.count(s), m.kind.name, s.images, s.accounts, strings.Join(append(slices.Clone(s.providerEnv), r.ProviderArgs...), " "))
	measureMode := measure
	if m.floor {
		measureMode = func(ctx context.Context, w *world, s settings, m mode, _ string, r *result) error {
			return measureFloor(ctx, w, s, m, r)
		}
	}
	if err := measureMode(ctx, w, s, m, stamp, &r); err != nil {
		r.Error = err.Error()
		fmt.Printf("bench: %s: %v\n", m.name, err)
	}
	return r
}

// measure brings up the mode's simulator, namespace and provider, and runs
// its phases in turn, filling r as it goes.
func measure(ctx context.Context, w *world, s settings, m mode, stamp string, r *result) error {
	ns := "bench-" + m.name
	r.ProviderLog = filepath.Join(s.out, fmt.Sprintf("provider-%s-%s.log", m.name, stamp))
	fmt.Printf("bench: %s: provider log %s\n", m.name, r.ProviderLog)
	// A backlog is created before the provider starts, and its phase
	// begins then, its calls counted from then.
	var begin time.Time
	beforeProvider := func(*devenv.Simulator) error { return nil }
	if m.backlog {
		beforeProvider = func(sim *devenv.Simulator) error {
			t := time.Now()
			if err := createAll(ctx, w.kube, m.kind.objects(s, ns)); err != nil {
				return err
			}
			r.CreateSeconds = time.Since(t).Seconds()
			fmt.Printf("bench: %s: %d created in %.1fs; starting the provider\n", m.name, m.kind.count(s), r.CreateSeconds)
			sim.ResetCounters()
			begin = time.Now()
			return nil
		}
	}
	sim, p, stop, err := startTenant(ctx, w, s, m.limited, ns, r.ProviderLog, r.ProviderArgs, beforeProvider)
	defer stop()
	if err != nil {
		return err
	}

	run := modeRun{w: w, s: s, m: m, ns: ns, sim: sim, p: p, meter: meter{sim: sim.Simulator, pid: p.Pid(), ticks: clockTicks(ctx)}}
	if m.backlog {
		err = run.settle(ctx, r, run.meter.since(begin, usage{}), "the provider started")
	} else {
		err = run.converge(ctx, r)
	}
	if err != nil {
		return err
	}
	if err := run.rest(ctx, r); err != nil {
		return err
	}
	if m.rollout {
		if err := run.rollout(ctx, r); err != nil {
			return err
		}
	}
	if err := run.remove(ctx, r); err != nil {
		return err
	}
	// The peak is the whole run's: read it just before the provider stops.
	u, err := readUsage(p.Pid(), run.meter.ticks)
	if err != nil {
		return err
	}
	r.CPUSeconds, r.PeakRSSBytes = u.cpu.Seconds(), u.peakRSS
	return nil
}

// startTenant brings up what a measurement runs against: a simulator
// serving the tenant's account (ECS-like rate limits if limited), the
// tenant's namespace ns with its Secret and ProviderConfig, then, after
// beforeProvider, the provider with args, logging to logPath, started and
// watching. stop, to be called even on an error, stops what was started.
func startTenant(ctx context.Context, w *world, s settings, limited bool, ns, logPath string, args []string, beforeProvider func(*devenv.Simulator) error) (*devenv.Simulator, *devenv.Provider, func(), error) {
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	ownerSecret := rand.Text()
	sim, err := devenv.StartSimulator(simConfig(s, limited, ownerSecret), "127.0.0.1:0") //nolint:contextcheck // It serves until stopped, not for a context's life.
	if err != nil {
		return nil, nil, stop, err
	}
	stops = append(stops, func() { _ = sim.Stop() }) //nolint:contextcheck // Stopping must not depend on a context that may have ended.
	if err := createAll(ctx, w.kube, tenantObjects(ns, sim.URL, ownerSecret)); err != nil {
		return nil, nil, stop, err
	}
	if err := beforeProvider(sim); err != nil {
		return nil, nil, stop, err
	}
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, stop, err
	}
	stops = append(stops, func() { _ = log.Close() })
	p, err := devenv.StartProviderEnv(w.bin, w.cp.Kubeconfig, s.providerEnv, log, args...)
	if err != nil {
		return nil, nil, stop, err
	}
	stops = append(stops, func() { _ = p.Stop(30 * time.Second) })
	if err := waitFor(ctx, p, s.timeout, providerUp(w.kube, ns)); err != nil {
		return nil, nil, stop, fmt.Errorf("waiting for the provider to start: %w", err)
	}
	return sim, p, stop, nil
}

// modeRun is one mode's world while it runs.
type modeRun struct {
	w     *world
	s     settings
	m     mode
	ns    string
	sim   *devenv.Simulator
	p     *devenv.Provider
	meter meter
}

// converge creates every object at once, while the provider runs, and
// waits until all are Ready.
func (run modeRun) converge(ctx context.Context, r *result) error {
	end, err := run.meter.start()
	if err != nil {
		return err
	}
	begin := time.Now()
	if err := createAll(ctx, run.w.kube, run.m.kind.objects(run.s, run.ns)); err != nil {
		return err
	}
	r.CreateSeconds = time.Since(begin).Seconds()
	fmt.Printf("bench: %s: %d created in %.1fs\n", run.m.name, run.m.kind.count(run.s), r.CreateSeconds)
	return run.settle(ctx, r, end, "the first create")
}

// settle waits until every object is Ready, and ends the converge phase,
// which began at since.
func (run modeRun) settle(ctx context.Context, r *result, end func() (phase, error), since string) error {
	if err := waitFor(ctx, run.p, run.s.timeout, allReady(run.w.kube, run.ns, run.m.kind, run.m.kind.count(run.s))); err != nil {
		return fmt.Errorf("waiting for all Ready: %w", err)
	}
	ph, err := end()
	if err != nil {
		return err
	}
	r.Converge = &ph
	r.SharesMismatch = sharesMismatch(run.sim.Simulator, run.s)
	state := "ECS holds every share"
	if r.SharesMismatch != "" {
		state = "but ECS differs: " + r.SharesMismatch
	}
	fmt.Printf("bench: %s: all Ready %.1fs after %s, %d ECS calls; %s\n", run.m.name, ph.Seconds, since, ph.Calls.total(), state)
	fmt.Printf("bench: %s: Modify calls each second (+throttled): %s\n", run.m.name, strings.Join(ph.Timeline, " "))
	return nil
}

// rest counts the calls the provider makes to keep every object Ready.
func (run modeRun) rest(ctx context.Context, r *result) error {
	window := time.Duration(restPolls * float64(run.s.poll))
	fmt.Printf("bench: %s: at rest for %v (%.1f polls)\n", run.m.name, window, restPolls)
	end, err := run.meter.start()
	if err != nil {
		return err
	}
	if err := sleep(ctx, run.p, window); err != nil {
		return err
	}
	ph, err := end()
	if err != nil {
		return err
	}
	r.Rest, r.RestPolls = &ph, ph.Seconds/run.s.poll.Seconds()
	fmt.Printf("bench: %s: at rest: %d Describe, %d Modify calls\n", run.m.name, ph.Calls.action(describeCall), ph.Calls.action(modifyCall))
	return nil
}

// remove deletes every object at once and waits until none is left and ECS
// holds no share.
func (run modeRun) remove(ctx context.Context, r *result) error {
	end, err := run.meter.start()
	if err != nil {
		return err
	}
	if err := deleteAll(ctx, run.w.kube, run.m.kind.objects(run.s, run.ns)); err != nil {
		return err
	}
	images := imageIDs(run.s.images)
	for i := range run.s.images {
		if r.Rollout != nil {
			images = append(images, newVersionID(i))
		}
	}
	if err := waitFor(ctx, run.p, run.s.timeout, allGone(run.w.kube, run.ns, run.m.kind, run.sim.Simulator, images)); err != nil {
		return fmt.Errorf("waiting for all deleted: %w", err)
	}
	ph, err := end()
	if err != nil {
		return err
	}
	r.Delete = &ph
	fmt.Printf("bench: %s: all deleted in %.1fs, %d ECS calls\n", run.m.name, ph.Seconds, ph.Calls.total())
	return nil
}

// rollout publishes a new version of every image's family, as an image
// pipeline would, and waits until every account has the new version and
// none the one it replaced.
func (run modeRun) rollout(ctx context.Context, r *result) error {
	end, err := run.meter.start()
	if err != nil {
		return err
	}
	for i := range run.s.images {
		if _, err := run.sim.PublishVersion(region, familyName(i), ecssim.Image{ID: newVersionID(i)}); err != nil {
			return err
		}
	}
	if err := waitFor(ctx, run.p, run.s.timeout, rolledOut(run.sim.Simulator, run.s)); err != nil {
		return fmt.Errorf("waiting for the new versions: %w", err)
	}
	ph, err := end()
	if err != nil {
		return err
	}
	r.Rollout = &ph
	fmt.Printf("bench: %s: new versions shared, old ones unshared, in %.1fs, %d ECS calls\n", run.m.name, ph.Seconds, ph.Calls.total())
	fmt.Printf("bench: %s: Modify calls each second (+throttled): %s\n", run.m.name, strings.Join(ph.Timeline, " "))
	return nil
}
