package xp

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// The package runtime stand-in. With --package-runtime=External, core
// installs a package's objects but waits on someone else to run it; in a
// cluster Crossplane's own runtime controller makes a Deployment, a Service
// and a TLS Secret per revision. Here, for each package's active revision,
// this loop
//   - starts the provider or function binary as a local process, and
//     restarts it when another revision becomes active (an upgrade);
//   - creates the Secret <package>-tls-server and points the revision's
//     status.tlsServerSecretName at it: core's establisher refuses to install
//     a revision's objects until the Secret has a tls.crt, webhooks or not;
//   - sets a FunctionRevision's status.endpoint to the process's 127.0.0.1
//     address, where core dials it (in a cluster: the Service's DNS name);
//   - sets the RuntimeHealthy condition, without which the Provider or
//     Function never reports Healthy.
// The status is server-side applied under this package's field owner, so
// it adds the condition beside core's own (conditions are a map keyed on
// type) and leaves core's fields alone.

// pollEvery is how soon the runtime notices a new revision; a watch would
// be quicker by a fraction of this, at the cost of an informer's machinery.
const pollEvery = 200 * time.Millisecond

// process runs one package revision.
type process struct {
	*devenv.Provider
	revision string
	endpoint string // a function's address; empty for a provider
	log      string // its log file, for messages
}

func (w *World) runtimeLoop(ctx context.Context) {
	defer close(w.stopped)
	f, err := w.logFile("runtime")
	if err != nil {
		w.fail(err)
		return
	}
	defer func() { _ = f.Close() }()
	logger := log.New(f, "", log.LstdFlags)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	var last string
	coreDone := w.core.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-coreDone:
			w.fail(exited("crossplane core", w.core.Err(), filepath.Join(w.logs, "core.log")))
			// Closed for good: without this the loop would spin until Close.
			coreDone = nil
		case <-t.C:
		}
		// Errors are mostly transient (a conflict with core's own status
		// update, a revision deleted under us): log each new one and retry.
		if err := w.reconcile(ctx, logger); err != nil && ctx.Err() == nil && err.Error() != last {
			logger.Print(err)
			last = err.Error()
		}
	}
}

// reconcile makes the running processes and the revisions' status match
// the active revisions.
func (w *World) reconcile(ctx context.Context, logger *log.Logger) error {
	active := map[string]*unstructured.Unstructured{} // by package
	for _, kind := range []string{"ProviderRevision", "FunctionRevision"} {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("pkg.crossplane.io/v1")
		l.SetKind(kind + "List")
		if err := w.kube.List(ctx, l); err != nil {
			return fmt.Errorf("cannot list %ss: %w", kind, err)
		}
		for i := range l.Items {
			rev := &l.Items[i]
			if state, _, _ := unstructured.NestedString(rev.Object, "spec", "desiredState"); state != "Active" {
				continue
			}
			// In an upgrade both revisions can be active for a moment; the
			// newer one is the one that stays.
			pkg := packageOf(rev)
			if cur, ok := active[pkg]; !ok || revisionNumber(rev) > revisionNumber(cur) {
				active[pkg] = rev
			}
		}
	}
	// This loop is the map's only writer, so it reads it without the lock.
	for pkg, p := range w.running {
		if rev, ok := active[pkg]; !ok || rev.GetName() != p.revision {
			logger.Printf("stopping %s of revision %s", pkg, p.revision)
			_ = p.Stop(10 * time.Second)
			w.mu.Lock()
			delete(w.running, pkg)
			w.mu.Unlock()
		}
	}
	for pkg, rev := range active {
		p := w.running[pkg]
		if p == nil {
			var err error
			if p, err = w.startProcess(ctx, rev); err != nil {
				return err
			}
			w.mu.Lock()
			w.running[pkg] = p
			w.mu.Unlock()
			logger.Printf("started %s of revision %s (pid %d, log %s)", pkg, p.revision, p.Pid(), p.log)
		}
		select {
		case <-p.Done():
			// A Deployment would restart it; a test wants to hear of it.
			w.fail(exited(pkg+" of revision "+p.revision, p.Err(), p.log))
		default:
		}
		if err := w.publish(ctx, rev, p); err != nil {
			return err
		}
	}
	return nil
}

