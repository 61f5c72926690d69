package chaos

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	pcv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/hostile"
)

// The bounds TestHostileTenants asserts. They are safety bounds, far from
// what a healthy provider needs, so that a slow machine does not fail the
// run; the run prints the figures themselves.
const (
	// maxHostileRSS bounds the provider's resident memory over the whole
	// run. A provider with this suite's few dozen objects lives in well
	// under 100 MiB; an answer it reads is at most about 1 MiB once its own
	// HTTP client bounds bodies, and few calls are in flight at once. One
	// gzip bomb read whole is 1 GiB, and one huge answer 100 MiB.
	maxHostileRSS = 512 << 20
	// rssKillAt is the memory limit the run gives the provider, as a pod's
	// limit would: above it the run SIGKILLs the process, as the OOM killer
	// would, so that an unbounded provider cannot take the machine (and the
	// other engineers' processes) with it. It counts as a crash.
	rssKillAt = 3 << 30
	// maxMessage bounds every condition message of the hostile tenant's
	// objects, and every event message in its namespace.
	maxMessage = 1 << 10
	// maxSeries bounds the provider's alibabacloud_ecs_* series: a few
	// dozen actions, outcomes, regions and keys, and histogram buckets.
	maxSeries = 500
	// maxOutcomes bounds the distinct outcome label values of
	// alibabacloud_ecs_api_calls_total: ECS's known codes and a few more.
	// The codes endpoint sends a new code at every call; a label taken as
	// sent grows by one series per call.
	maxOutcomes = 32
	// goodReadyBound is how long the good tenant's shares may take to
	// become Ready while the hostile tenant does its worst. Unhindered they
	// take a few seconds.
	goodReadyBound = 60 * time.Second
)

// The shape of TestHostileTenants' run.
const (
	// hostileWindow is how long the hostile tenant's churn goes on; its
	// objects stay until the end of the run.
	hostileWindow = 75 * time.Second
	// goodAfter is when the good tenant creates its shares, after the
	// hostile tenant's objects: once the first calls to hostile endpoints
	// are in flight.
	goodAfter = 10 * time.Second
	// goodShares is how many shares the good tenant creates.
	goodShares = 10
	// hostileShares is how many ImageSharePermissions use each hostile
	// mode, each on an image of its own so that no listing read is shared:
	// chainShares through the configuration with an assumeRoleChain (so
	// AssumeRole calls the hostile STS endpoint, and ECS is never reached),
	// the rest through the one without (so ECS is called).
	hostileShares = 8
	chainShares   = 4
	// codesShares are the codes mode's: more, so that it sends well over
	// maxOutcomes distinct codes to ECS calls within the run.
	codesShares = 24
	// churnAlive is how many of the churner's ProviderConfigs live at once.
	churnAlive = 4
	// rssEvery and scrapeEvery are how often the run samples the provider's
	// memory and reads its metrics.
	rssEvery    = 250 * time.Millisecond
	scrapeEvery = 5 * time.Second
)

// Names of TestHostileTenants' objects.
const (
	nsGood, nsEvil   = "good-tenant", "hostile-tenant"
	goodAccount      = "8000000000000008"
	goodKeyID        = "LTAIhostileGood00001"
	hostileRoleARN   = "acs:ram::9000000000000009:role/hostile"
	tenantEndpoints  = devenv.TenantEndpointsFlag
	describeAction   = "DescribeImageSharePermission"
	ecsMetricsPrefix = "alibabacloud_ecs_"
)

// hostileConfig is one of the hostile tenant's ProviderConfigs.
type hostileConfig struct {
	mode  hostile.Mode
	name  string
	chain bool
}

