// Package xp brings up a Crossplane world beside a devenv control plane:
// Crossplane core as a process (`crossplane core start`), an OCI registry on
// loopback that serves our packages, one test CA for the mutual TLS between
// core and composition functions, and a stand-in for the package runtime
// that runs each active provider and function revision as a local process.
// So Crossplane itself installs, activates and upgrades our packages, and
// composes through our function, with no cluster, image or network.
//
// Core runs with --package-runtime=External, under which it starts no
// Deployments and expects someone else to run each package revision; that
// someone is this package (runtime.go). /work/shared/reference/crossplane-core-offline.md
// has the recipe and the traps this follows.
package xp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/testpki"
)

// Namespace is where Crossplane and its packages live, as in a cluster.
const Namespace = "crossplane-system"

// fieldOwner names this package's writes, as a runtime controller's would be.
const fieldOwner = "xp-package-runtime"

// Options say what the world runs.
type Options struct {
	// ControlPlane is where Crossplane runs. Start it without the provider's
	// CRDs: Crossplane installs them from the package.
	ControlPlane *devenv.ControlPlane
	// Dir holds the certificates, Crossplane's package cache and the logs
	// (logs/*.log); the caller owns it.
	Dir string
	// CoreBinary is Crossplane core (make's CROSSPLANE_CORE).
	CoreBinary string
	// CRDs is the directory of Crossplane's own CRDs; CRDDir finds it when
	// empty.
	CRDs string
	// ProviderBinary runs every active ProviderRevision, with ProviderArgs
	// and ProviderEnv ("NAME=value"), as devenv.StartProviderEnv runs it.
	// It and FunctionBinary may be empty for a world that installs no
	// package (test/docs only needs core's XRD controller): a revision of
	// that kind then cannot start, and logs/runtime.log says so.
	ProviderBinary string
	ProviderArgs   []string
	ProviderEnv    []string
	// FunctionBinary runs every active FunctionRevision (BuildFunction builds
	// ours), with FunctionArgs after the address and certificate flags.
	FunctionBinary string
	FunctionArgs   []string
	// PollInterval is how often core checks a package's tag for a new
	// digest; 10s when zero.
	PollInterval time.Duration
	// CoreArgs are more flags for core, after those Start sets.
	CoreArgs []string
}

// World is a running Crossplane core with its registry and package runtime.
type World struct {
	// Registry is the loopback registry's host:port. The name has dots, so
	// a package named after it passes Crossplane's check on spec.package,
	// and it is loopback, so it is pulled over plain http.
	Registry string

	opts    Options
	kube    client.Client
	logs    string // directory of the log files
	fnCerts string // the function's server certificates, ca.crt among them
	server  *http.Server
	core    *devenv.Provider
	stop    context.CancelFunc
	stopped chan struct{} // closed when the runtime loop has returned

	mu      sync.Mutex
	err     error               // the first unexpected exit or runtime failure
	running map[string]*process // by Provider or Function name; only the runtime loop writes it
}

// Start serves the registry, writes the PKI, installs Crossplane's CRDs,
// namespace and Lock, starts core and the runtime stand-in.
func Start(ctx context.Context, o Options) (*World, error) {
	if o.ControlPlane == nil || o.Dir == "" || o.CoreBinary == "" {
		return nil, errors.New("xp.Options needs ControlPlane, Dir and CoreBinary")
	}
	if o.PollInterval == 0 {
		o.PollInterval = 10 * time.Second
	}
	if o.CRDs == "" {
		root, err := devenv.Root()
		if err != nil {
			return nil, err
		}
		if o.CRDs, err = CRDDir(ctx, root); err != nil {
			return nil, err
		}
	}
	kube, err := client.New(o.ControlPlane.Config, client.Options{})
	if err != nil {
		return nil, err
	}
	w := &World{opts: o, kube: kube, logs: filepath.Join(o.Dir, "logs"), fnCerts: filepath.Join(o.Dir, "tls", "function"),
		running: map[string]*process{}}
	coreCerts := filepath.Join(o.Dir, "tls", "core")
	if err := writePKI(coreCerts, w.fnCerts); err != nil {
		return nil, err
	}
	// Core does not make its package cache: without it every pull fails
	// with "read/write on closed pipe", the cache's writer having given up.
	for _, dir := range []string{w.logs, filepath.Join(o.Dir, "xpkg-cache")} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
	}
	if err := w.install(ctx); err != nil {
		return nil, err
	}
	if err := w.serveRegistry(ctx); err != nil {
		return nil, err
	}
	if err := w.startCore(coreCerts); err != nil {
		_ = w.Close() //nolint:contextcheck // Stopping must not depend on a context that may have ended.
		return nil, err
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.stop, w.stopped = cancel, make(chan struct{})
	go w.runtimeLoop(loopCtx)
	return w, nil
}

