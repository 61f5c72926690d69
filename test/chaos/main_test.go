// Package chaos runs the provider binary against a real kube-apiserver and
// etcd and an ECS simulator that throttles, fails, lags and hangs, while the
// provider is killed and restarted and the API server restarts under it;
// then it checks that ECS holds exactly what the objects ask for, that
// resources stuck on permanent errors do not hammer ECS, and that of two
// replicas only the leader calls ECS. It prints what the run cost.
//
// `make test` runs a short run; `make chaos` a bigger one. CHAOS_SEED,
// CHAOS_RESOURCES, CHAOS_DURATION, CHAOS_KILLS and CHAOS_POLL shape a run;
// it needs the control plane binaries named by KUBEBUILDER_ASSETS.
package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// settings shape one run; every random choice derives from seed.
type settings struct {
	seed      int64
	resources int
	// chaos is how long disruptions go on once the first objects exist.
	chaos time.Duration
	// kills is how many times the provider is SIGKILLed and restarted.
	kills int
	// poll is the provider's --poll.
	poll time.Duration
}

// The suite's shared world, set up once by TestMain.
var (
	cfg  settings
	root string
	work string
	cp   *devenv.ControlPlane
	bin  string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("chaos: skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "chaos:", err); return 1 }
	var err error
	if cfg, err = readSettings(); err != nil {
		return fail(err)
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return fail(fmt.Errorf("KUBEBUILDER_ASSETS is not set: run `make test` or `make chaos`, which build the control plane and set it"))
	}
	if root, err = devenv.Root(); err != nil {
		return fail(err)
	}
	if work, err = os.MkdirTemp("", "provider-chaos-"); err != nil {
		return fail(err)
	}
	defer os.RemoveAll(work)

	begin := time.Now()
	ctx := context.Background()
	if bin, err = devenv.BuildProvider(ctx, root, work); err != nil {
		return fail(err)
	}
	if cp, err = devenv.StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(work, "kubeconfig")); err != nil {
		return fail(err)
	}
	defer cp.Stop()
	fmt.Printf("chaos: provider built and control plane up in %v\n", time.Since(begin).Round(time.Millisecond))
	fmt.Printf("chaos: CHAOS_SEED=%d CHAOS_RESOURCES=%d CHAOS_DURATION=%v CHAOS_KILLS=%d CHAOS_POLL=%v (set them to repeat or resize this run)\n",
		cfg.seed, cfg.resources, cfg.chaos, cfg.kills, cfg.poll)
	return m.Run()
}

// readSettings reads the CHAOS_* variables. The defaults are the short run
// `make test` makes: a few minutes on two busy cores.
func readSettings() (settings, error) {
	s := settings{seed: time.Now().UnixNano() % 1_000_000, resources: 150, chaos: 75 * time.Second, kills: 3, poll: 30 * time.Second}
	ints := map[string]*int{"CHAOS_RESOURCES": &s.resources, "CHAOS_KILLS": &s.kills}
	for name, p := range ints {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return s, fmt.Errorf("%s=%q: want a whole number", name, v)
			}
			*p = n
		}
	}
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s, fmt.Errorf("CHAOS_SEED=%q: want an integer", v)
		}
		s.seed = n
	}
	durations := map[string]*time.Duration{"CHAOS_DURATION": &s.chaos, "CHAOS_POLL": &s.poll}
	for name, p := range durations {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return s, fmt.Errorf("%s=%q: want a duration such as 90s", name, v)
			}
			*p = d
		}
	}
	if s.resources < 10 {
		return s, fmt.Errorf("CHAOS_RESOURCES=%d: want at least 10", s.resources)
	}
	return s, nil
}