// TestHostileTenants runs one provider for two tenants of one cluster. The
// hostile tenant points namespaced ProviderConfigs at endpoints of its own
// (internal/ecssim/hostile) that answer every ECS and STS call with a gzip
// bomb, a huge body, a redirect, silence or an endless variety of long
// error codes, puts ImageSharePermissions on them, and creates and deletes
// ProviderConfigs all along. The good tenant meanwhile shares images
// through the simulator. The provider must stay up within a memory bound,
// follow no redirect, keep every message it writes short and its metrics
// few, and serve the good tenant in time.
//
// The provider runs with --tenant-endpoints=127.0.0.1, which admits the
// loopback endpoints for namespaced ProviderConfigs (its default admits
// only *.aliyuncs.com): the hostile answers must reach it to be survived.
// The run prints its figures before its verdicts.
func TestHostileTenants(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	evil, err := hostile.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Stop()

	goodSecret := fmt.Sprintf("hostile-good-secret-%d", cfg.seed)
	simCfg := ecssim.Config{AcceptAnyAccount: true, Accounts: []ecssim.Account{{ID: goodAccount, AccessKeys: []ecssim.AccessKey{{ID: goodKeyID, Secret: goodSecret}}}}}
	var good []share
	for i := range goodShares {
		image := fmt.Sprintf("m-good%03d", i%2)
		if i < 2 {
			simCfg.Images = append(simCfg.Images, ecssim.Image{ID: image, Region: region, Owner: goodAccount})
		}
		good = append(good, share{name: fmt.Sprintf("good-%03d", i), namespace: nsGood, configKind: kindPC, config: "good",
			image: image, account: fmt.Sprintf("81%014d", i)})
	}
	sim, kube := startSim(t, simCfg)
	configs, evilShares := hostileWorld()
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsGood}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsEvil}},
		secret(nsGood, "good", goodKeyID, goodSecret),
		&pcv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: nsGood, Name: "good"}, Spec: configSpec(sim.URL, nsGood, "good")},
	} {
		if err := create(ctx, kube, o); err != nil {
			t.Fatal(err)
		}
	}
	// Once the provider has stopped: nothing of this test may be left for
	// the next, whose checks list every namespace's objects.
	defer removeAll(ctx, t, kube, nsGood, nsEvil)

	metricsAddr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	metricsURL := "http://" + metricsAddr + "/metrics"
	sup := newSupervisor(filepath.Join(work, "hostile-provider.log"),
		"--poll="+cfg.poll.String(), "--sync=1h", "--metrics-bind-address="+metricsAddr, tenantEndpoints)
	if err := sup.start(); err != nil {
		t.Fatal(err)
	}
	defer sup.stop()
	defer func() {
		if t.Failed() {
			t.Logf("provider log (last 8 KiB):\n%s", sup.logTail(8<<10))
		}
	}()
	if err := waitServing(ctx, sup, metricsURL); err != nil {
		t.Fatalf("the provider did not start serving (%s is one of its flags; does this build know it?): %v", tenantEndpoints, err)
	}
	w := watch(sup, metricsURL)
	defer w.stop()

	// The hostile tenant moves in.
	var objs []client.Object
	for _, c := range configs {
		objs = append(objs, secret(nsEvil, c.name, hostileKeyID(c.name), "hostile"),
			&pcv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: nsEvil, Name: c.name}, Spec: hostileSpec(evil.URL(c.mode), c.name, c.chain)})
	}
	if err := forEach(objs, func(o client.Object) error { return create(ctx, kube, o) }); err != nil {
		t.Fatal(err)
	}
	if err := forEach(evilShares, func(s share) error { return create(ctx, kube, s.object()) }); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	w.mark("hostile objects created")
	ch := churn(ctx, kube, evil, rand.New(rand.NewPCG(uint64(cfg.seed), 3)))

	// The good tenant shares, meanwhile.
	sleepUntil(ctx, begin.Add(goodAfter))
	if err := forEach(good, func(s share) error { return create(ctx, kube, s.object()) }); err != nil {
		t.Fatal(err)
	}
	goodBegin := time.Now()
	w.mark("good shares created")
	ready, goodErr := poll(ctx, time.Second, goodReadyBound+30*time.Second, func() error { return nil }, func() (string, error) {
		objs, err := listShares(ctx, kube)
		if err != nil {
			return "", err
		}
		return notAll(good, objs, func(o observed) bool { return o.ready.Status == corev1.ConditionTrue }, "Ready"), nil
	})
	goodTook := ready.Sub(goodBegin)
	w.mark("good shares Ready")

	sleepUntil(ctx, begin.Add(hostileWindow))
	churned, churnErrs := ch.stop()
	w.mark("churn stopped")
	// One last look at everything, while the provider still runs.
	w.sample()
	w.scrape()
	hwm := w.highWaterMark()
	msgs, noMessages, err := longestMessages(ctx, kube)
	if err != nil {
		t.Fatal(err)
	}
	w.stop()
	starts, crashes := sup.history()

	// The figures, whatever the verdicts.
	r := hostileReport{
		starts: len(starts), crashes: crashes, guardKills: w.kills(), peakRSS: max(w.peak(), hwm), hwm: hwm,
		timeline: w.timelineString(), goodTook: goodTook, goodErr: goodErr, churned: churned, churnErrs: churnErrs,
		target: evil.TargetRequests(), msgs: msgs, metrics: w.metricsFigures(),
	}
	for _, m := range hostile.Modes() {
		r.modes = append(r.modes, evil.Stats(m))
	}
	t.Log(r.String())

	// The verdicts.
	if len(crashes) > 0 || len(starts) != 1 {
		t.Errorf("the provider exited %d times (%d of them killed at the %d MiB memory limit) and started %d times: want 1 start and no exit; exits: %v",
			len(crashes), len(r.guardKills), rssKillAt>>20, len(starts), crashes)
	}
	if r.peakRSS > maxHostileRSS {
		t.Errorf("the provider's resident memory peaked at %d MiB: want at most %d MiB", r.peakRSS>>20, maxHostileRSS>>20)
	}
	if r.target != 0 {
		t.Errorf("the redirect target got %d requests: the provider followed redirects from a tenant's endpoint", r.target)
	}
	for _, st := range r.modes {
		if st.Requests == 0 {
			t.Errorf("the %s endpoint got no request: the provider never called it, so the run proves nothing about it (is 127.0.0.1 admitted by %s?)", st.Mode, tenantEndpoints)
		}
	}
	for _, m := range msgs {
		if m.length > maxMessage {
			t.Errorf("%s has a message of %d bytes: want at most %d; it starts %.120q", m.where, m.length, maxMessage, m.start)
		}
	}
	if len(noMessages) > 0 {
		t.Errorf("the hostile tenant has no %v message at all: nothing to judge their length by", noMessages)
	}
	mf := r.metrics
	if mf.maxSeries > maxSeries {
		t.Errorf("the provider served up to %d %s* series: want at most %d", mf.maxSeries, ecsMetricsPrefix, maxSeries)
	}
	codesDescribe := evil.Stats(hostile.Codes).Actions[describeAction]
	if len(mf.outcomes) > maxOutcomes {
		t.Errorf("api_calls_total has %d distinct outcome values after %d %s calls answered with random codes: want at most %d, whatever the endpoint answers",
			len(mf.outcomes), codesDescribe, describeAction, maxOutcomes)
	}
	if codesDescribe < 2*maxOutcomes {
		t.Errorf("the codes endpoint answered only %d %s calls, half of them with short messages: too few to tell bounded outcome labels from unbounded ones (want at least %d)",
			codesDescribe, describeAction, 2*maxOutcomes)
	}
	if mf.scrapes == 0 {
		t.Errorf("the metrics endpoint never answered: %v", mf.lastErr)
	}
	switch {
	case goodErr != nil:
		t.Errorf("the good tenant's %d shares did not all become Ready: %v", goodShares, goodErr)
	case goodTook > goodReadyBound:
		t.Errorf("the good tenant's %d shares took %v to become Ready: want at most %v", goodShares, goodTook.Round(100*time.Millisecond), goodReadyBound)
	}
	if got := sim.Counters(); len(got) == 0 {
		t.Error("the simulator saw no call: the good tenant was never served")
	}
}

