// Package config runs the provider configuration kinds: it counts which
// managed resources use each configuration, and turns the configuration a
// managed resource refers to into an ECS client configuration.
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

	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/alibabacloud/v1beta1"
	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
)

// kind is one provider configuration kind and the usage kind that counts its users.
type kind struct {
	config      schema.GroupVersionKind
	object      resource.ProviderConfig
	usage       client.Object
	usages      resource.ProviderConfigKinds
	gatedByKind []schema.GroupVersionKind
}

func kinds() []kind {
	m := func(gvk schema.GroupVersionKind, obj resource.ProviderConfig) kind {
		return kind{
			config: gvk, object: obj, usage: &alibabacloudv1beta1.ProviderConfigUsage{},
			// Namespaced managed resources record their use of either kind
			// as a namespaced ProviderConfigUsage beside them.
			usages: resource.ProviderConfigKinds{
				Config:    gvk,
				Usage:     alibabacloudv1beta1.ProviderConfigUsageGroupVersionKind,
				UsageList: alibabacloudv1beta1.ProviderConfigUsageListGroupVersionKind,
			},
			gatedByKind: []schema.GroupVersionKind{gvk, alibabacloudv1beta1.ProviderConfigUsageGroupVersionKind},
		}
	}
	return []kind{
		m(alibabacloudv1beta1.ProviderConfigGroupVersionKind, &alibabacloudv1beta1.ProviderConfig{}),
		m(alibabacloudv1beta1.ClusterProviderConfigGroupVersionKind, &alibabacloudv1beta1.ClusterProviderConfig{}),
		{
			config: clusterv1beta1.ProviderConfigGroupVersionKind, object: &clusterv1beta1.ProviderConfig{},
			usage: &clusterv1beta1.ProviderConfigUsage{},
			usages: resource.ProviderConfigKinds{
				Config:    clusterv1beta1.ProviderConfigGroupVersionKind,
				Usage:     clusterv1beta1.ProviderConfigUsageGroupVersionKind,
				UsageList: clusterv1beta1.ProviderConfigUsageListGroupVersionKind,
			},
			gatedByKind: []schema.GroupVersionKind{clusterv1beta1.ProviderConfigGroupVersionKind, clusterv1beta1.ProviderConfigUsageGroupVersionKind},
		},
	}
}

// Setup adds a controller for each provider configuration kind that keeps
// its user count and stops it being deleted while in use.
func Setup(mgr ctrl.Manager, o controller.Options) error {
	for _, k := range kinds() {
		if err := setup(mgr, o, k); err != nil {
			return err
		}
	}
	return nil
}

// SetupGated is Setup behind the safe-start gate: each controller starts
// once the CRDs it watches exist.
func SetupGated(mgr ctrl.Manager, o controller.Options) error {
	for _, k := range kinds() {
		o.Gate.Register(func() {
			if err := setup(mgr, o, k); err != nil {
				mgr.GetLogger().Error(err, "cannot set up provider configuration controller", "kind", k.config.String())
			}
		}, k.gatedByKind...)
	}
	return nil
}

func setup(mgr ctrl.Manager, o controller.Options, k kind) error {
	name := providerconfig.ControllerName(k.config.GroupKind().String())
	r := providerconfig.NewReconciler(mgr, k.usages,
		providerconfig.WithLogger(o.Logger.WithValues("controller", name)),
		providerconfig.WithRecorder(event.NewAPIRecorder(mgr.GetEventRecorderFor(name)))) //nolint:staticcheck // event.NewAPIRecorder still takes the deprecated recorder.
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(k.object).
		Watches(k.usage, &resource.EnqueueRequestForProviderConfig{Kind: k.config.Kind}).
		Complete(ratelimiter.NewReconciler(name, r, o.GlobalRateLimiter))
}
