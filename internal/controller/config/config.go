// Package config runs the provider configuration kinds: it counts which
// managed resources use each configuration, reports who each
// configuration's credentials act as, and turns the configuration a managed
// resource refers to into an ECS client configuration.
package config

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
)

// kind is one provider configuration kind and the usage kind that counts
// its users.
type kind struct {
	object resource.ProviderConfig
	usage  client.Object
	gvks   resource.ProviderConfigKinds
}

func kinds() []kind {
	// Namespaced managed resources record their use of either namespaced
	// configuration kind as a namespaced ProviderConfigUsage beside them.
	modern := func(config schema.GroupVersionKind, obj resource.ProviderConfig) kind {
		return kind{object: obj, usage: &alibabacloudv1beta1.ProviderConfigUsage{}, gvks: resource.ProviderConfigKinds{
			Config:    config,
			Usage:     alibabacloudv1beta1.ProviderConfigUsageGroupVersionKind,
			UsageList: alibabacloudv1beta1.ProviderConfigUsageListGroupVersionKind,
		}}
	}
	return []kind{
		modern(alibabacloudv1beta1.ProviderConfigGroupVersionKind, &alibabacloudv1beta1.ProviderConfig{}),
		modern(alibabacloudv1beta1.ClusterProviderConfigGroupVersionKind, &alibabacloudv1beta1.ClusterProviderConfig{}),
		{object: &clusterv1beta1.ProviderConfig{}, usage: &clusterv1beta1.ProviderConfigUsage{}, gvks: resource.ProviderConfigKinds{
			Config:    clusterv1beta1.ProviderConfigGroupVersionKind,
			Usage:     clusterv1beta1.ProviderConfigUsageGroupVersionKind,
			UsageList: clusterv1beta1.ProviderConfigUsageListGroupVersionKind,
		}},
	}
}

// Setup adds a controller for each provider configuration kind that keeps
// its user count, stops it being deleted while in use, and reports its
// identity, resolving credentials through r.
func Setup(mgr ctrl.Manager, o controller.Options, r *Resolver) error {
	for _, k := range kinds() {
		if err := setup(mgr, o, k, r); err != nil {
			return err
		}
	}
	return nil
}

// SetupGated is Setup behind the safe-start gate: each controller starts
// once the CRDs it watches exist.
func SetupGated(mgr ctrl.Manager, o controller.Options, r *Resolver) error {
	for _, k := range kinds() {
		o.Gate.Register(func() {
			if err := setup(mgr, o, k, r); err != nil {
				mgr.GetLogger().Error(err, "cannot set up provider configuration controller", "kind", k.gvks.Config.String())
			}
		}, k.gvks.Config, k.gvks.Usage)
	}
	return nil
}

func setup(mgr ctrl.Manager, o controller.Options, k kind, resolver *Resolver) error {
	name := providerconfig.ControllerName(k.gvks.Config.GroupKind().String())
	log := o.Logger.WithValues("controller", name)
	usage := providerconfig.NewReconciler(mgr, k.gvks,
		providerconfig.WithLogger(log),
		providerconfig.WithRecorder(event.NewAPIRecorder(mgr.GetEventRecorderFor(name)))) //nolint:staticcheck // event.NewAPIRecorder still takes the deprecated recorder.
	r := &identityReconciler{
		usage: usage, kube: mgr.GetClient(), resolver: resolver, gvk: k.gvks.Config, log: log,
		newObj:  func() client.Object { return k.object.DeepCopyObject().(client.Object) }, //nolint:forcetypeassert // Every configuration kind is a client.Object.
		checked: map[reconcile.Request]check{},
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(k.object).
		Watches(k.usage, &resource.EnqueueRequestForProviderConfig{Kind: k.gvks.Config.Kind}).
		Complete(ratelimiter.NewReconciler(name, r, o.GlobalRateLimiter))
}