// hostileWorld is the hostile tenant's ProviderConfigs, two per mode (one
// with an assumeRoleChain, one without), and its ImageSharePermissions.
func hostileWorld() ([]hostileConfig, []share) {
	var configs []hostileConfig
	var shares []share
	for mi, m := range hostile.Modes() {
		chain, direct := hostileConfig{mode: m, name: string(m) + "-sts", chain: true}, hostileConfig{mode: m, name: string(m) + "-ecs"}
		configs = append(configs, chain, direct)
		n := hostileShares
		if m == hostile.Codes {
			n = codesShares
		}
		for i := range n {
			c := direct
			if i < chainShares {
				c = chain
			}
			shares = append(shares, share{name: fmt.Sprintf("%s-%02d", m, i), namespace: nsEvil, configKind: kindPC, config: c.name,
				image: fmt.Sprintf("m-hostile%d%03d", mi, i), account: fmt.Sprintf("9%015d", mi*1000+i)})
		}
	}
	return configs, shares
}

// hostileSpec points ECS and STS at url, with the Secret name of the
// hostile namespace, and with a one-hop assumeRoleChain if chain. It sets no
// timeouts: the provider's defaults apply.
func hostileSpec(url, secretName string, chain bool) common.ProviderConfigSpec {
	s := common.ProviderConfigSpec{
		Endpoint: &url, STSEndpoint: &url,
		Credentials: common.ProviderCredentials{
			Source: xpv2.CredentialsSourceSecret,
			CommonCredentialSelectors: xpv2.CommonCredentialSelectors{SecretRef: &xpv2.SecretKeySelector{
				SecretReference: xpv2.SecretReference{Namespace: nsEvil, Name: secretName}, Key: "credentials",
			}},
		},
	}
	if chain {
		s.AssumeRoleChain = []common.AssumeRoleHop{{RoleARN: hostileRoleARN}}
	}
	return s
}

