// Package xpworld brings up the provider's world with Crossplane in the
// loop, as test/crossplane proves it and `make dev-crossplane` serves it:
// a control plane without the provider's CRDs, with kube-controller-manager's
// garbage collector; Crossplane core with its registry and package runtime
// (internal/devenv/xp); our provider and composition function installed from
// their .xpkg files as a user installs them (a Provider, the example's
// Function and a ManagedResourceActivationPolicy, applied with kubectl); and
// credentials and ProviderConfigs pointing at the ECS simulator
// (devenv.Bootstrap). One place, so that what a person runs is what the
// suite proves.
package xpworld

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xp"
)

// Registry is the registry host the examples name packages under
// (examples/composition/functions.yaml): an ImageConfig sends every pull of
// it to the world's loopback registry, so the examples stay as users copy
// them.
const Registry = "registry.example.org/"

// Repository is where the provider's package is published, beside the
// function's in functions.yaml; the README's Install section names the same.
const Repository = Registry + "platform/provider-alibabacloud-ecs"

// FirstVersion is the tag Start installs the provider package under.
const FirstVersion = "v0.1.0"

// MRAP activates both scopes of our managed resources: the provider is
// safe-start, so Crossplane installs their definitions inactive and creates
// no CRD until a policy activates them. The README's Install section tells
// users to apply the same.
const MRAP = `apiVersion: apiextensions.crossplane.io/v1alpha1
kind: ManagedResourceActivationPolicy
metadata:
  name: alibabacloud-ecs
spec:
  activate:
    - imagesharepermissions.ecs.alibabacloud.m.crossplane.io
    - imagesharepermissions.ecs.alibabacloud.crossplane.io
`

// CRDs are the provider's managed resource CRDs the policy activates.
var CRDs = []string{"imagesharepermissions.ecs.alibabacloud.m.crossplane.io", "imagesharepermissions.ecs.alibabacloud.crossplane.io"}

// Options say what to run.
type Options struct {
	// Assets holds kube-apiserver, etcd, kubectl and kube-controller-manager
	// (make's KUBEBUILDER_ASSETS).
	Assets string
	// CoreBinary is Crossplane core (make's CROSSPLANE_CORE).
	CoreBinary string
	// ProviderXPKG and FunctionXPKG are the packages `make xpkg` builds
	// (make's XPKG and FUNCTION_XPKG).
	ProviderXPKG, FunctionXPKG string
	// Dir holds the kubeconfig, the binaries, Crossplane's files and the
	// logs; the caller owns it.
	Dir string
	// Sim is the ECS simulator the ProviderConfigs point at.
	Sim *devenv.Simulator
	// ProviderArgs are the provider's flags besides its metadata endpoint
	// (the simulator's).
	ProviderArgs []string
	// FunctionArgs are the function's flags besides its address and
	// certificates.
	FunctionArgs []string
	// PollInterval is how often core checks a package's tag for a new
	// digest (xp.Options).
	PollInterval time.Duration
	// Step, when set, is called as each step starts; the func it returns
	// when the step is done, to report how long it took.
	Step func(what string) func()
}

// World is the running world.
type World struct {
	*xp.World
	ControlPlane *devenv.ControlPlane
	// Root is the repository root.
	Root string
	// Provider is the name of the Provider object: the package's own name
	// (package/crossplane.yaml's metadata.name), which is also what the
	// README installs and what `crossplane xpkg install` would call it.
	Provider string
	// Function is the name of the Function object functions.yaml installs.
	Function string

	opts Options
}

