// Command dev runs the provider on this machine as `make dev` does: a real
// etcd and kube-apiserver with the provider's CRDs, the ECS simulator (ECS,
// STS and the instance metadata service) with its demo tenant and a partner
// account whose role the demo owner may assume, credentials and a
// ClusterProviderConfig pointing at it, and the provider itself in the
// foreground. Ctrl-C stops all of it.
//
// With --crossplane (`make dev-crossplane`) it serves the world
// test/crossplane proves instead (internal/devenv/xpworld): Crossplane core
// installs the provider's and the composition function's packages from a
// loopback registry, with kube-controller-manager's garbage collector beside
// the API server, so that the composition example runs as on a cluster.
//
// With --cluster (`make dev` with KUBECONFIG set) it runs only the provider
// from source, against that cluster: it first says what that means, refuses
// when the provider is installed or running there (unless --force), and runs
// with leader election, so that two copies never reconcile the same shares.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dev:", err)
		os.Exit(1)
	}
}

func run() error {
	simListen := flag.String("sim-listen", "127.0.0.1:8080", "address of the ECS simulator")
	poll := flag.Duration("poll", 15*time.Second, "the provider's --poll")
	outDir := flag.String("out", "", "where to write the kubeconfig and the provider binary (default _output/dev)")
	withCrossplane := flag.Bool("crossplane", false, "install the provider and the composition function through Crossplane core, "+
		"from the package files named by XPKG_FILES and FUNCTION_XPKG_FILES, published with the CLI CROSSPLANE, with the core binary CROSSPLANE_CORE (make dev-crossplane sets them)")
	cluster := flag.Bool("cluster", false, "run only the provider from source, against the cluster of KUBECONFIG, with leader election; "+
		"refuses if the provider is installed or running there (make dev sets it when KUBECONFIG is set)")
	force := flag.Bool("force", false, "with --cluster, run even beside an installed provider, waiting for its lease (make dev DEV_FORCE=1)")
	leaseNamespace := flag.String("lease-namespace", "crossplane-system", "with --cluster, the namespace of the leader election lease: "+
		"the installed provider's (make dev DEV_LEASE_NAMESPACE=...)")
	flag.Parse()

	root, err := devenv.Root()
	if err != nil {
		return err
	}
	out := *outDir
	if out == "" {
		out = filepath.Join(root, "_output", "dev")
	}
	// Whatever ends the session, stop what we started: envtest runs etcd and
	// kube-apiserver in process groups of their own, so no terminal signal
	// reaches them. A closed pipe on stdout (make dev | tee, then Ctrl-C)
	// must not kill us before the cleanup either.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	step := func(what string) func() {
		fmt.Printf("dev: %s...", what)
		begin := time.Now()
		return func() { fmt.Printf(" %v\n", time.Since(begin).Round(time.Millisecond)) }
	}
	if *cluster {
		return runCluster(ctx, root, out, *force, *leaseNamespace, step)
	}

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run `make dev`, which builds the control plane and sets it")
	}
	if *withCrossplane {
		return runCrossplane(ctx, assets, out, *simListen, *poll, step)
	}

	done := step("building the provider")
	bin, err := devenv.BuildProvider(ctx, root, out)
	if err != nil {
		return err
	}
	done()

	done = step("starting etcd and kube-apiserver")
	cp, err := devenv.StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(out, "kubeconfig"))
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("dev: stopping the control plane")
		_ = cp.Stop()
	}()
	done()

	sim, err := devenv.StartSimulator(devenv.DevWorld(), *simListen)
	if err != nil {
		return fmt.Errorf("cannot start the ECS simulator on %s (use --sim-listen or SIM_LISTEN for another address): %w", *simListen, err)
	}
	defer func() { _ = sim.Stop() }()

	done = step("installing credentials and ProviderConfigs")
	if err := devenv.Bootstrap(ctx, cp, root, sim); err != nil {
		return err
	}
	done()

	provider, err := devenv.StartProvider(bin, cp.Kubeconfig, os.Stdout, "--debug", "--poll="+poll.String(), "--metrics-bind-address=0", devenv.TenantEndpointsFlag,
		"--ecs-metadata-endpoint="+sim.MetadataURL)
	if err != nil {
		return err
	}
	fmt.Printf(`
dev: everything is up. In another terminal:

  export KUBECONFIG=%[1]s
  export PATH=%[2]s:$PATH          # the kubectl built with the control plane

  kubectl apply -f examples/namespaced/imagesharepermission.yaml
  kubectl apply -f examples/cluster/imagesharepermission.yaml
  kubectl get managed
  kubectl describe imagesharepermissions.ecs.alibabacloud.m.crossplane.io demo-share
  kubectl get clusterproviderconfigs          # IDENTITY: who the credentials act as

Share a family's newest versions with a list of accounts, then publish a new
version and watch it shared, and the oldest unshared, at the next poll:

  kubectl apply -f examples/namespaced/imagesharing-family.yaml
  curl -s -X POST %[3]s/_sim/families/cn-hangzhou/golden-base/versions -d '{"id":"m-golden03"}'
  kubectl get imagesharings.ecs.alibabacloud.m.crossplane.io golden-base -o yaml

Share another account's image by assuming its role (account %[4]s lets the
demo owner assume %[5]s when it sends ExternalId %[6]s):

  kubectl apply -f examples/namespaced/secret.yaml
  kubectl patch --local -f examples/namespaced/providerconfig-assumerole.yaml --type=merge -o yaml \
    -p '{"spec":{"endpoint":"%[3]s","stsEndpoint":"%[3]s"}}' | kubectl apply -f -
  kubectl apply -f examples/namespaced/imagesharepermission-assumerole.yaml
  kubectl get providerconfigs.alibabacloud.m.crossplane.io partner -n default
  curl -s '%[3]s/_sim/calls?by=principal'      # who made each call

The ECS simulator (demo tenant, AccessKey LTAIdemoOwnerKey0001) is at %[3]s:

  curl -s %[3]s/_sim/images/cn-hangzhou/m-demo0001/shares
  curl -s -X DELETE %[3]s/_sim/images/cn-hangzhou/m-demo0001/shares/3333333333333333   # drift: watch it come back
  curl -s %[3]s/_sim/counters

Ctrl-C stops the provider, the simulator and the control plane.
The provider's log follows.

`, cp.Kubeconfig, assets, sim.URL, devenv.PartnerAccount, devenv.PartnerRoleARN(), devenv.PartnerExternalID)

	return follow(ctx, provider)
}

// follow runs until ctx ends (Ctrl-C), then stops the provider; a provider
// that exits first is an error.
func follow(ctx context.Context, provider *devenv.Provider) error {
	select {
	case <-ctx.Done():
	case <-provider.Done():
		// Ctrl-C in a terminal signals the provider too, and it may notice
		// first: that is a normal stop, not a crash.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
			if err := provider.Err(); err != nil {
				return fmt.Errorf("the provider exited: %w", err)
			}
			return errors.New("the provider exited")
		}
	}
	fmt.Println("\ndev: stopping the provider")
	_ = provider.Stop(10 * time.Second)
	return nil
}