// hostileKeyID is an AccessKey ID of its own for each hostile Secret.
func hostileKeyID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("LTAIhostile%x", sum[:5])
}

// sleepUntil sleeps until at, or until ctx ends.
func sleepUntil(ctx context.Context, at time.Time) {
	select {
	case <-time.After(time.Until(at)):
	case <-ctx.Done():
	}
}

// freeLoopbackAddr is a loopback address with a port free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitServing waits for the provider's metrics endpoint to answer, and gives
// up as soon as the provider has exited: a flag it does not know ends it at
// once.
func waitServing(ctx context.Context, sup *supervisor, url string) error {
	_, err := poll(ctx, 500*time.Millisecond, time.Minute, func() error {
		if _, crashes := sup.history(); len(crashes) > 0 {
			return fmt.Errorf("the provider exited: %v; its log ends: %s", crashes, lastLines(sup.logTail(2<<10), 5))
		}
		return nil
	}, func() (string, error) {
		// Not serving yet is what poll waits out, not a failure.
		_, err := scrapeMetrics(ctx, url)
		return notYet(err), nil
	})
	return err
}

// notYet is what poll shows while err says the provider is not ready.
func notYet(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// current is the provider process running now, if any.
func (s *supervisor) current() *devenv.Provider {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p
}

// churner creates and deletes ProviderConfigs (each with a Secret of its
// own, holding a new random AccessKey ID) in the hostile namespace, each
// pointed at a random hostile mode, with or without a chain.
type churner struct {
	done    chan struct{}
	stopped chan struct{}
	created int
	errs    []string
}

func churn(ctx context.Context, kube client.Client, evil *hostile.Server, rng *rand.Rand) *churner {
	c := &churner{done: make(chan struct{}), stopped: make(chan struct{})}
	modes := hostile.Modes()
	var alive []string
	remove := func(name string) {
		for _, o := range []client.Object{
			&pcv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: nsEvil, Name: name}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: nsEvil, Name: name}},
		} {
			if err := client.IgnoreNotFound(kube.Delete(ctx, o)); err != nil && len(c.errs) < 5 {
				c.errs = append(c.errs, err.Error())
			}
		}
	}
	go func() {
		defer close(c.stopped)
		for {
			select {
			case <-c.done:
				for _, name := range alive {
					remove(name)
				}
				return
			case <-ctx.Done():
				return
			case <-time.After(500*time.Millisecond + time.Duration(rng.Int64N(int64(time.Second)))):
			}
			name := fmt.Sprintf("churn-%08x", rng.Uint32())
			m := modes[rng.IntN(len(modes))]
			key := fmt.Sprintf("LTAIchurn%011d", rng.Int64N(1e11))
			err := kube.Create(ctx, secret(nsEvil, name, key, "churn"))
			if err == nil {
				err = kube.Create(ctx, &pcv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: nsEvil, Name: name},
					Spec: hostileSpec(evil.URL(m), name, rng.IntN(2) == 0)})
			}
			if err != nil {
				if len(c.errs) < 5 {
					c.errs = append(c.errs, err.Error())
				}
				remove(name)
				continue
			}
			c.created++
			if alive = append(alive, name); len(alive) > churnAlive {
				remove(alive[0])
				alive = alive[1:]
			}
		}
	}()
	return c
}