// Start builds the provider and the function, starts the control plane and
// kube-controller-manager, Crossplane, installs both packages and waits until
// they are Healthy and Crossplane has established the provider's CRDs, then
// configures the provider for the simulator. Close stops it all, whether or
// not Start succeeded.
func Start(ctx context.Context, o Options) (w *World, err error) {
	if w, err = newWorld(o); err != nil {
		return nil, err
	}
	defer func() { //nolint:contextcheck // Stopping must not depend on a context that may have ended.
		if err != nil {
			_ = w.Close()
			w = nil
		}
	}()
	step := w.opts.Step

	done := step("building the provider and the function")
	bin := filepath.Join(o.Dir, "bin")
	providerBin, err := devenv.BuildProvider(ctx, w.Root, bin)
	if err != nil {
		return w, err
	}
	functionBin, err := xp.BuildFunction(ctx, w.Root, bin)
	if err != nil {
		return w, err
	}
	done()

	done = step("starting etcd, kube-apiserver and kube-controller-manager")
	if err := w.startControlPlane(ctx); err != nil {
		return w, err
	}
	done()

	done = step("starting Crossplane core, its registry and package runtime")
	if w.World, err = xp.Start(ctx, xp.Options{
		ControlPlane: w.ControlPlane, Dir: filepath.Join(o.Dir, "crossplane"), CoreBinary: o.CoreBinary,
		ProviderBinary: providerBin, ProviderArgs: append([]string{"--ecs-metadata-endpoint=" + o.Sim.MetadataURL}, o.ProviderArgs...),
		FunctionBinary: functionBin, FunctionArgs: o.FunctionArgs, PollInterval: o.PollInterval,
		CoreArgs: []string{
			// Core's XR circuit breaker (100 events, then 1 a second, else
			// open for 5 minutes) counts every change of a composed resource
			// and of the XR: composing the example's shares alone trips it,
			// after which core drops the XR's events, so that an edit of its
			// accounts waits for the function's 60 s TTL. Seen here; on a
			// busy cluster a user meets the same.
			"--circuit-breaker-burst=1000",
		},
	}); err != nil {
		return w, err
	}
	done()

	done = step("installing the provider and function packages")
	if err := w.install(ctx); err != nil {
		return w, err
	}
	done()

	done = step("installing credentials and ProviderConfigs")
	if err := devenv.Bootstrap(ctx, w.ControlPlane, w.Root, o.Sim); err != nil {
		return w, err
	}
	done()
	return w, nil
}

// newWorld checks o and reads the names of what the world installs.
func newWorld(o Options) (*World, error) {
	if o.Assets == "" || o.CoreBinary == "" || o.ProviderXPKG == "" || o.FunctionXPKG == "" || o.Dir == "" || o.Sim == nil {
		return nil, errors.New("xpworld.Options needs Assets, CoreBinary, ProviderXPKG, FunctionXPKG, Dir and Sim")
	}
	for _, f := range []string{o.CoreBinary, o.ProviderXPKG, o.FunctionXPKG} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%w: `make xpkg` builds the packages, `make test` Crossplane core as well", err)
		}
	}
	if o.Step == nil {
		o.Step = func(string) func() { return func() {} }
	}
	w := &World{opts: o}
	var err error
	if w.Root, err = devenv.Root(); err != nil {
		return nil, err
	}
	if w.Provider, err = metadataName(filepath.Join(w.Root, "package", "crossplane.yaml")); err != nil {
		return nil, err
	}
	if w.Function, err = metadataName(w.FunctionsYAML()); err != nil {
		return nil, err
	}
	return w, nil
}

// startControlPlane starts etcd and kube-apiserver with no CRDs (Crossplane's
// own come with xp.Start, the provider's from its package) and
// kube-controller-manager's garbage collector: Crossplane leaves composed
// resources to it, so without it a deleted XR orphans them and a dropped one
// stays behind its foregroundDeletion finalizer.
func (w *World) startControlPlane(ctx context.Context) error {
	none := filepath.Join(w.opts.Dir, "no-crds")
	if err := os.MkdirAll(none, 0o755); err != nil {
		return err
	}
	var err error
	if w.ControlPlane, err = devenv.StartControlPlane(w.opts.Assets, none, filepath.Join(w.opts.Dir, "kubeconfig")); err != nil {
		return err
	}
	_, err = w.ControlPlane.StartControllerManager(ctx)
	return err
}

// install does what a platform team does to install the packages: publish
// them, apply the Provider, the example's Function and the activation
// policy. Then it waits for Crossplane to report both Healthy and to have
// established the provider's CRDs.
func (w *World) install(ctx context.Context) error {
	fnRef, err := w.functionPackage()
	if err != nil {
		return err
	}
	if err := w.Push(ctx, w.opts.FunctionXPKG, strings.TrimPrefix(fnRef, Registry)); err != nil {
		return err
	}
	if err := w.PushProvider(ctx, FirstVersion); err != nil {
		return err
	}
	if err := w.RewriteImages(ctx, Registry); err != nil {
		return err
	}
	if err := w.ApplyProvider(ctx, FirstVersion); err != nil {
		return err
	}
	for _, m := range []struct{ stdin, file string }{{"", w.FunctionsYAML()}, {MRAP, "-"}} {
		if _, err := w.ControlPlane.Kubectl(ctx, m.stdin, "apply", "-f", m.file); err != nil {
			return err
		}
	}
	if err := w.Wait(ctx, 2*time.Minute, "condition=Healthy", "provider.pkg.crossplane.io/"+w.Provider, "function.pkg.crossplane.io/"+w.Function); err != nil {
		return err
	}
	crds := make([]string, 0, len(CRDs))
	for _, c := range CRDs {
		crds = append(crds, "crd/"+c)
	}
	return w.Wait(ctx, time.Minute, "condition=Established", crds...)
}

