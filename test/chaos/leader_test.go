package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pcv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// A short lease, so that a standby takes over within seconds of the
// leader's death rather than the default minute.
const (
	leaseDuration = 10 * time.Second
	renewDeadline = 8 * time.Second
	retryPeriod   = 2 * time.Second
)

// pidInUserAgent finds the provider's process id in the User-Agent it sends
// to ECS; the SDK adds its own parts around it.
var pidInUserAgent = regexp.MustCompile(`\(pid ([0-9]+)\)`)

// TestLeaderElection runs two replicas with leader election: only the
// leader calls ECS, and when it is SIGKILLed the other takes over within
// the lease and finishes the work, including objects created after the
// kill.
func TestLeaderElection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	const (
		account, keyID = "3000000000000003", "LTAIchaosLeader00001"
		ns, config     = "leader", "leader"
		before, after  = 20, 10
	)
	keySecret := fmt.Sprintf("leader-secret-%d", cfg.seed)
	simCfg := ecssim.Config{AcceptAnyAccount: true, Accounts: []ecssim.Account{{ID: account, AccessKeys: []ecssim.AccessKey{{ID: keyID, Secret: keySecret}}}}}
	for i := range 2 {
		simCfg.Images = append(simCfg.Images, ecssim.Image{ID: fmt.Sprintf("m-leader%03d", i), Region: region, Owner: account})
	}
	sim, kube := startSim(t, simCfg)
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crossplane-system"}},
		secret("crossplane-system", config, keyID, keySecret),
		&pcv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: config}, Spec: pcv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: configSpec(sim.URL, "crossplane-system", config)}},
	} {
		if err := create(ctx, kube, o); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"--leader-election", "--leader-election-lease-duration=" + leaseDuration.String(),
		"--leader-election-renew-deadline=" + renewDeadline.String(), "--leader-election-retry-period=" + retryPeriod.String(), "--leader-election-namespace=" + ns,
		"--poll=" + cfg.poll.String(), "--sync=1h", "--metrics-bind-address=0", devenv.TenantEndpointsFlag}
	var replicas [2]*devenv.Provider
	for i := range replicas {
		logPath := filepath.Join(work, fmt.Sprintf("leader-replica-%d.log", i))
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if replicas[i], err = devenv.StartProvider(bin, cp.Kubeconfig, f, args...); err != nil {
			t.Fatal(err)
		}
		defer replicas[i].Stop(10 * time.Second)
		defer func() {
			if t.Failed() {
				b, _ := os.ReadFile(logPath)
				t.Logf("replica %d (pid %d) log, last 4 KiB:\n%s", i, replicas[i].Pid(), b[max(0, len(b)-4<<10):])
			}
		}()
	}

	var shares []share
	for i := range before + after {
		shares = append(shares, share{name: fmt.Sprintf("leader-%03d", i), namespace: ns, configKind: kindClusterPC, config: config,
			image: fmt.Sprintf("m-leader%03d", i%2), account: fmt.Sprintf("7%015d", i)})
	}
	createAll := func(ss []share) {
		if err := forEach(ss, func(s share) error { return create(ctx, kube, s.object()) }); err != nil {
			t.Fatal(err)
		}
	}
	waitReady := func(ss []share, bound time.Duration) time.Time {
		at, err := waitForProcesses(ctx, replicas[:], bound, func() (string, error) {
			objs, err := listShares(ctx, kube)
			if err != nil {
				return "", err
			}
			return notAll(ss, objs, func(o observed) bool { return o.ready.Status == corev1.ConditionTrue }, "Ready"), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	callsByPid := func() map[int]uint64 {
		out := map[int]uint64{}
		for ua, n := range sim.CallsByUserAgent() {
			pid := -1 // a call that names no process
			if m := pidInUserAgent.FindStringSubmatch(ua); m != nil {
				pid, _ = strconv.Atoi(m[1])
			}
			out[pid] += n
		}
		return out
	}

	createAll(shares[:before])
	waitReady(shares[:before], 3*time.Minute)
	calls := callsByPid()
	leader, standby := replicas[0], replicas[1]
	if calls[standby.Pid()] > calls[leader.Pid()] {
		leader, standby = standby, leader
	}
	if calls[leader.Pid()] == 0 || calls[standby.Pid()] != 0 || len(calls) != 1 {
		t.Fatalf("ECS calls by process %v (replicas pid %d and %d): want every call from one replica, the leader", calls, leader.Pid(), standby.Pid())
	}
	t.Logf("replica pid %d leads: it made all %d ECS calls for %d objects; pid %d made none", leader.Pid(), calls[leader.Pid()], before, standby.Pid())

	leaderCalls := calls[leader.Pid()]
	leader.Kill()
	killed := time.Now()
	createAll(shares[before:])
	var tookOver time.Time
	for deadline := time.Now().Add(leaseDuration + 2*time.Minute); tookOver.IsZero(); {
		if callsByPid()[standby.Pid()] > 0 {
			tookOver = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d made no ECS call within %v of the leader's death", standby.Pid(), leaseDuration+2*time.Minute)
		}
		select {
		case <-standby.Done():
			t.Fatalf("the standby exited: %v", standby.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	ready := waitReady(shares, leaseDuration+3*time.Minute)
	calls = callsByPid()
	if calls[leader.Pid()] != leaderCalls {
		t.Errorf("the killed leader's calls went from %d to %d", leaderCalls, calls[leader.Pid()])
	}
	for _, s := range shares {
		if got, _ := sim.SharedWith(region, s.image); !slices.Contains(got, s.account) {
			t.Errorf("ECS does not share %s with %s", s.image, s.account)
		}
	}
	t.Logf("leader SIGKILLed; pid %d made its first ECS call %v later (lease %v) and had all %d objects, %d created after the kill, Ready %v after the kill, with %d calls",
		standby.Pid(), tookOver.Sub(killed).Round(100*time.Millisecond), leaseDuration, len(shares), after, ready.Sub(killed).Round(100*time.Millisecond), calls[standby.Pid()])

	if err := forEach(shares, func(s share) error {
		return retry(ctx, "delete "+s.key(), func(ctx context.Context) error { return client.IgnoreNotFound(kube.Delete(ctx, s.object())) })
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForProcesses(ctx, []*devenv.Provider{standby}, 3*time.Minute, func() (string, error) {
		objs, err := listShares(ctx, kube)
		if err != nil || len(objs) == 0 {
			return "", err
		}
		return fmt.Sprintf("%d objects remain", len(objs)), nil
	}); err != nil {
		t.Fatal(err)
	}
}

// waitForProcesses is waitFor for providers run without a supervisor: it
// gives up as soon as all of them have exited.
func waitForProcesses(ctx context.Context, ps []*devenv.Provider, bound time.Duration, check func() (string, error)) (time.Time, error) {
	return poll(ctx, time.Second, bound, func() error {
		for _, p := range ps {
			select {
			case <-p.Done():
			default:
				return nil
			}
		}
		return errors.New("every provider exited")
	}, check)
}
