// Package e2e proves the provider against a real kube-apiserver and etcd:
// the built provider binary runs as its own process with its real flags, the
// ECS simulator stands in for Alibaba Cloud, and everything is driven with
// the real kubectl, as a person would. Each scenario asserts both what
// Kubernetes shows and what ECS (the simulator) holds.
//
// It needs the binaries `make controlplane` builds, named by
// KUBEBUILDER_ASSETS; `make test` provides both.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// poll is the provider's --poll: short, so drift is repaired quickly.
const poll = 3 * time.Second

// batchWindow is the provider's --batch-window. TestScale counts the calls
// its batches make, and on this suite's loaded machine the API server can
// hold back a stream of shares for longer than the default quarter second,
// which sends a batch short; a second keeps the count about batching, not
// about the machine's stalls. make bench measures the default.
const batchWindow = time.Second

// gracePeriod is how long after creating a share the provider reads "not
// there" as ECS lagging rather than as gone (its
// managed.WithCreationGracePeriod); creationGracePeriod adds a margin, for
// waits that must outlast it.
const (
	gracePeriod         = 30 * time.Second
	creationGracePeriod = gracePeriod + 2*time.Second
)

// The suite's shared world, set up once by TestMain.
var (
	root string
	cp   *devenv.ControlPlane
	sim  *devenv.Simulator
	bin  string
	// ecsSharesBin is the import command, cmd/ecs-shares.
	ecsSharesBin string
	logPath      string
	provider     *devenv.Provider
	providerM    sync.Mutex
	// kubelet projects the RRSA token the provider's environment names.
	kubelet *projectedToken
	// changeLogs receives the provider's change log entries, as the
	// sidecar Crossplane adds to its pod would.
	changeLogs     *changeLogSidecar
	changeLogsPath string
)

// The demo tenant's owner and the accounts it shares with.
const (
	owner        = "1234567890123456"
	partner      = "2222222222222222"
	otherPartner = "3333333333333333"
	demoSecret   = "demoOwnerSecret"
	wrongSecret  = "wrongSecretValue123"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		fmt.Fprintln(os.Stderr, "e2e: KUBEBUILDER_ASSETS is not set: run `make test`, which builds the control plane and sets it")
		return 1
	}
	var err error
	if root, err = devenv.Root(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	work, err := os.MkdirTemp("", "provider-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(work)

	ctx := context.Background()
	begin := time.Now()
	if bin, err = devenv.BuildProvider(ctx, root, work); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	ecsSharesBin = filepath.Join(work, "ecs-shares")
	if err := devenv.GoBuild(ctx, root, ecsSharesBin, "./cmd/ecs-shares"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if cp, err = devenv.StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(work, "kubeconfig")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cp.Stop()
	if sim, err = devenv.StartTLSSimulator(world(), "127.0.0.1:0"); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer sim.Stop()
	if err := devenv.Bootstrap(ctx, cp, root, sim); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if kubelet, err = projectToken(filepath.Join(work, "rrsa-tokens")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer kubelet.stop()
	if err := podCredentials(ctx, filepath.Join(work, "pod")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	changeLogsPath = filepath.Join(work, "changelogs.sock")
	if changeLogs, err = startChangeLogSidecar(changeLogsPath); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer changeLogs.stop()
	logPath = filepath.Join(work, "provider.log")
	if err := startProvider(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer stopProvider()
	fmt.Printf("e2e: control plane, simulator and provider up in %v\n", time.Since(begin).Round(time.Millisecond))

	code := m.Run()
	if code != 0 {
		if b, err := os.ReadFile(logPath); err == nil {
			fmt.Fprintf(os.Stderr, "--- provider log (last 8 KiB) ---\n%s\n", tail(b, 8<<10))
		}
	}
	return code
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// world is the dev world (the demo tenant and a partner's role) plus an
// image per scenario, so that scenarios running in parallel never touch the
// same share, and the identities of TestCredentials.
func world() ecssim.Config {
	cfg := devenv.DevWorld()
	cfg.AcceptAnyAccount = true
	var full []string
	for i := range ecssim.DefaultMaxSharesPerImage {
		full = append(full, fmt.Sprintf("7%015d", i))
	}
	cfg.Images = append(cfg.Images,
		ecssim.Image{ID: "m-drift0001", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{otherPartner}},
		ecssim.Image{ID: "m-delete001", Region: "cn-hangzhou", Owner: owner},
		ecssim.Image{ID: "m-import001", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{partner}},
		ecssim.Image{ID: "m-full00001", Region: "cn-hangzhou", Owner: owner, SharedWith: full},
		ecssim.Image{ID: "m-healthy01", Region: "cn-hangzhou", Owner: owner},
		ecssim.Image{ID: "m-restart01", Region: "cn-hangzhou", Owner: owner},
		ecssim.Image{ID: "m-changelog1", Region: "cn-hangzhou", Owner: owner},
	)
	cfg.Images = append(cfg.Images, importedImages...)
	credentialsWorld(&cfg)
	return cfg
}

func startProvider() error {
	providerM.Lock()
	defer providerM.Unlock()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// The provider's pod as ACK runs it with RRSA (the webhook's variables)
	// and the examples' DeploymentRuntimeConfigs (podEnv), on an instance
	// whose metadata service is the simulator's.
	provider, err = devenv.StartProviderEnv(bin, cp.Kubeconfig, append(rrsaEnv(), podEnv...), f,
		"--debug", "--poll="+poll.String(), "--sync=1h", "--max-reconcile-rate=50", "--batch-window="+batchWindow.String(), "--metrics-bind-address=0", devenv.TenantEndpointsFlag,
		"--ecs-metadata-endpoint="+sim.MetadataURL, "--enable-changelogs", "--changelogs-socket-path="+changeLogsPath)
	return err
}

// providerExited says whether the provider died on its own: waiting on it
// would only time out.
func providerExited() error {
	providerM.Lock()
	defer providerM.Unlock()
	select {
	case <-provider.Done():
		return fmt.Errorf("the provider exited: %w (its log is printed at the end)", provider.Err())
	default:
		return nil
	}
}

func stopProvider() {
	providerM.Lock()
	defer providerM.Unlock()
	_ = provider.Stop(10 * time.Second)
}

// scenario runs one numbered scenario and reports how long it took.
func scenario(t *testing.T, name string, parallel bool, fn func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		if parallel {
			t.Parallel()
		}
		begin := time.Now()
		defer func() { t.Logf("scenario %q took %v", name, time.Since(begin).Round(time.Millisecond)) }()
		fn(t)
	})
}

func TestProvider(t *testing.T) {
	// Import first and alone: it proves no Modify call at all is made.
	scenario(t, "4 import by external name makes no ECS change", false, testImport)
	t.Run("independent", func(t *testing.T) {
		scenario(t, "1 examples become ready", true, testExamples)
		scenario(t, "2 drift is repaired within a poll", true, testDrift)
		scenario(t, "3 delete and orphan", true, testDelete)
		scenario(t, "5 bad input is refused or reported", true, testBadInput)
		scenario(t, "8 ImageSharing follows a family and spares ImageSharePermissions", true, testImageSharing)
		scenario(t, "9 change logs record creates, drift corrections and deletes", true, testChangeLogs)
		scenario(t, "10 the import command takes shares over from ECS and Terraform with no write", true, testImportCommand)
	})
	scenario(t, "6 restart loses and duplicates nothing", false, testRestart)
	scenario(t, "7 no secret in logs, events or conditions", false, testNoSecrets)
}
