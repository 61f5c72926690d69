// Package xpworld brings up the provider's world with Crossplane in the
// loop, as test/crossplane proves it and `make dev-crossplane` serves it:
// a control plane without the provider's CRDs, with kube-controller-manager's
// garbage collector; Crossplane core with its registry and package runtime
// (internal/devenv/xp); our provider and composition function installed from
// their package files as a user installs them (published with the crossplane
// CLI as `make publish` does, one multi-arch package each; then
// examples/install/provider.yaml, the example's Function and
// examples/install/activation-policy.yaml, applied with kubectl); and
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
	"slices"
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

// InstallDir is where the manifests a user applies to install the provider
// are (docs/install.md applies them as they are).
const InstallDir = "examples/install"

// FirstVersion is the tag of the package examples/install/provider.yaml
// installs, which Start publishes.
const FirstVersion = "v0.1.0"

// CRDs are the provider's managed resource CRDs the policy activates.
var CRDs = []string{
	"imagesharepermissions.ecs.alibabacloud.m.crossplane.io", "imagesharepermissions.ecs.alibabacloud.crossplane.io",
	"imagesharings.ecs.alibabacloud.m.crossplane.io", "imagesharings.ecs.alibabacloud.crossplane.io",
}

// Options say what to run.
type Options struct {
	// Assets holds kube-apiserver, etcd, kubectl and kube-controller-manager
	// (make's KUBEBUILDER_ASSETS).
	Assets string
	// CoreBinary is Crossplane core (make's CROSSPLANE_CORE).
	CoreBinary string
	// ProviderXPKGs and FunctionXPKGs are the package files `make xpkg`
	// builds, one per platform (make's XPKG_FILES and FUNCTION_XPKG_FILES).
	ProviderXPKGs, FunctionXPKGs []string
	// CLI is the crossplane CLI (make's CROSSPLANE), which publishes them.
	CLI string
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

// Env names the environment variables make sets (TEST_ENV) for what
// FromEnv reads: the package files are comma-separated lists, one file per
// platform, as `crossplane xpkg push -f` takes them.
var Env = []string{"CROSSPLANE_CORE", "CROSSPLANE", "XPKG_FILES", "FUNCTION_XPKG_FILES"}

// FromEnv sets CoreBinary, CLI, ProviderXPKGs and FunctionXPKGs from the
// environment (Env), naming in its error the first variable unset.
func (o *Options) FromEnv() error {
	v := map[string]string{}
	for _, k := range Env {
		if v[k] = os.Getenv(k); v[k] == "" {
			return fmt.Errorf("%s is not set", k)
		}
	}
	o.CoreBinary, o.CLI = v["CROSSPLANE_CORE"], v["CROSSPLANE"]
	o.ProviderXPKGs, o.FunctionXPKGs = strings.Split(v["XPKG_FILES"], ","), strings.Split(v["FUNCTION_XPKG_FILES"], ",")
	return nil
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
	// Repository is the provider's package without its tag, as
	// examples/install/provider.yaml names it (under Registry).
	Repository string

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
	if o.Assets == "" || o.CoreBinary == "" || o.CLI == "" || len(o.ProviderXPKGs) == 0 || len(o.FunctionXPKGs) == 0 || o.Dir == "" || o.Sim == nil {
		return nil, errors.New("xpworld.Options needs Assets, CoreBinary, CLI, ProviderXPKGs, FunctionXPKGs, Dir and Sim")
	}
	for _, f := range append([]string{o.CoreBinary, o.CLI}, append(o.ProviderXPKGs, o.FunctionXPKGs...)...) {
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
	pkg, err := PackageOf(w.InstallFile("provider.yaml"), "Provider")
	if err != nil {
		return nil, err
	}
	repo, tag, ok := strings.Cut(pkg, ":")
	if !ok || tag != FirstVersion {
		return nil, fmt.Errorf("%s installs %q; this world publishes the provider as <repository>:%s", w.InstallFile("provider.yaml"), pkg, FirstVersion)
	}
	w.Repository = repo
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

// install does what a platform team does to install the packages, as
// docs/install.md and examples/composition/README.md tell it: publish each
// as one multi-arch package (`make publish`), then apply
// examples/install/provider.yaml, the example's Function and
// examples/install/activation-policy.yaml with kubectl. It checks that the
// registry holds each package as an image index of every platform built,
// then waits for Crossplane to report both Healthy and to have established
// the provider's CRDs.
//
// provider.yaml's DeploymentRuntimeConfig is accepted but not acted on
// here: core runs with the External package runtime, which makes no
// Deployment (internal/devenv/xp runs the provider as a process, with
// Options.ProviderArgs).
func (w *World) install(ctx context.Context) error {
	fnRef, err := PackageOf(w.FunctionsYAML(), "Function")
	if err != nil {
		return err
	}
	if err := w.publish(ctx, w.opts.FunctionXPKGs, fnRef); err != nil {
		return err
	}
	if err := w.PushProvider(ctx, FirstVersion); err != nil {
		return err
	}
	if err := w.RewriteImages(ctx, Registry); err != nil {
		return err
	}
	for _, f := range []string{w.InstallFile("provider.yaml"), w.FunctionsYAML(), w.InstallFile("activation-policy.yaml")} {
		if _, err := w.ControlPlane.Kubectl(ctx, "", "apply", "-f", f); err != nil {
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

// publish pushes files as ref (a name under Registry) with the crossplane
// CLI, as `make publish` does, and checks that the registry then holds an
// image index with one image for each file's platform.
func (w *World) publish(ctx context.Context, files []string, ref string) error {
	if !strings.HasPrefix(ref, Registry) {
		return fmt.Errorf("the package %q is not under %s, where this world publishes", ref, Registry)
	}
	ref = strings.TrimPrefix(ref, Registry)
	if err := w.Publish(ctx, w.opts.CLI, files, ref); err != nil {
		return err
	}
	got, err := w.Platforms(ctx, ref)
	if err != nil {
		return err
	}
	var want []string
	for _, f := range files {
		img, err := tarball.ImageFromPath(f, nil)
		if err != nil {
			return fmt.Errorf("cannot read the package %s: %w", f, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return err
		}
		want = append(want, cfg.OS+"/"+cfg.Architecture)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("the registry's index %s holds %v; the files are for %v", ref, got, want)
	}
	return nil
}

// PushProvider publishes the provider's package files as Repository:tag,
// one multi-arch package. Each tag gets digests of its own (the tag is
// written into each image's config, as a release's version label), so that
// pushing another tag is a new release to Crossplane: a new
// ProviderRevision, an upgrade.
func (w *World) PushProvider(ctx context.Context, tag string) error {
	ref, err := name.NewTag(w.Repository + ":" + tag)
	if err != nil {
		return err
	}
	files := make([]string, 0, len(w.opts.ProviderXPKGs))
	for i, f := range w.opts.ProviderXPKGs {
		img, err := tarball.ImageFromPath(f, nil)
		if err != nil {
			return fmt.Errorf("cannot read the package %s: %w", f, err)
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
		file := filepath.Join(w.opts.Dir, fmt.Sprintf("provider-%s-%d.xpkg", tag, i))
		if err := tarball.WriteToFile(file, ref, img); err != nil {
			return err
		}
		files = append(files, file)
	}
	return w.publish(ctx, files, ref.String())
}

// ProviderManifest is examples/install/provider.yaml with the provider's
// package at tag: what a user applies to upgrade, having changed the tag in
// their copy.
func (w *World) ProviderManifest(tag string) (string, error) {
	b, err := os.ReadFile(w.InstallFile("provider.yaml"))
	if err != nil {
		return "", err
	}
	from := "package: " + w.Repository + ":" + FirstVersion
	if !strings.Contains(string(b), from) {
		return "", fmt.Errorf("%s has no line %q", w.InstallFile("provider.yaml"), from)
	}
	return strings.Replace(string(b), from, "package: "+w.Repository+":"+tag, 1), nil
}

// ApplyProvider applies ProviderManifest(tag) with kubectl: installing the
// first version or upgrading to another.
func (w *World) ApplyProvider(ctx context.Context, tag string) error {
	m, err := w.ProviderManifest(tag)
	if err != nil {
		return err
	}
	_, err = w.ControlPlane.Kubectl(ctx, m, "apply", "-f", "-")
	return err
}

// FunctionsYAML is examples/composition/functions.yaml, which installs the
// composition's function.
func (w *World) FunctionsYAML() string {
	return filepath.Join(w.Root, "examples", "composition", "functions.yaml")
}

// InstallFile is the file of examples/install named name.
func (w *World) InstallFile(name string) string {
	return filepath.Join(w.Root, filepath.FromSlash(InstallDir), name)
}

// PackageOf is spec.package of the object of kind in file, a YAML stream.
func PackageOf(file, kind string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	for _, doc := range strings.Split(string(b), "\n---") {
		var o struct {
			Kind string `json:"kind"`
			Spec struct {
				Package string `json:"package"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return "", fmt.Errorf("cannot read %s: %w", file, err)
		}
		if o.Kind == kind && o.Spec.Package != "" {
			return o.Spec.Package, nil
		}
	}
	return "", fmt.Errorf("%s holds no %s with a spec.package", file, kind)
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
