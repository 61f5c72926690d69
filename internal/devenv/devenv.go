// Package devenv brings up the provider's whole world on one machine: a real
// etcd and kube-apiserver (through controller-runtime's envtest, from
// binaries built by `make controlplane`) with, for those that ask,
// kube-controller-manager's garbage collector, the provider's CRDs, the ECS
// simulator, credentials and a ClusterProviderConfig pointing at it, and the
// provider binary as a separate process. `make dev` and the e2e suite both
// use it, so what a developer runs is what the tests prove.
package devenv

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/testpki"
)

// Root is the repository root, found from the working directory.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package", "crds")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (a go.mod beside package/crds) above the working directory")
		}
		dir = parent
	}
}

// ControlPlane is a running etcd and kube-apiserver with the provider's CRDs.
type ControlPlane struct {
	env *envtest.Environment
	// Config reaches the API server as an administrator.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for the same.
	Kubeconfig string
	// KubectlPath is the kubectl binary built beside the control plane.
	KubectlPath string
	// apiserver is the kube-apiserver RestartAPIServer started, if any.
	apiserver *apiServerProcess
	// controllerManager is the kube-controller-manager
	// StartControllerManager started, if any.
	controllerManager *ControllerManager
}

// StartControlPlane starts etcd and kube-apiserver from the binaries in
// assets (kube-apiserver, etcd, kubectl), installs the CRDs in crdDir and
// writes a kubeconfig to kubeconfigPath.
func StartControlPlane(assets, crdDir, kubeconfigPath string) (*ControlPlane, error) {
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s: run `make controlplane` to build it", bin, assets)
		}
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{crdDir},
		ErrorIfCRDPathMissing: true,
		// A cold start on a loaded 2-core machine can be slow.
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	cfg, err := env.Start()
	if err != nil {
		// Start can fail after etcd and kube-apiserver run (installing the
		// CRDs, say): stop what it started, or they outlive the test.
		_ = env.Stop()
		return nil, fmt.Errorf("cannot start the control plane: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfigPath), 0o755); err != nil {
		_ = env.Stop()
		return nil, err
	}
	if err := os.WriteFile(kubeconfigPath, env.KubeConfig, 0o600); err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &ControlPlane{env: env, Config: cfg, Kubeconfig: kubeconfigPath, KubectlPath: filepath.Join(assets, "kubectl")}, nil
}

// Stop stops kube-controller-manager if it was started, kube-apiserver and
// etcd, and removes their state. That kube-controller-manager had exited
// before is an error, with its output.
func (c *ControlPlane) Stop() error {
	kcm := c.stopControllerManager()
	c.stopRestartedAPIServer()
	return errors.Join(kcm, c.env.Stop())
}

// KubectlCmd is a kubectl command against the control plane.
func (c *ControlPlane) KubectlCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.KubectlPath, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	return cmd
}