// startProcess runs the binary for rev with its log in logs/<package>.log.
func (w *World) startProcess(ctx context.Context, rev *unstructured.Unstructured) (*process, error) {
	pkg := packageOf(rev)
	f, err := w.logFile(pkg)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // the process has its own descriptor
	if _, err := fmt.Fprintf(f, "==== %s: revision %s starts ====\n", time.Now().Format(time.RFC3339), rev.GetName()); err != nil {
		return nil, err
	}
	p := &process{revision: rev.GetName(), log: f.Name()}
	kubeconfig := w.opts.ControlPlane.Kubeconfig
	if rev.GetKind() == "FunctionRevision" {
		if p.endpoint, err = freeAddr(ctx); err != nil {
			return nil, err
		}
		args := append([]string{"--address=" + p.endpoint, "--tls-server-certs-dir=" + w.fnCerts,
			// The SDK would else serve metrics on :8080, which may be taken.
			"--metrics-address="}, w.opts.FunctionArgs...)
		p.Provider, err = devenv.StartProviderEnv(w.opts.FunctionBinary, kubeconfig, nil, f, args...)
	} else {
		p.Provider, err = devenv.StartProviderEnv(w.opts.ProviderBinary, kubeconfig, w.opts.ProviderEnv, f, w.opts.ProviderArgs...)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot start the process of revision %s: %w", rev.GetName(), err)
	}
	return p, nil
}

// publish makes the revision's TLS Secret and status say that p runs it.
func (w *World) publish(ctx context.Context, rev *unstructured.Unstructured, p *process) error {
	secret := packageOf(rev) + "-tls-server"
	name, _, _ := unstructured.NestedString(rev.Object, "status", "tlsServerSecretName")
	endpoint, _, _ := unstructured.NestedString(rev.Object, "status", "endpoint")
	if name == secret && endpoint == p.endpoint && runtimeHealthy(rev) {
		return nil
	}
	if err := w.ensureSecret(ctx, secret); err != nil {
		return err
	}
	status := map[string]any{
		"tlsServerSecretName": secret,
		"conditions": []any{map[string]any{
			"type": "RuntimeHealthy", "status": "True", "reason": "HealthyPackageRevision",
			"lastTransitionTime": time.Now().UTC().Format(time.RFC3339),
		}},
	}
	if p.endpoint != "" {
		status["endpoint"] = p.endpoint
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": rev.GetAPIVersion(),
		"kind":       rev.GetKind(),
		"metadata":   map[string]any{"name": rev.GetName()},
		"status":     status,
	}}
	if err := w.kube.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("cannot set the runtime status of %s %s: %w", rev.GetKind(), rev.GetName(), err)
	}
	return nil
}

// ensureSecret creates the revision's TLS server Secret. Core only reads
// its tls.crt (as a webhook CA bundle, which our packages do not use), so
// every revision gets the function's server certificate.
func (w *World) ensureSecret(ctx context.Context, name string) error {
	data := map[string][]byte{}
	for _, file := range []string{"ca.crt", "tls.crt", "tls.key"} {
		b, err := os.ReadFile(filepath.Join(w.fnCerts, file))
		if err != nil {
			return err
		}
		data[file] = b
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace}, Type: corev1.SecretTypeTLS, Data: data}
	if err := w.kube.Create(ctx, s); err != nil && !kerrors.IsAlreadyExists(err) {
		return fmt.Errorf("cannot create the Secret %s/%s: %w", Namespace, name, err)
	}
	return nil
}

// Process is the process running the active revision of the Provider or
// Function named pkg, or nil: a test sees a restart by its Pid, or kills it
// as a crash would (the world then reports the exit in Err).
func (w *World) Process(pkg string) *devenv.Provider {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.running[pkg]; p != nil {
		return p.Provider
	}
	return nil
}

// exited says that what ended on its own, and where its log is.
func exited(what string, err error, log string) error {
	if err == nil {
		return fmt.Errorf("%s exited; see %s", what, log)
	}
	return fmt.Errorf("%s exited: %w; see %s", what, err, log)
}

// packageOf is the name of the Provider or Function a revision belongs to.
func packageOf(rev *unstructured.Unstructured) string {
	return rev.GetLabels()["pkg.crossplane.io/package"]
}

func revisionNumber(rev *unstructured.Unstructured) int64 {
	n, _, _ := unstructured.NestedInt64(rev.Object, "spec", "revision")
	return n
}

func runtimeHealthy(rev *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(rev.Object, "status", "conditions")
	for _, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["type"] == "RuntimeHealthy" {
			return c["status"] == "True"
		}
	}
	return false
}
