package xp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// The certificates work as core and a function use them: a mutual TLS
// handshake to 127.0.0.1, each side verifying the other against the CA.
func TestPKI(t *testing.T) {
	dir := t.TempDir()
	coreDir, fnDir := filepath.Join(dir, "core"), filepath.Join(dir, "fn")
	if err := writePKI(coreDir, fnDir); err != nil {
		t.Fatal(err)
	}
	load := func(dir string) (tls.Certificate, *x509.CertPool) {
		t.Helper()
		cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			t.Fatalf("%s/ca.crt holds no certificate", dir)
		}
		return cert, pool
	}
	serverCert, clientCAs := load(fnDir)
	clientCert, rootCAs := load(coreDir)

	// The function SDK's server configuration (function-sdk-go sdk.go).
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert},
		ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			err = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
		served <- err
	}()
	// Core's client configuration (crossplane-runtime LoadMTLSConfig).
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{clientCert}, RootCAs: rootCAs,
	})
	if err != nil {
		t.Fatalf("core's side of the handshake: %v", err)
	}
	_ = c.Close()
	if err := <-served; err != nil {
		t.Fatalf("the function's side of the handshake: %v", err)
	}
}

// A package file pushed under a name is pulled back by that name, with the
// same digest, over plain http as Crossplane pulls it.
func TestPush(t *testing.T) {
	w := &World{logs: t.TempDir()}
	if err := w.serveRegistry(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Close() }()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pkg.xpkg")
	if err := tarball.WriteToFile(file, name.MustParseReference("registry.example.org/platform/pkg:v0.1.0"), img); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(t.Context(), file, "platform/pkg:v0.1.0"); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(w.Registry + "/platform/pkg:v0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	if got != want {
		t.Errorf("pulled digest %s, pushed %s", got, want)
	}
}

