package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// leaseName is the provider's leader election lease (cmd/provider). A
// provider from source that takes part in the same election as an installed
// one never reconciles beside it: it waits for the lease.
const leaseName = "crossplane-leader-election-provider-alibabacloud-ecs"

// packageName is how an installed Provider's package names this provider.
const packageName = "provider-alibabacloud-ecs"

// crdsNeeded are what the provider from source needs to find in the
// cluster: without them, its controllers wait (safe-start) and nothing
// happens, which looks like a hang.
var crdsNeeded = []string{
	"imagesharepermissions.ecs.alibabacloud.m.crossplane.io",
	"imagesharepermissions.ecs.alibabacloud.crossplane.io",
	"providerconfigs.alibabacloud.m.crossplane.io",
	"clusterproviderconfigs.alibabacloud.m.crossplane.io",
}

var providerGVK = schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "ProviderList"}

// clusterPlan is what `make dev` found in the cluster of KUBECONFIG, and
// what it will do there.
type clusterPlan struct {
	context, server string
	leaseNamespace  string
	// installed describes each installed copy of this provider: a Provider
	// package, or a live holder of the lease.
	installed []string
}

// inspectCluster reads, without changing anything, whether the cluster has
// the CRDs and whether this provider is already installed or running there.
func inspectCluster(ctx context.Context, kubeconfig clientcmd.ClientConfig, leaseNamespace string) (*clusterPlan, client.Client, error) {
	raw, err := kubeconfig.RawConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read KUBECONFIG: %w", err)
	}
	cfg, err := kubeconfig.ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot use KUBECONFIG: %w", err)
	}
	cfg.Timeout = 30 * time.Second
	scheme, err := devenv.Scheme()
	if err != nil {
		return nil, nil, err
	}
	kube, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach the cluster at %s: %w", cfg.Host, err)
	}
	p := &clusterPlan{context: raw.CurrentContext, server: cfg.Host, leaseNamespace: leaseNamespace}

	var missing []string
	for _, name := range crdsNeeded {
		crd := &unstructured.Unstructured{}
		crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
		switch err := kube.Get(ctx, types.NamespacedName{Name: name}, crd); {
		case kerrors.IsNotFound(err):
			missing = append(missing, name)
		case err != nil:
			return nil, nil, fmt.Errorf("cannot read CRD %s at %s: %w", name, cfg.Host, err)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("the cluster at %s has no CRD %s: the provider from source would wait for it and do nothing. "+
			"Install the CRDs with `kubectl apply --server-side -f package/crds`, or install the package and activate its "+
			"resources (docs/install.md)", cfg.Host, strings.Join(missing, ", "))
	}

	providers := &unstructured.UnstructuredList{}
	providers.SetGroupVersionKind(providerGVK)
	switch err := kube.List(ctx, providers); {
	case meta.IsNoMatchError(err) || kerrors.IsNotFound(err):
		// No Crossplane package manager: no package can be installed.
	case err != nil:
		return nil, nil, fmt.Errorf("cannot list Crossplane Providers at %s: %w", cfg.Host, err)
	default:
		for _, pr := range providers.Items {
			pkg, _, _ := unstructured.NestedString(pr.Object, "spec", "package")
			if strings.Contains(pkg, packageName) {
				p.installed = append(p.installed, fmt.Sprintf("Provider %s (package %s)", pr.GetName(), pkg))
			}
		}
	}

	lease := &coordinationv1.Lease{}
	switch err := kube.Get(ctx, types.NamespacedName{Namespace: leaseNamespace, Name: leaseName}, lease); {
	case kerrors.IsNotFound(err):
	case err != nil:
		return nil, nil, fmt.Errorf("cannot read the lease %s/%s at %s: %w", leaseNamespace, leaseName, cfg.Host, err)
	default:
		if holder, live := leaseHolder(lease, time.Now()); live {
			p.installed = append(p.installed, fmt.Sprintf("a running provider holding the lease %s/%s (%s)", leaseNamespace, leaseName, holder))
		}
	}
	return p, kube, nil
}

// leaseHolder returns who holds the lease and whether they renewed it
// within its duration.
func leaseHolder(l *coordinationv1.Lease, now time.Time) (string, bool) {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" || l.Spec.RenewTime == nil {
		return "", false
	}
	d := 60 * time.Second
	if l.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return *l.Spec.HolderIdentity, now.Before(l.Spec.RenewTime.Add(d))
}

// describe tells the person what `make dev` will do to the cluster, or why
// it will not.
func (p *clusterPlan) describe(w io.Writer, force bool) error {
	_, _ = fmt.Fprintf(w, `dev: KUBECONFIG is set: the provider from this checkout runs against a real cluster
  context %s, API server %s.
  It reconciles every ImageSharePermission there, with the ProviderConfigs' real
  credentials and endpoints: shares it creates or deletes are real. No control plane
  or ECS simulator is started. It runs with leader election (lease %s/%s), so it
  never acts beside another copy that takes part in the same election.
`, p.context, p.server, p.leaseNamespace, leaseName)
	if len(p.installed) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("this provider is already installed there: %s. Two providers would reconcile the same shares. "+
			"Stop it first (delete the Provider, or scale its Deployment to 0), or run `make dev DEV_FORCE=1`: the provider "+
			"from source then waits for the lease and takes over only when the installed one stops renewing it, which "+
			"is safe only if the installed one runs with --leader-election", strings.Join(p.installed, "; "))
	}
	_, _ = fmt.Fprintf(w, "dev: DEV_FORCE is set and this provider is already installed there (%s): waiting for the lease before reconciling.\n",
		strings.Join(p.installed, "; "))
	return nil
}

// runCluster is `make dev` with KUBECONFIG set: the provider from source
// against that cluster, after saying what that means.
func runCluster(ctx context.Context, root, out string, force bool, leaseNamespace string, step func(string) func()) error {
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	kubeconfig := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &clientcmd.ConfigOverrides{})
	plan, kube, err := inspectCluster(ctx, kubeconfig, leaseNamespace)
	if err != nil {
		return err
	}
	if err := plan.describe(os.Stdout, force); err != nil {
		return err
	}
	ns := &unstructured.Unstructured{}
	ns.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"})
	if err := kube.Get(ctx, types.NamespacedName{Name: leaseNamespace}, ns); err != nil {
		return fmt.Errorf("the lease's namespace %s cannot be read (%w): create it, or choose another with DEV_LEASE_NAMESPACE", leaseNamespace, err)
	}

	done := step("building the provider")
	bin, err := devenv.BuildProvider(ctx, root, out)
	if err != nil {
		return err
	}
	done()
	kubeconfigPath := loading.GetDefaultFilename()
	if files := loading.GetLoadingPrecedence(); len(files) > 0 {
		kubeconfigPath = strings.Join(files, string(os.PathListSeparator))
	}
	// Unlike beside the simulator, the developer's own ALIBABA_CLOUD_*
	// variables are what a ClusterProviderConfig with source Environment
	// or RRSA means here, as a pod's environment would be in the cluster.
	var alibaba []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ALIBABA_CLOUD_") || strings.HasPrefix(kv, "ALICLOUD_") {
			alibaba = append(alibaba, kv)
		}
	}
	provider, err := devenv.StartProviderEnv(bin, kubeconfigPath, alibaba, os.Stdout, "--debug", "--leader-election",
		"--leader-election-namespace="+leaseNamespace, "--metrics-bind-address=0")
	if err != nil {
		return err
	}
	fmt.Println("dev: the provider's log follows; Ctrl-C stops it.")
	return follow(ctx, provider)
}
