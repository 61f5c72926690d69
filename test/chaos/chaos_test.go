package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// minRetriesToJudge is how many retries of a stuck resource since the
// provider's last start the run waits for before it judges the backoff:
// 5 waits, 1+2+4+8+16s when exponential.
const minRetriesToJudge = 6

func TestChaos(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	w := newWorld(cfg.seed, cfg.resources)
	var stuckImages []string
	for _, s := range w.stuck {
		stuckImages = append(stuckImages, s.image)
	}
	rec := newCallTimes(stuckImages)
	sim, kube := startSim(t, w.simConfig(), ecssim.WithLogger(slog.New(rec)))
	if err := forEach(w.configObjects(sim.URL), func(o client.Object) error { return create(ctx, kube, o) }); err != nil {
		t.Fatal(err)
	}

	sup := newSupervisor(filepath.Join(work, "chaos-provider.log"),
		"--poll="+cfg.poll.String(), "--sync=1h", "--metrics-bind-address=0", devenv.TenantEndpointsFlag)
	if err := sup.start(); err != nil {
		t.Fatal(err)
	}
	defer sup.stop()
	defer func() {
		if t.Failed() {
			t.Logf("provider log (last 8 KiB):\n%s", sup.logTail(8<<10))
		}
	}()
	if err := sim.SetFaults(chaosFaults(cfg.seed)); err != nil {
		t.Fatal(err)
	}

	p := newPlan(rand.New(rand.NewPCG(uint64(cfg.seed), 2)), cfg)
	t.Logf("plan: %v", p)
	begin := time.Now()
	disruptions := runDisruptions(ctx, t, p, sup, begin)
	if err := createWaves(ctx, kube, w, p, begin); err != nil {
		t.Fatal(err)
	}
	lastDisruption := <-disruptions
	if t.Failed() {
		return
	}

	// Converge with the faults still on: ECS holds exactly what the objects
	// ask for, and every healthy one is Ready. Ready stays True through a
	// failed poll, so this is stable under the faults.
	want := w.desired(true)
	converged, err := waitFor(ctx, sup, 5*time.Minute+time.Duration(cfg.resources)*time.Second, func() (string, error) {
		if msg := compareECS(sim, want); msg != "" {
			return msg, nil
		}
		objs, err := listShares(ctx, kube)
		if err != nil {
			return "", err
		}
		return notAll(w.healthy, objs, func(o observed) bool { return o.ready.Status == corev1.ConditionTrue }, "Ready"), nil
	})
	if err != nil {
		t.Fatalf("did not converge: %v", err)
	}
	t.Logf("converged %v after the last disruption (the chaos ended %v after the start; convergence is checked from then on)",
		converged.Sub(lastDisruption).Round(100*time.Millisecond), cfg.chaos)

	// The storm passes: with only the lag left, every healthy resource is
	// Synced too, and every stuck one names its ECS error.
	if err := sim.SetFaults(ecssim.Faults{Seed: cfg.seed, VisibilityLag: chaosFaults(cfg.seed).VisibilityLag}); err != nil {
		t.Fatal(err)
	}
	settled, err := waitFor(ctx, sup, 2*cfg.poll+2*time.Minute, func() (string, error) {
		objs, err := listShares(ctx, kube)
		if err != nil {
			return "", err
		}
		if msg := notAll(w.healthy, objs, func(o observed) bool {
			return o.ready.Status == corev1.ConditionTrue && o.synced.Status == corev1.ConditionTrue
		}, "Ready and Synced"); msg != "" {
			return msg, nil
		}
		for _, s := range w.stuck {
			o := objs[s.key()]
			if o.synced.Status != corev1.ConditionFalse || !strings.Contains(o.synced.Message, s.code) {
				return fmt.Sprintf("%s: Synced=%s %q, want False naming %s", s.name, o.synced.Status, o.synced.Message, s.code), nil
			}
			if o.ready.Status == corev1.ConditionTrue {
				return s.name + " is Ready", nil
			}
		}
		return compareECS(sim, want), nil
	})
	if err != nil {
		t.Fatalf("did not settle once the faults stopped: %v", err)
	}
	t.Logf("every healthy resource Ready and Synced, every stuck one naming its error, %v after the faults stopped", settled.Sub(converged).Round(100*time.Millisecond))

	// Judge the backoff once each stuck resource has been retried often
	// enough since the last start. A provider that has just started is
	// busy with every resource, so the wait grows with their number.
	starts, _ := sup.history()
	if _, err := waitFor(ctx, sup, 3*time.Minute+time.Duration(cfg.resources)*200*time.Millisecond, func() (string, error) {
		for _, s := range w.stuck {
			if n := len(rec.retriesSince(s.image, starts[len(starts)-1])); n < minRetriesToJudge {
				return fmt.Sprintf("%s retried %d times since the last start", s.name, n), nil
			}
		}
		return "", nil
	}); err != nil {
		t.Errorf("cannot judge the backoff: %v", err)
	}
	starts, crashes := sup.history()
	measured := time.Now()
	stuckReports, errs := checkStuck(w, sim.Simulator, rec, begin, measured, starts, cfg.poll)
	for _, err := range errs {
		t.Error(err)
	}
	if len(crashes) > 0 {
		t.Errorf("the provider exited on its own %d times: %v", len(crashes), crashes)
	}
	objs, err := listShares(ctx, kube)
	if err != nil {
		t.Fatal(err)
	}
	report(t, w, sim.Simulator, objs, stuckReports, begin, measured, starts)
	checkFaultsBit(t, sim.Simulator)

	deleteAll(ctx, t, kube, sim, sup, w)
}