// install does what `crossplane core init` does in a cluster and core
// start needs: Crossplane's CRDs (envtest also waits until they are
// served), its namespace and the package Lock. The Lock is made before core
// starts, as init does: else the first two packages race to create it and
// one reconcile fails.
func (w *World) install(ctx context.Context) error {
	if _, err := envtest.InstallCRDs(w.opts.ControlPlane.Config, envtest.CRDInstallOptions{Paths: []string{w.opts.CRDs}, ErrorIfPathMissing: true}); err != nil {
		return fmt.Errorf("cannot install Crossplane's CRDs from %s: %w", w.opts.CRDs, err)
	}
	lock := &unstructured.Unstructured{}
	lock.SetAPIVersion("pkg.crossplane.io/v1beta1")
	lock.SetKind("Lock")
	lock.SetName("lock")
	for _, obj := range []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, lock} {
		if err := w.kube.Create(ctx, obj); err != nil && !kerrors.IsAlreadyExists(err) {
			return fmt.Errorf("cannot create %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	return nil
}

// startCore runs `crossplane core start` with its client certificates in
// certs. devenv's process runner suits core too: KUBECONFIG is how core
// finds the API server (its flags are kong's, so --kubeconfig is never read).
func (w *World) startCore(certs string) error {
	f, err := w.logFile("core")
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // the process has its own descriptor
	args := []string{"core", "start",
		// Webhooks need a Service in front of core; only Usages need them.
		"--enable-webhooks=false",
		// No Deployments: this package runs the revisions (runtime.go).
		"--package-runtime=External",
		// 0 takes a free port, where the defaults (8080, 8081) may be taken.
		"--metrics-port=0", "--health-probe-port=0",
		// The default, /cache/xpkg, is the image's.
		"--xpkg-cache-dir=" + filepath.Join(w.opts.Dir, "xpkg-cache"),
		"--poll-interval=" + w.opts.PollInterval.String(),
		"--debug"}
	w.core, err = devenv.StartProviderEnv(w.opts.CoreBinary, w.opts.ControlPlane.Kubeconfig, []string{"TLS_CLIENT_CERTS_DIR=" + certs}, f,
		append(args, w.opts.CoreArgs...)...)
	if err != nil {
		return fmt.Errorf("cannot start Crossplane core %s: %w", w.opts.CoreBinary, err)
	}
	return nil
}

// Close stops the runtime's processes, core and the registry. The caller
// then stops the control plane. Exit statuses are not errors here: each
// process's log tells how it ended.
func (w *World) Close() error {
	if w.stop != nil {
		w.stop()
		<-w.stopped
	}
	if w.core != nil {
		_ = w.core.Stop(10 * time.Second)
	}
	w.mu.Lock()
	for pkg, p := range w.running {
		_ = p.Stop(10 * time.Second)
		delete(w.running, pkg)
	}
	w.mu.Unlock()
	if w.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.server.Shutdown(ctx)
}

// Err is the first thing that went wrong behind the caller's back: core or
// a package's process exited. Wait loops check it so that they fail with
// the cause instead of timing out; what the runtime stand-in could not do
// is in logs/runtime.log.
func (w *World) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *World) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// serveRegistry serves an in-memory OCI registry on a free loopback port
// until Close.
func (w *World) serveRegistry(ctx context.Context) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	f, err := w.logFile("registry")
	if err != nil {
		_ = ln.Close()
		return err
	}
	w.Registry = ln.Addr().String()
	w.server = &http.Server{Handler: registry.New(registry.Logger(log.New(f, "", log.LstdFlags))), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		_ = w.server.Serve(ln)
		_ = f.Close()
	}()
	return nil
}

// Publish pushes the package files (as `crossplane xpkg build` writes them,
// one per platform) to the registry as ref, such as
// "platform/provider-alibabacloud-ecs:v0.1.0", as `make publish` does: with
// the crossplane CLI at cli, `crossplane xpkg push -f a.xpkg,b.xpkg`, which
// pushes several files as one OCI image index (and one file as an image).
// The CLI talks plain http to a loopback registry, as every
// go-containerregistry client does. It reads no docker configuration of the
// user's: the registry needs no credentials.
func (w *World) Publish(ctx context.Context, cli string, files []string, ref string) error {
	if len(files) == 0 {
		return fmt.Errorf("no package files to publish as %s", ref)
	}
	dockerConfig, err := os.MkdirTemp(w.opts.Dir, "docker-config-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dockerConfig) }()
	target := w.Registry + "/" + ref
	cmd := exec.CommandContext(ctx, cli, "xpkg", "push", "-f", strings.Join(files, ","), target)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("crossplane xpkg push -f %s %s: %w: %s", strings.Join(files, ","), target, err, out)
	}
	return nil
}