// Kubectl runs kubectl with stdin (may be empty) and returns its combined
// output; a failure includes that output.
func (c *ControlPlane) Kubectl(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := c.KubectlCmd(ctx, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Simulator is the ECS simulator served on a loopback port.
type Simulator struct {
	*ecssim.Simulator
	// URL is its endpoint, such as http://127.0.0.1:41234, or https:// when
	// served with TLS.
	URL string
	// CABundle is the PEM certificate of the CA that signs its certificate
	// when served with TLS; nil for http.
	CABundle []byte
	// MetadataURL serves the same simulator over plain http, as the ECS
	// instance metadata service is served (http://100.100.100.200): the
	// provider's --ecs-metadata-endpoint. It equals URL when that is http.
	MetadataURL string
	servers     []*http.Server
}

// StartSimulator serves an ECS simulator seeded with cfg over http on addr
// (such as 127.0.0.1:0 for any free port).
func StartSimulator(cfg ecssim.Config, addr string, opts ...ecssim.Option) (*Simulator, error) {
	return startSimulator(cfg, addr, nil, opts...)
}

// StartTLSSimulator serves an ECS simulator seeded with cfg over https on a
// loopback addr, with a certificate from a new test CA, as ECS is served:
// the provider must then be told to trust that CA, as Bootstrap does.
func StartTLSSimulator(cfg ecssim.Config, addr string, opts ...ecssim.Option) (*Simulator, error) {
	ca, err := testpki.NewCA("ecs-simulator test CA")
	if err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	conf, err := ca.ServerTLS(host)
	if err != nil {
		return nil, err
	}
	sim, err := startSimulator(cfg, addr, conf, opts...)
	if err != nil {
		return nil, err
	}
	sim.CABundle = ca.PEM
	// The metadata service is plain http on a real instance, and a client
	// that trusts no test CA must reach it: a second, plain listener on the
	// same host.
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		_ = sim.Stop()
		return nil, err
	}
	sim.MetadataURL = "http://" + ln.Addr().String()
	sim.serve(ln)
	return sim, nil
}

func startSimulator(cfg ecssim.Config, addr string, conf *tls.Config, opts ...ecssim.Option) (*Simulator, error) {
	sim, err := ecssim.New(cfg, opts...)
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if conf != nil {
		ln, scheme = tls.NewListener(ln, conf), "https"
	}
	s := &Simulator{Simulator: sim, URL: scheme + "://" + ln.Addr().String()}
	if conf == nil {
		s.MetadataURL = s.URL
	}
	s.serve(ln)
	return s, nil
}

// serve serves the simulator on ln until Stop.
func (s *Simulator) serve(ln net.Listener) {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// Stop stops serving.
func (s *Simulator) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs := make([]error, 0, len(s.servers))
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// Bootstrap installs what the examples need beside the control plane: the
// crossplane-system namespace, the example credentials Secret (whose demo
// AccessKey the simulator's demo tenant accepts) and the example
// ClusterProviderConfig and cluster-scoped ProviderConfig "default", pointed
// at sim for both ECS and STS (the provider asks STS who every
// configuration's credentials act as) and, when it serves https, trusting
// its CA.
func Bootstrap(ctx context.Context, c *ControlPlane, root string, sim *Simulator) error {
	spec := map[string]any{"endpoint": sim.URL, "stsEndpoint": sim.URL}
	// Applied, not created: with Crossplane in the loop (internal/devenv/xp)
	// the namespace exists before the provider's CRDs this needs.
	if _, err := c.Kubectl(ctx, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: crossplane-system\n", "apply", "-f", "-"); err != nil {
		return err
	}
	steps := [][]string{
		{"apply", "-f", filepath.Join(root, "examples", "secret.yaml")},
	}
	if sim.CABundle != nil {
		steps = append(steps, []string{"create", "secret", "generic", SimulatorCASecret, "-n", "crossplane-system", "--from-literal=ca.crt=" + string(sim.CABundle)})
		spec["tls"] = map[string]any{"caBundleSecretRef": map[string]string{"namespace": "crossplane-system", "name": SimulatorCASecret, "key": "ca.crt"}}
	}
	patch, err := json.Marshal(map[string]any{"spec": spec})
	if err != nil {
		return err
	}
	steps = append(steps,
		[]string{"apply", "-f", filepath.Join(root, "examples", "clusterproviderconfig.yaml")},
		[]string{"patch", "clusterproviderconfig.alibabacloud.m.crossplane.io", "default", "--type=merge", "-p", string(patch)},
		[]string{"apply", "-f", filepath.Join(root, "examples", "cluster", "providerconfig.yaml")},
		[]string{"patch", "providerconfig.alibabacloud.crossplane.io", "default", "--type=merge", "-p", string(patch)},
	)
	for _, args := range steps {
		if _, err := c.Kubectl(ctx, "", args...); err != nil {
			return err
		}
	}
	return nil
}

// SimulatorCASecret, in crossplane-system, holds the CA that signs the
// simulator's certificate under the key ca.crt.
const SimulatorCASecret = "ecs-simulator-ca"

// BuildProvider builds cmd/provider into dir and returns the binary's path.
func BuildProvider(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "provider")
	return bin, GoBuild(ctx, root, bin, "./cmd/provider")
}

// GoBuild builds the packages of the module in moduleDir as the Makefile
// builds the binaries it ships: static (CGO_ENABLED=0) and with -trimpath.
// out is go build's -o: the binary's path for one package, or a directory
// ending in a separator for several, each binary named for its package.
// Every build a test or make dev runs goes through it, and make lint runs
// with the same settings, so that all of them and make xpkg compile the
// dependencies once between them rather than once per set of flags.
func GoBuild(ctx context.Context, moduleDir, out string, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-trimpath", "-o", out}, pkgs...)...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w: %s", strings.Join(pkgs, " "), moduleDir, err, out)
	}
	return nil
}

// Provider is the provider binary running as a separate process.
type Provider struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how it exited, once exited is closed
}

// TenantEndpointsFlag admits the simulator, which serves on loopback, to
// namespaced ProviderConfigs beside Alibaba Cloud's own endpoints, as an
// operator admits an endpoint of its own: every world that runs the
// provider against the simulator passes it, explicitly, since the
// provider's default refuses loopback to tenants.
const TenantEndpointsFlag = "--tenant-endpoints=" + alisdk.DefaultTenantEndpoints + ",127.0.0.1"

// StartProvider runs the provider binary against kubeconfig with args,
// writing its log to out.
func StartProvider(bin, kubeconfig string, out io.Writer, args ...string) (*Provider, error) {
	return StartProviderEnv(bin, kubeconfig, nil, out, args...)
}

// StartProviderEnv is StartProvider with env ("NAME=value") added to the
// provider's environment, as a pod's spec or a mutating webhook (ACK's pod
// identity webhook injects RRSA's ALIBABA_CLOUD_* variables) adds them.
//
// Alibaba Cloud's variables of this process's own environment are left out:
// a developer's real credentials or RRSA settings must neither reach a
// provider that talks to the simulator nor stand in for what a test sets.
func StartProviderEnv(bin, kubeconfig string, env []string, out io.Writer, args ...string) (*Provider, error) {
	cmd := exec.Command(bin, args...)
	inherited := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "ALIBABA_CLOUD_") || strings.HasPrefix(kv, "ALICLOUD_")
	})
	cmd.Env = append(append(inherited, "KUBECONFIG="+kubeconfig), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Provider{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Stop asks the provider to stop (SIGTERM) and kills it if it has not
// within grace.
func (p *Provider) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	return p.err
}

// Kill ends the provider at once, as a crash or an evicted pod would.
func (p *Provider) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Pid is the provider process's id: the provider sends it in its ECS
// User-Agent, so a test can tell which replica made a call.
func (p *Provider) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the provider has exited; Err then says how.
func (p *Provider) Done() <-chan struct{} { return p.exited }

// Err is how the provider exited; nil while it runs.
func (p *Provider) Err() error {
	select {
	case <-p.exited:
		return p.err
	default:
		return nil
	}
}
