package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xpworld"
)

// runCrossplane is `make dev-crossplane`: the world test/crossplane proves,
// for a person. It runs until ctx ends or a process of the world exits.
func runCrossplane(ctx context.Context, assets, out, simListen string, poll time.Duration, step func(string) func()) error {
	opts := xpworld.Options{Assets: assets}
	if err := opts.FromEnv(); err != nil {
		return fmt.Errorf("%w: run `make dev-crossplane`, which builds Crossplane core, the CLI and the packages and sets it", err)
	}
	// Each session starts afresh: Crossplane's package cache, certificates
	// and logs from the last one would only mislead.
	dir := filepath.Join(out, "crossplane-world")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	sim, err := devenv.StartSimulator(devenv.DevWorld(), simListen) //nolint:contextcheck // It serves until Stop, not for a context.
	if err != nil {
		return fmt.Errorf("cannot start the ECS simulator on %s (use --sim-listen or SIM_LISTEN for another address): %w", simListen, err)
	}
	defer func() { _ = sim.Stop() }() //nolint:contextcheck // Stopping must not depend on the context that ended.

	opts.Dir, opts.Sim = dir, sim
	opts.ProviderArgs = []string{"--debug", "--poll=" + poll.String(), "--metrics-bind-address=0", devenv.TenantEndpointsFlag}
	opts.FunctionArgs = []string{"--debug"}
	opts.Step = step
	w, err := xpworld.Start(ctx, opts)
	logs := filepath.Join(dir, "crossplane", "logs")
	if err != nil {
		return fmt.Errorf("%w\nthe logs of Crossplane, the provider and the function are in %s", err, logs)
	}
	defer func() { //nolint:contextcheck // Stopping must not depend on the context that ended.
		fmt.Println("dev: stopping Crossplane, the provider, the function and the control plane")
		_ = w.Close()
	}()

	fmt.Printf(`
dev: everything is up. Crossplane core installed the Provider %[4]s and the
Function %[5]s from the registry at %[6]s, which an ImageConfig puts in
place of registry.example.org. In another terminal:

  export KUBECONFIG=%[1]s
  export PATH=%[2]s:$PATH          # the kubectl built with the control plane

  kubectl get providers,functions,managedresourcedefinitions
  kubectl apply -f examples/composition/definition.yaml
  kubectl wait --for=condition=Established xrd/imageshares.platform.example.org
  kubectl apply -f examples/composition/composition.yaml -f examples/composition/imageshare.yaml
  kubectl get imageshares,managed -n default            # one ImageSharePermission per account
  curl -s %[3]s/_sim/images/cn-shanghai/m-demo0004/shares   # the shares in ECS

  kubectl patch imageshare golden-image -n default --type=merge \
    -p '{"spec":{"accountIds":["2222222222222222","9999999999999999"]}}'   # one share goes, one comes
  kubectl delete imageshare golden-image -n default       # every share goes

The logs of Crossplane core, the provider and the function:

  tail -f %[7]s/*.log

Ctrl-C stops Crossplane, the provider, the function, the simulator and the
control plane.
`, w.ControlPlane.Kubeconfig, assets, sim.URL, w.Provider, w.Function, w.Registry, logs)

	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Println()
			return nil
		case <-t.C:
			if err := w.Err(); err != nil {
				// Ctrl-C in a terminal signals the processes too, and one
				// may notice first: that is a normal stop, not a crash.
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(time.Second):
					return fmt.Errorf("%w; the logs are in %s", err, logs)
				}
			}
		}
	}
}
