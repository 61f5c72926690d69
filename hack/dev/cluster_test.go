package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xp"
)

// TestCluster runs `make dev` with KUBECONFIG set against a real API server
// with the provider's and Crossplane's CRDs: it refuses beside an installed
// Provider package and beside a live lease holder, and with DEV_FORCE it
// waits for the lease and takes over only once the other copy lets go.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run `make test`")
	}
	ctx := t.Context()
	root, err := devenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cp, err := devenv.StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(work, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	crds, err := xp.CRDDir(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(cp.Config, envtest.CRDInstallOptions{Paths: []string{crds}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	scheme, err := devenv.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	kube, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "crossplane-system"}}); err != nil {
		t.Fatal(err)
	}
	bin := buildDev(t, work)

	// dev runs the program as make dev does with KUBECONFIG set, and
	// returns its output so far and a way to wait for its end.
	dev := func(args ...string) (*exec.Cmd, *syncBuffer) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--cluster", "--out", work}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
		return cmd, out
	}
	refused := func(reason string, want ...string) {
		t.Helper()
		cmd, out := dev()
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			if err == nil {
				t.Errorf("%s: dev exited cleanly, want a refusal\n%s", reason, out)
			}
		case <-time.After(time.Minute):
			t.Fatalf("%s: dev still runs after a minute, want a refusal\n%s", reason, out)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: the refusal does not say %q:\n%s", reason, w, out)
			}
		}
	}

	installed := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider",
		"metadata": map[string]any{"name": "provider-alibabacloud-ecs"},
		"spec":     map[string]any{"package": "registry.example.org/platform/provider-alibabacloud-ecs:v0.1.0"},
	}}
	if err := kube.Create(ctx, installed); err != nil {
		t.Fatal(err)
	}
	refused("an installed Provider package", "Provider provider-alibabacloud-ecs", "DEV_FORCE=1", "context envtest")
	if err := kube.Delete(ctx, installed); err != nil {
		t.Fatal(err)
	}

	// Another copy of the provider holds the lease and renews it.
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: leaseName},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr.To("installed-pod"), LeaseDurationSeconds: ptr.To[int32](60),
			RenewTime: &metav1.MicroTime{Time: time.Now()}, AcquireTime: &metav1.MicroTime{Time: time.Now()},
		},
	}
	if err := kube.Create(ctx, lease); err != nil {
		t.Fatal(err)
	}
	refused("a live lease holder", "installed-pod", "crossplane-system/"+leaseName)

	_, out := dev("--force")
	holder := func() string {
		l := &coordinationv1.Lease{}
		if err := kube.Get(ctx, types.NamespacedName{Namespace: "crossplane-system", Name: leaseName}, l); err != nil {
			return ""
		}
		return ptr.Deref(l.Spec.HolderIdentity, "")
	}
	waitFor(t, 2*time.Minute, out, "the forced provider to try for the lease", func() bool {
		return strings.Contains(strings.ToLower(out.String()), "attempting to acquire leader lease")
	})
	// A retry period (2s) passes several times: the forced copy must not
	// take a lease that is still renewed.
	time.Sleep(5 * time.Second)
	if got := holder(); got != "installed-pod" {
		t.Fatalf("the forced provider took the lease from a live holder: holder %q\n%s", got, out)
	}
	// The installed copy stops: its lease goes. The forced copy takes over.
	if err := kube.Delete(ctx, lease); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, out, "the forced provider to take the released lease", func() bool {
		h := holder()
		return h != "" && h != "installed-pod"
	})
}

func waitFor(t *testing.T, d time.Duration, out *syncBuffer, what string, ok func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waited %v for %s; dev printed:\n%s", d, what, out)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