// runDisruptions kills and restarts the provider and kube-apiserver as p
// says and, once the chaos has lasted its length, sends when the last
// disruption ended.
func runDisruptions(ctx context.Context, t *testing.T, p plan, sup *supervisor, begin time.Time) <-chan time.Time {
	type event struct {
		at  time.Duration
		run func()
	}
	var events []event
	for _, k := range p.kills {
		events = append(events, event{k.at, func() {
			sup.kill()
			time.Sleep(k.down)
			if err := sup.start(); err != nil {
				t.Errorf("restarting the provider: %v", err)
			}
		}})
	}
	events = append(events, event{p.apiserver, func() {
		start := time.Now()
		if err := cp.RestartAPIServer(ctx, p.apiserverDown); err != nil {
			t.Errorf("restarting kube-apiserver: %v", err)
			return
		}
		t.Logf("kube-apiserver killed at +%v, serving again %v later", start.Sub(begin).Round(100*time.Millisecond), time.Since(start).Round(100*time.Millisecond))
	}})
	slices.SortFunc(events, func(a, b event) int { return int(a.at - b.at) })
	done := make(chan time.Time, 1)
	go func() {
		for _, e := range events {
			select {
			case <-time.After(time.Until(begin.Add(e.at))):
			case <-ctx.Done():
				done <- time.Now()
				return
			}
			e.run()
		}
		last := time.Now()
		// The chaos lasts its planned length even when the last disruption
		// comes early.
		time.Sleep(time.Until(begin.Add(cfg.chaos)))
		done <- last
	}()
	return done
}

// createWaves creates the stuck shares at once and the healthy ones in the
// plan's waves, each wave while the disruptions go on.
func createWaves(ctx context.Context, kube client.Client, w world, p plan, begin time.Time) error {
	var batch []share
	for _, s := range w.stuck {
		batch = append(batch, s.share)
	}
	from := 0
	for i, at := range p.waves {
		n := int(float64(len(w.healthy)) * p.fractions[i])
		if i == len(p.waves)-1 {
			n = len(w.healthy) - from
		}
		batch = append(batch, w.healthy[from:from+n]...)
		from += n
		time.Sleep(time.Until(begin.Add(at)))
		if err := forEach(batch, func(s share) error { return create(ctx, kube, s.object()) }); err != nil {
			return err
		}
		batch = nil
	}
	return nil
}

// waitFor polls check until it says "" or bound passes; it ends early if
// check errs or the provider crash-loops.
func waitFor(ctx context.Context, sup *supervisor, bound time.Duration, check func() (string, error)) (time.Time, error) {
	return poll(ctx, 2*time.Second, bound, func() error {
		if _, crashes := sup.history(); len(crashes) > 3 {
			return fmt.Errorf("the provider keeps exiting: %v", crashes)
		}
		return nil
	}, check)
}

