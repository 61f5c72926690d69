// Package crossplane proves the provider as users meet it: through
// Crossplane. Crossplane core (the binary `make test` builds) runs against a
// real kube-apiserver and etcd with kube-controller-manager's garbage
// collector, installs the provider's and the composition function's
// packages (the files `make xpkg` builds) from a loopback registry, activates
// the managed resources under safe-start, and composes the example
// ImageShare through the function; the provider binary runs every active
// ProviderRevision, against the ECS simulator. Everything a user applies is
// applied with kubectl; the suite asserts what Kubernetes shows and what ECS
// (the simulator) holds. internal/devenv/xpworld assembles the world, the
// same one `make dev-crossplane` serves.
//
// It needs make test's environment: KUBEBUILDER_ASSETS (the control plane
// and kube-controller-manager), CROSSPLANE_CORE, CROSSPLANE (the CLI, which
// publishes the packages as `make publish` does), XPKG_FILES and
// FUNCTION_XPKG_FILES (the package files, one per platform).
package crossplane

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xp"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xpworld"
)

// poll is the provider's --poll: short, so a restarted provider has
// observed every share within seconds.
const poll = 3 * time.Second

// The suite's world, set up once by TestMain.
var (
	world *xpworld.World
	sim   *devenv.Simulator
	// logs is where Crossplane's world writes its logs.
	logs string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("crossplane: skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	opts := xpworld.Options{Assets: os.Getenv("KUBEBUILDER_ASSETS")}
	err := opts.FromEnv()
	if opts.Assets == "" {
		err = errors.New("KUBEBUILDER_ASSETS is not set")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "crossplane: %v: run `make test`, which builds the control plane, Crossplane core, the CLI and the packages and sets it\n", err)
		return 1
	}
	work, err := os.MkdirTemp("", "provider-crossplane-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crossplane:", err)
		return 1
	}
	defer os.RemoveAll(work)
	logs = filepath.Join(work, "crossplane", "logs")

	ctx := context.Background()
	begin := time.Now()
	// Over https, with a test CA the ProviderConfigs trust, as ECS is served.
	if sim, err = devenv.StartTLSSimulator(devenv.DevWorld(), "127.0.0.1:0"); err != nil {
		fmt.Fprintln(os.Stderr, "crossplane:", err)
		return 1
	}
	defer sim.Stop()
	opts.Dir, opts.Sim = work, sim
	opts.ProviderArgs = []string{"--debug", "--poll=" + poll.String(), "--metrics-bind-address=0", devenv.TenantEndpointsFlag}
	opts.FunctionArgs = []string{"--debug"}
	opts.Step = func(what string) func() {
		begin := time.Now()
		return func() { fmt.Printf("crossplane: %s took %v\n", what, time.Since(begin).Round(time.Millisecond)) }
	}
	world, err = xpworld.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crossplane:", err)
		fmt.Fprint(os.Stderr, xp.LogTails(logs))
		return 1
	}
	defer func() {
		if err := world.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "crossplane:", err)
		}
	}()
	fmt.Printf("crossplane: control plane, Crossplane and both packages up in %v\n", time.Since(begin).Round(time.Millisecond))

	code := m.Run()
	if code != 0 {
		fmt.Fprint(os.Stderr, xp.LogTails(logs))
	}
	return code
}

// step runs one step of the story and reports how long it took. The steps
// build on each other, so the first failure ends the test.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	begin := time.Now()
	ok := t.Run(name, fn)
	t.Logf("step %q took %v", name, time.Since(begin).Round(time.Millisecond))
	if !ok {
		t.FailNow()
	}
}