// TestWorld installs our packages through Crossplane as a user does, waits
// for them to be Healthy and for Crossplane to install the provider's CRDs,
// composes the example through the function (over mutual TLS, at the
// endpoint the runtime published), then upgrades the provider and sees its
// process restarted. The scenarios themselves are test/crossplane's.
func TestWorld(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and Crossplane")
	}
	env := map[string]string{}
	for _, k := range []string{"KUBEBUILDER_ASSETS", "CROSSPLANE_CORE", "XPKG", "FUNCTION_XPKG"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			t.Skipf("%s is not set: make test sets it (and builds the control plane, Crossplane core and the packages)", k)
		}
	}
	ctx := t.Context()
	root, err := devenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	crds, err := CRDDir(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	provider, err := devenv.BuildProvider(ctx, root, bin)
	if err != nil {
		t.Fatal(err)
	}
	function, err := BuildFunction(ctx, root, bin)
	if err != nil {
		t.Fatal(err)
	}

	// Crossplane's CRDs only: the provider's come from its package.
	cp, err := devenv.StartControlPlane(env["KUBEBUILDER_ASSETS"], crds, filepath.Join(t.TempDir(), "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	w, err := Start(ctx, Options{
		ControlPlane: cp, Dir: t.TempDir(), CoreBinary: env["CROSSPLANE_CORE"], CRDs: crds,
		ProviderBinary: provider, ProviderArgs: []string{"--debug", "--metrics-bind-address=0"},
		FunctionBinary: function, FunctionArgs: []string{"--debug"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(w.Logs())
		}
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	})

	for file, ref := range map[string]string{env["XPKG"]: "platform/provider-alibabacloud-ecs:v0.1.0", env["FUNCTION_XPKG"]: "platform/function-imageshare:v0.1.0"} {
		if err := w.Push(ctx, file, ref); err != nil {
			t.Fatal(err)
		}
	}
	// The second provider version: the same package under another digest,
	// made by a config label (a tarball keeps no manifest annotations).
	img, err := tarball.ImageFromPath(env["XPKG"], nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	cfg.Config.Labels["org.opencontainers.image.version"] = "v0.1.1"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	v2 := filepath.Join(t.TempDir(), "provider-v0.1.1.xpkg")
	if err := tarball.WriteToFile(v2, name.MustParseReference("registry.example.org/platform/provider-alibabacloud-ecs:v0.1.1"), img); err != nil {
		t.Fatal(err)
	}
	if err := w.Push(ctx, v2, "platform/provider-alibabacloud-ecs:v0.1.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.RewriteImages(ctx, "registry.example.org/"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	kubectl(t, cp, providerYAML("v0.1.0"), "apply", "-f", "-")
	kubectl(t, cp, "", "apply", "-f", filepath.Join(root, "examples", "composition", "functions.yaml"))
	kubectl(t, cp, `apiVersion: apiextensions.crossplane.io/v1alpha1
kind: ManagedResourceActivationPolicy
metadata:
  name: alibabacloud-ecs
spec:
  activate:
  - "*.ecs.alibabacloud.m.crossplane.io"
  - "*.ecs.alibabacloud.crossplane.io"
`, "apply", "-f", "-")
	wait(t, w, cp, "condition=Healthy", "provider.pkg.crossplane.io/provider-alibabacloud-ecs", "function.pkg.crossplane.io/function-imageshare")
	t.Logf("packages Healthy %s after install", time.Since(start).Round(time.Millisecond))
	wait(t, w, cp, "condition=Established", "crd/imagesharepermissions.ecs.alibabacloud.m.crossplane.io", "crd/imagesharepermissions.ecs.alibabacloud.crossplane.io")
	t.Logf("provider CRDs Established %s after install", time.Since(start).Round(time.Millisecond))

	dir := filepath.Join(root, "examples", "composition")
	kubectl(t, cp, "", "apply", "-f", filepath.Join(dir, "definition.yaml"))
	wait(t, w, cp, "condition=Established", "xrd/imageshares.platform.example.org")
	kubectl(t, cp, "", "apply", "-f", filepath.Join(dir, "composition.yaml"), "-f", filepath.Join(dir, "imageshare.yaml"))
	// The function answered: the XR's status is the function's, and there
	// is a share per distinct account (not Ready: no ECS here).
	wait(t, w, cp, "jsonpath={.status.accounts}=2", "-n", "default", "imageshare/golden-image")
	out, err := cp.Kubectl(ctx, "", "get", "-n", "default", "imagesharepermissions.ecs.alibabacloud.m.crossplane.io", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(out)); n != 2 {
		t.Errorf("%d ImageSharePermissions composed, want 2:\n%s", n, out)
	}
	t.Logf("example composed %s after install", time.Since(start).Round(time.Millisecond))

	before := w.Process("provider-alibabacloud-ecs").Pid()
	start = time.Now()
	kubectl(t, cp, providerYAML("v0.1.1"), "apply", "-f", "-")
	wait(t, w, cp, "jsonpath={.status.currentIdentifier}=registry.example.org/platform/provider-alibabacloud-ecs:v0.1.1", "provider.pkg.crossplane.io/provider-alibabacloud-ecs")
	wait(t, w, cp, "condition=Healthy", "provider.pkg.crossplane.io/provider-alibabacloud-ecs")
	t.Logf("upgraded package Healthy %s after the upgrade", time.Since(start).Round(time.Millisecond))
	if after := w.Process("provider-alibabacloud-ecs").Pid(); after == before {
		t.Errorf("the provider process (pid %d) was not restarted for the new revision", before)
	}
}

func providerYAML(version string) string {
	return `apiVersion: pkg.crossplane.io/v1
kind: Provider
metadata:
  name: provider-alibabacloud-ecs
spec:
  package: registry.example.org/platform/provider-alibabacloud-ecs:` + version + "\n"
}

func kubectl(t *testing.T, cp *devenv.ControlPlane, stdin string, args ...string) {
	t.Helper()
	if _, err := cp.Kubectl(t.Context(), stdin, args...); err != nil {
		t.Fatal(err)
	}
}

// wait waits up to two minutes for objects to meet `kubectl wait --for`,
// failing at once with the cause when the world reports one.
func wait(t *testing.T, w *World, cp *devenv.ControlPlane, forWhat string, objects ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		// kubectl wait fails at once on an object that does not exist yet.
		_, err := cp.Kubectl(t.Context(), "", append([]string{"wait", "--for=" + forWhat, "--timeout=5s"}, objects...)...)
		if err == nil {
			return
		}
		if werr := w.Err(); werr != nil {
			t.Fatal(werr)
		}
		if time.Now().After(deadline) {
			out, _ := cp.Kubectl(context.Background(), "", "get", "providers,providerrevisions,functions,functionrevisions,managedresourcedefinitions", "-o", "wide")
			t.Fatalf("after 2m: %v\n%s", err, out)
		}
		time.Sleep(time.Second)
	}
}