// stop ends the churn, deleting what it left, and says how many
// ProviderConfigs it created and its first errors.
func (c *churner) stop() (int, []string) {
	close(c.done)
	<-c.stopped
	return c.created, c.errs
}

// watcher samples the provider's memory and reads its metrics while the
// run goes on, and kills it above rssKillAt.
type watcher struct {
	sup        *supervisor
	metricsURL string
	begin      time.Time
	done       chan struct{}
	wg         sync.WaitGroup
	stopOnce   sync.Once

	mu      sync.Mutex
	peakRSS int64
	peakAt  time.Duration
	buckets []int64 // peak RSS per 10s since begin
	marks   []string
	guard   []string
	metrics metricsFigures
	lastPid int
	lastHWM int64
}

// metricsFigures are what the run read from the metrics endpoint.
type metricsFigures struct {
	scrapes              int
	maxSeries, lastSerie int
	firstSeries          int // at the first read, scrapeEvery after the hostile tenant moved in
	maxBytes             int64
	longestLine          int
	outcomes             map[string]bool // api_calls_total's outcome values (long ones hashed)
	lastErr              error
}

func watch(sup *supervisor, metricsURL string) *watcher {
	w := &watcher{sup: sup, metricsURL: metricsURL, begin: time.Now(), done: make(chan struct{}), metrics: metricsFigures{outcomes: map[string]bool{}, firstSeries: -1}}
	loop := func(every time.Duration, fn func()) {
		w.wg.Go(func() {
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-w.done:
					return
				case <-tick.C:
					fn()
				}
			}
		})
	}
	loop(rssEvery, w.sample)
	loop(scrapeEvery, w.scrape)
	return w
}

func (w *watcher) stop() {
	w.stopOnce.Do(func() { close(w.done) })
	w.wg.Wait()
}

// mark notes a moment of the run in the memory timeline.
func (w *watcher) mark(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.marks = append(w.marks, fmt.Sprintf("+%v %s", time.Since(w.begin).Round(time.Second), what))
}

// sample reads the provider's resident memory, and kills it above the limit.
func (w *watcher) sample() {
	p := w.sup.current()
	if p == nil {
		return
	}
	pid := p.Pid()
	rss, hwm, err := procMemory(pid)
	if err != nil {
		return // it has just exited
	}
	at := time.Since(w.begin)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastPid, w.lastHWM = pid, hwm
	if rss > w.peakRSS {
		w.peakRSS, w.peakAt = rss, at
	}
	i := int(at / (10 * time.Second))
	for len(w.buckets) <= i {
		w.buckets = append(w.buckets, 0)
	}
	w.buckets[i] = max(w.buckets[i], rss)
	if rss > rssKillAt {
		// As the OOM killer would: the supervisor sees a crash and restarts it.
		_ = syscall.Kill(pid, syscall.SIGKILL)
		w.guard = append(w.guard, fmt.Sprintf("pid %d at +%v with %d MiB resident", pid, at.Round(100*time.Millisecond), rss>>20))
	}
}

// highWaterMark is the current process's VmHWM, read now.
func (w *watcher) highWaterMark() int64 {
	if p := w.sup.current(); p != nil {
		if _, hwm, err := procMemory(p.Pid()); err == nil {
			return hwm
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastHWM
}

func (w *watcher) peak() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.peakRSS
}

func (w *watcher) kills() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.guard)
}

func (w *watcher) timelineString() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for i, b := range w.buckets {
		parts = append(parts, fmt.Sprintf("%ds:%d", i*10, b>>20))
	}
	return fmt.Sprintf("peak %d MiB at +%v; per 10s (MiB) %s; %s",
		w.peakRSS>>20, w.peakAt.Round(100*time.Millisecond), strings.Join(parts, " "), strings.Join(w.marks, ", "))
}

// scrape reads the metrics endpoint once.
func (w *watcher) scrape() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := scrapeMetrics(ctx, w.metricsURL)
	w.mu.Lock()
	defer w.mu.Unlock()
	m := &w.metrics
	if err != nil {
		m.lastErr = err
		return
	}
	m.scrapes++
	if m.firstSeries < 0 {
		m.firstSeries = s.series
	}
	m.maxSeries, m.lastSerie = max(m.maxSeries, s.series), s.series
	m.maxBytes = max(m.maxBytes, s.bytes)
	m.longestLine = max(m.longestLine, s.longest)
	for o := range s.outcomes {
		m.outcomes[o] = true
	}
}