// PushProvider publishes the provider's package as Repository:tag. Each tag
// gets a digest of its own (the tag is written into the image's config, as
// a release's version label), so that pushing another tag is a new
// release to Crossplane: a new ProviderRevision, an upgrade.
func (w *World) PushProvider(ctx context.Context, tag string) error {
	img, err := tarball.ImageFromPath(w.opts.ProviderXPKG, nil)
	if err != nil {
		return fmt.Errorf("cannot read the package %s: %w", w.opts.ProviderXPKG, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	cfg.Config.Labels["org.opencontainers.image.version"] = tag
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	ref, err := name.NewTag(Repository + ":" + tag)
	if err != nil {
		return err
	}
	file := filepath.Join(w.opts.Dir, "provider-"+tag+".xpkg")
	if err := tarball.WriteToFile(file, ref, img); err != nil {
		return err
	}
	return w.Push(ctx, file, strings.TrimPrefix(ref.String(), Registry))
}

// ProviderManifest is the Provider object that installs Repository:tag, as
// the README's Install section shows it (without the optional runtime
// configuration, which this world's package runtime does not read).
func (w *World) ProviderManifest(tag string) string {
	return fmt.Sprintf(`apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata:
  name: %s
spec:
  package: %s:%s
`, w.Provider, Repository, tag)
}

// ApplyProvider applies ProviderManifest(tag) with kubectl: installing the
// first version or upgrading to another.
func (w *World) ApplyProvider(ctx context.Context, tag string) error {
	_, err := w.ControlPlane.Kubectl(ctx, w.ProviderManifest(tag), "apply", "-f", "-")
	return err
}

// FunctionsYAML is examples/composition/functions.yaml, which installs the
// composition's function.
func (w *World) FunctionsYAML() string {
	return filepath.Join(w.Root, "examples", "composition", "functions.yaml")
}

// functionPackage is the package functions.yaml installs, under Registry.
func (w *World) functionPackage() (string, error) {
	var fn struct {
		Spec struct {
			Package string `json:"package"`
		} `json:"spec"`
	}
	if err := readYAML(w.FunctionsYAML(), &fn); err != nil {
		return "", err
	}
	if !strings.HasPrefix(fn.Spec.Package, Registry) {
		return "", fmt.Errorf("%s installs %q, not a package under %s, where this world publishes it", w.FunctionsYAML(), fn.Spec.Package, Registry)
	}
	return fn.Spec.Package, nil
}

// Wait waits up to timeout for objects to meet `kubectl wait --for=forWhat`,
// failing at once with the cause when the world reports one (core or a
// package's process exited).
func (w *World) Wait(ctx context.Context, timeout time.Duration, forWhat string, objects ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		// kubectl wait fails at once on an object that does not exist yet,
		// so it waits in short rounds.
		_, err := w.ControlPlane.Kubectl(ctx, "", append([]string{"wait", "--for=" + forWhat, "--timeout=5s"}, objects...)...)
		if err == nil {
			return nil
		}
		if werr := w.Err(); werr != nil {
			return werr
		}
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %s: %w", forWhat, ctx.Err())
		}
		if time.Now().After(deadline) {
			// Bounded: the API server may be why the wait failed.
			diag, cancel := context.WithTimeout(ctx, 10*time.Second)
			out, _ := w.ControlPlane.Kubectl(diag, "", "get", "providers,providerrevisions,functions,functionrevisions,managedresourcedefinitions", "-o", "wide")
			cancel()
			return fmt.Errorf("not within %v: %w\n%s", timeout, err, out)
		}
		time.Sleep(time.Second)
	}
}

// Close stops Crossplane and its processes, then the control plane.
func (w *World) Close() error {
	var errs []error
	if w.World != nil {
		errs = append(errs, w.World.Close())
	}
	if w.ControlPlane != nil {
		errs = append(errs, w.ControlPlane.Stop())
	}
	return errors.Join(errs...)
}

// metadataName is the metadata.name of the manifest in file.
func metadataName(file string) (string, error) {
	var m struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := readYAML(file, &m); err != nil {
		return "", err
	}
	if m.Metadata.Name == "" {
		return "", fmt.Errorf("%s has no metadata.name", file)
	}
	return m.Metadata.Name, nil
}

func readYAML(file string, into any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		return fmt.Errorf("cannot read %s: %w", file, err)
	}
	return nil
}