// poll calls check every interval until it says "" (and returns when) or
// bound passes; it ends early if check errs or broken says waiting is
// pointless.
func poll(ctx context.Context, interval, bound time.Duration, broken func() error, check func() (string, error)) (time.Time, error) {
	deadline := time.Now().Add(bound)
	for {
		msg, err := check()
		if err != nil {
			return time.Time{}, err
		}
		if msg == "" {
			return time.Now(), nil
		}
		if err := broken(); err != nil {
			return time.Time{}, fmt.Errorf("%w; last: %s", err, msg)
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not within %v: %s", bound, msg)
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// notAll says how many of shares lack what ok checks, naming the first.
func notAll(shares []share, objs map[string]observed, ok func(observed) bool, what string) string {
	var bad []string
	for _, s := range shares {
		o, exists := objs[s.key()]
		if !exists || !ok(o) {
			bad = append(bad, fmt.Sprintf("%s (Ready=%s Synced=%s %s)", s.key(), o.ready.Status, o.synced.Status, o.synced.Message))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d not %s, e.g. %s", len(bad), len(shares), what, bad[0])
}

// compareECS compares the simulator's true shares with want, per image,
// and says how many are leaked (shared, not wanted) and missing.
func compareECS(sim *devenv.Simulator, want map[string][]string) string {
	var leaked, missing []string
	for _, img := range slices.Sorted(maps.Keys(want)) {
		got, err := sim.SharedWith(region, img)
		if err != nil {
			return err.Error()
		}
		for _, a := range got {
			if !slices.Contains(want[img], a) {
				leaked = append(leaked, img+":"+a)
			}
		}
		for _, a := range want[img] {
			if !slices.Contains(got, a) {
				missing = append(missing, img+":"+a)
			}
		}
	}
	if len(leaked)+len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("ECS has %d leaked shares %v and %d missing %v", len(leaked), first(leaked, 3), len(missing), first(missing, 3))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// checkFaultsBit fails the run if the faults it meant to inject never
// happened: it would then prove nothing about them.
func checkFaultsBit(t *testing.T, sim *ecssim.Simulator) {
	outcomes := sim.CallsBy(func(c ecssim.Call) string { return c.Outcome }, nil)
	hung := sim.CallsBy(func(ecssim.Call) string { return "hung" }, func(c ecssim.Call) bool { return c.Hung })
	for what, n := range map[string]uint64{
		"throttling":    outcomes[ecssim.CodeThrottlingUser],
		"server errors": outcomes[ecssim.CodeInternalError] + outcomes[ecssim.CodeServiceUnavailable],
		"hung calls":    hung["hung"],
	} {
		if n == 0 {
			t.Errorf("the run saw no %s: the faults did not bite", what)
		}
	}
}

// deleteAll deletes every object, with the faults back on, and checks that
// all go and that ECS is left with only the shares made outside Kubernetes.
// The wrong-key Secret is fixed first, as a person would: while ECS cannot
// be read, the provider cannot know whether a share exists, so rightly keeps
// the object.
func deleteAll(ctx context.Context, t *testing.T, kube client.Client, sim *devenv.Simulator, sup *supervisor, w world) {
	if err := retry(ctx, "fix the wrong-key Secret", func(ctx context.Context) error {
		s := &corev1.Secret{}
		if err := kube.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "wrong-key"}, s); err != nil {
			return err
		}
		s.Data = nil
		s.StringData = secret(nsA, "wrong-key", w.wrongKeyID, w.wrongKeySecret).StringData
		return kube.Update(ctx, s)
	}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetFaults(chaosFaults(cfg.seed + 1)); err != nil {
		t.Fatal(err)
	}
	before := sim.Counters()
	all := append([]share{}, w.healthy...)
	for _, s := range w.stuck {
		all = append(all, s.share)
	}
	begin := time.Now()
	if err := forEach(all, func(s share) error {
		return retry(ctx, "delete "+s.key(), func(ctx context.Context) error {
			return client.IgnoreNotFound(kube.Delete(ctx, s.object()))
		})
	}); err != nil {
		t.Fatal(err)
	}
	gone, err := waitFor(ctx, sup, 3*time.Minute+time.Duration(cfg.resources)*300*time.Millisecond, func() (string, error) {
		objs, err := listShares(ctx, kube)
		if err != nil {
			return "", err
		}
		if len(objs) > 0 {
			o := objs[slices.Min(slices.Collect(maps.Keys(objs)))]
			return fmt.Sprintf("%d objects remain, e.g. %s with finalizers %v (Synced=%s %s)", len(objs), o.key, o.finalizers, o.synced.Status, o.synced.Message), nil
		}
		return compareECS(sim, w.desired(false)), nil
	})
	if err != nil {
		t.Fatalf("deleting everything: %v", err)
	}
	var calls uint64
	for a, m := range sim.Counters() {
		for o, n := range m {
			calls += n - before[a][o]
		}
	}
	t.Logf("deleted %d objects in %v with %d ECS calls (%.1f each, faults on); ECS keeps only the %d shares made elsewhere",
		len(all), gone.Sub(begin).Round(100*time.Millisecond), calls, float64(calls)/float64(len(all)), countAll(w.desired(false)))
}

func countAll(m map[string][]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// Ready time of one resource: from its creation to Ready=True.
func readyAfter(o observed) (time.Duration, bool) {
	if o.ready.Status != corev1.ConditionTrue || o.ready.Reason != xpv2.ReasonAvailable {
		return 0, false
	}
	return o.ready.LastTransitionTime.Sub(o.created), true
}