func (w *watcher) metricsFigures() metricsFigures {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.metrics
	m.outcomes = maps.Clone(m.outcomes)
	return m
}

// procMemory reads a process's VmRSS and VmHWM, in bytes.
func procMemory(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s of pid %d: %w", name, pid, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// scraped is one read of the metrics endpoint.
type scraped struct {
	series   int   // alibabacloud_ecs_* samples
	bytes    int64 // the whole page
	longest  int   // the longest alibabacloud_ecs_* line
	outcomes map[string]bool
}

// maxMetricsPage bounds what the run reads of one metrics page.
const maxMetricsPage = 256 << 20

func scrapeMetrics(ctx context.Context, url string) (scraped, error) {
	s := scraped{outcomes: map[string]bool{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return s, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	counted := &countingReader{r: io.LimitReader(res.Body, maxMetricsPage)}
	sc := bufio.NewScanner(counted)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, ecsMetricsPrefix) {
			continue
		}
		s.series++
		s.longest = max(s.longest, len(line))
		if strings.HasPrefix(line, ecsMetricsPrefix+"api_calls_total{") {
			if _, rest, ok := strings.Cut(line, `outcome="`); ok {
				value, _, _ := strings.Cut(rest, `"`)
				if len(value) > 64 {
					value = fmt.Sprintf("%.16s…(%d bytes, sha256 %x)", value, len(value), sha256.Sum256([]byte(value)))
				}
				s.outcomes[value] = true
			}
		}
	}
	s.bytes = counted.n
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("reading %s: %w", url, err)
	}
	return s, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// message is the longest message of one kind of object.
type message struct {
	where  string
	length int
	start  string
}

// longestMessages finds, among the hostile namespace's ProviderConfigs,
// ImageSharePermissions and events, the longest condition or event message
// of each kind, and names the kinds of which there was no message at all.
func longestMessages(ctx context.Context, kube client.Client) (msgs []message, missing []string, err error) {
	longest := map[string]message{}
	note := func(kind, where, msg string) {
		if m, ok := longest[kind]; !ok || len(msg) > m.length {
			longest[kind] = message{where: where, length: len(msg), start: msg[:min(len(msg), 200)]}
		}
	}
	err = retry(ctx, "read the hostile tenant's objects", func(ctx context.Context) error {
		clear(longest)
		var pcs pcv1beta1.ProviderConfigList
		if err := kube.List(ctx, &pcs, client.InNamespace(nsEvil)); err != nil {
			return err
		}
		for _, pc := range pcs.Items {
			for _, c := range pc.Status.Conditions {
				note("ProviderConfig", fmt.Sprintf("ProviderConfig %s/%s condition %s", pc.Namespace, pc.Name, c.Type), c.Message)
			}
		}
		var isps ecsv1beta1.ImageSharePermissionList
		if err := kube.List(ctx, &isps, client.InNamespace(nsEvil)); err != nil {
			return err
		}
		for _, o := range isps.Items {
			for _, c := range o.Status.Conditions {
				note("ImageSharePermission", fmt.Sprintf("ImageSharePermission %s/%s condition %s", o.Namespace, o.Name, c.Type), c.Message)
			}
		}
		var events corev1.EventList
		if err := kube.List(ctx, &events, client.InNamespace(nsEvil)); err != nil {
			return err
		}
		for _, e := range events.Items {
			note("Event", fmt.Sprintf("event %s (%s on %s %s)", e.Name, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name), e.Message)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, kind := range []string{"Event", "ImageSharePermission", "ProviderConfig"} {
		if _, ok := longest[kind]; !ok {
			missing = append(missing, kind)
		}
	}
	return slices.SortedFunc(maps.Values(longest), func(a, b message) int { return strings.Compare(a.where, b.where) }), missing, nil
}

// removeAll deletes every ImageSharePermission and ProviderConfig of the
// namespaces, with their finalizers, and their usages: the provider has
// stopped, and the hostile tenant's objects could never be deleted the
// proper way, through endpoints that never answer.
func removeAll(ctx context.Context, t *testing.T, kube client.Client, namespaces ...string) {
	for _, ns := range namespaces {
		var isps ecsv1beta1.ImageSharePermissionList
		var pcs pcv1beta1.ProviderConfigList
		var usages pcv1beta1.ProviderConfigUsageList
		for _, list := range []client.ObjectList{&isps, &pcs, &usages} {
			if err := retry(ctx, "list in "+ns, func(ctx context.Context) error { return kube.List(ctx, list, client.InNamespace(ns)) }); err != nil {
				t.Error(err)
			}
		}
		var objs []client.Object
		for i := range isps.Items {
			objs = append(objs, &isps.Items[i])
		}
		for i := range pcs.Items {
			objs = append(objs, &pcs.Items[i])
		}
		for i := range usages.Items {
			objs = append(objs, &usages.Items[i])
		}
		if err := forEach(objs, func(o client.Object) error {
			return retry(ctx, "remove "+ns+"/"+o.GetName(), func(ctx context.Context) error {
				if len(o.GetFinalizers()) > 0 {
					patch := client.MergeFrom(o.DeepCopyObject().(client.Object))
					o.SetFinalizers(nil)
					if err := kube.Patch(ctx, o, patch); client.IgnoreNotFound(err) != nil {
						return err
					}
				}
				return client.IgnoreNotFound(kube.Delete(ctx, o))
			})
		}); err != nil {
			t.Errorf("removing what the test created: %v", err)
		}
	}
}

// hostileReport is what TestHostileTenants prints.
type hostileReport struct {
	starts     int
	crashes    []string
	guardKills []string
	peakRSS    int64
	hwm        int64
	timeline   string
	goodTook   time.Duration
	goodErr    error
	churned    int
	churnErrs  []string
	target     uint64
	modes      []hostile.Stats
	msgs       []message
	metrics    metricsFigures
}

func (r hostileReport) String() string {
	var b strings.Builder
	b.WriteString("hostile tenants: figures\n")
	row := func(name, value string, args ...any) {
		fmt.Fprintf(&b, "  %-36s "+value+"\n", append([]any{name}, args...)...)
	}
	row("provider starts / exits", "%d / %d (killed at the %d MiB limit: %d %v)", r.starts, len(r.crashes), rssKillAt>>20, len(r.guardKills), r.guardKills)
	row("peak RSS", "%d MiB (bound %d MiB; VmHWM of the last process %d MiB)", r.peakRSS>>20, maxHostileRSS>>20, r.hwm>>20)
	row("RSS timeline", "%s", r.timeline)
	goodTook := r.goodTook.Round(100 * time.Millisecond).String()
	if r.goodErr != nil {
		goodTook = "not Ready: " + r.goodErr.Error()
	}
	row("good tenant: shares to Ready", "%s (%d shares; bound %v)", goodTook, goodShares, goodReadyBound)
	row("churned ProviderConfigs", "%d created and deleted (errors: %v)", r.churned, r.churnErrs)
	row("redirect target requests", "%d (want 0)", r.target)
	for _, st := range r.modes {
		actions := slices.SortedFunc(maps.Keys(st.Actions), func(x, y string) int { return cmp.Compare(st.Actions[y], st.Actions[x]) })
		var parts []string
		for _, a := range actions {
			parts = append(parts, fmt.Sprintf("%s %d", cmp.Or(a, "(none)"), st.Actions[a]))
		}
		row("requests to "+string(st.Mode), "%5d  (%s; %d MiB sent)", st.Requests, strings.Join(parts, ", "), st.BytesSent>>20)
	}
	m := r.metrics
	row("metrics: "+ecsMetricsPrefix+"* series", "max %d, first %d, last %d (bound %d) over %d reads; page up to %d KiB, longest line %d bytes",
		m.maxSeries, m.firstSeries, m.lastSerie, maxSeries, m.scrapes, m.maxBytes>>10, m.longestLine)
	row("metrics: distinct outcome values", "%d (bound %d): %s", len(m.outcomes), maxOutcomes, first(slices.Sorted(maps.Keys(m.outcomes)), 3))
	for _, msg := range r.msgs {
		row("longest message", "%d bytes (bound %d): %s", msg.length, maxMessage, msg.where)
	}
	return b.String()
}