// Platforms are the platforms ("linux/amd64") of the image index the
// registry holds as ref, in the index's order; an error if ref is not an
// index, as a package pushed from one file would be.
func (w *World) Platforms(ctx context.Context, ref string) ([]string, error) {
	r, err := name.ParseReference(w.Registry + "/" + ref)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return nil, fmt.Errorf("%s is a %s, not an image index", ref, desc.MediaType)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	platforms := make([]string, 0, len(m.Manifests))
	for _, d := range m.Manifests {
		if d.Platform == nil {
			return nil, fmt.Errorf("%s: manifest %s names no platform", ref, d.Digest)
		}
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	return platforms, nil
}

// RewriteImages makes Crossplane pull every package whose name starts with
// prefix (such as "registry.example.org/") from this world's registry, by an
// ImageConfig: manifests keep the names users see in examples/.
func (w *World) RewriteImages(ctx context.Context, prefix string) error {
	ic := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "pkg.crossplane.io/v1beta1",
		"kind":       "ImageConfig",
		"metadata":   map[string]any{"name": "xp-loopback-registry"},
		"spec": map[string]any{
			"matchImages":  []any{map[string]any{"type": "Prefix", "prefix": prefix}},
			"rewriteImage": map[string]any{"prefix": w.Registry + "/"},
		},
	}}
	if err := w.kube.Apply(ctx, client.ApplyConfigurationFromUnstructured(ic), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("cannot apply the ImageConfig rewriting %s: %w", prefix, err)
	}
	return nil
}

// LogTails is the end of every log a world wrote into logs (its Dir's
// logs/: core, the registry, the runtime and each package's process), for a
// failed run's output; it reads files, so it serves after a failed Start
// too. Each is cut to its last 16 KiB: core's debug log of a long run is
// megabytes.
func LogTails(logs string) string {
	const tail = 16 << 10
	files, _ := filepath.Glob(filepath.Join(logs, "*.log"))
	var b bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(data) > tail {
			data = data[len(data)-tail:]
		}
		fmt.Fprintf(&b, "--- %s (last 16 KiB) ---\n%s\n", filepath.Base(f), data)
	}
	return b.String()
}

// logFile opens logs/<name>.log for appending: a package's process keeps
// one log across restarts.
func (w *World) logFile(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(w.logs, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// writePKI makes one CA and writes core's client certificate to coreDir and
// a function's server certificate (for 127.0.0.1, the endpoint the runtime
// gives functions) to fnDir, each beside the CA as ca.crt: the layout both
// TLS_CLIENT_CERTS_DIR and --tls-server-certs-dir expect. Core always calls
// functions over mutual TLS, so both sides verify the other against the CA.
func writePKI(coreDir, fnDir string) error {
	ca, err := testpki.NewCA("crossplane test CA")
	if err != nil {
		return err
	}
	clientCert, clientKey, err := ca.IssueClient("crossplane")
	if err != nil {
		return err
	}
	serverCert, serverKey, err := ca.Issue("127.0.0.1")
	if err != nil {
		return err
	}
	for dir, files := range map[string][2][]byte{coreDir: {clientCert, clientKey}, fnDir: {serverCert, serverKey}} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		for file, data := range map[string][]byte{"ca.crt": ca.PEM, "tls.crt": files[0], "tls.key": files[1]} {
			if err := os.WriteFile(filepath.Join(dir, file), data, 0o600); err != nil {
				return err
			}
		}
	}
	return nil
}

// CRDDir is the directory of Crossplane's own CRDs (Provider, Composition,
// XRD...) in the Crossplane module that hack/tools/crossplane pins, so
// that they match the core binary built from it. The module is in the Go
// module cache once make has built core.
func CRDDir(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/crossplane/crossplane/v2")
	cmd.Dir = filepath.Join(root, "hack", "tools", "crossplane")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download github.com/crossplane/crossplane/v2 in hack/tools/crossplane: %w: %s", err, stderr.String())
	}
	var m struct {
		Dir string `json:"Dir"`
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return "", fmt.Errorf("go mod download printed no JSON: %w: %s", err, out)
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download printed no module directory: %s", out)
	}
	return filepath.Join(m.Dir, "cluster", "crds"), nil
}

// BuildFunction builds examples/composition/function into dir and returns
// the binary's path.
func BuildFunction(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "function-imageshare")
	return bin, devenv.GoBuild(ctx, filepath.Join(root, "examples", "composition", "function"), bin, ".")
}

// freeAddr is a loopback address with a port nobody listened on a moment
// ago: the function takes its address as a flag, not a listener. Should
// another process take the port in between, the function exits and its log
// says so.
func freeAddr(ctx context.Context) (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String(), nil
}
