// Package controller sets up every controller of the provider.
package controller

import (
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/imagesharepermission"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/imagesharing"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/pollbudget"
)

// Setup adds every controller to the manager. They share one resolver, so
// that a configuration's STS sessions serve all of its resources and its
// identity check, and one set of ECS clients, so that every kind's calls
// of one image share listings, batches and the account's pace.
func Setup(mgr ctrl.Manager, o controller.Options, e ecsclients.Options, c config.CredentialOptions) error {
	r := config.NewResolver(mgr.GetClient(), c)
	if err := config.Setup(mgr, o, r); err != nil {
		return err
	}
	if err := mgr.Add(pollCheck(mgr, o, e)); err != nil {
		return err
	}
	clients := ecsclients.New(e, o.PollInterval)
	if err := imagesharepermission.Setup(mgr, o, clients, r); err != nil {
		return err
	}
	return imagesharing.Setup(mgr, o, clients, r)
}

// SetupGated adds every controller behind the safe-start gate.
func SetupGated(mgr ctrl.Manager, o controller.Options, e ecsclients.Options, c config.CredentialOptions) error {
	r := config.NewResolver(mgr.GetClient(), c)
	if err := config.SetupGated(mgr, o, r); err != nil {
		return err
	}
	// Counting needs every kind's informer: it starts once all are active.
	o.Gate.Register(func() {
		if err := mgr.Add(pollCheck(mgr, o, e)); err != nil {
			mgr.GetLogger().Error(err, "cannot count the managed resources against --max-reconcile-rate")
		}
	}, managedKinds...)
	clients := ecsclients.New(e, o.PollInterval)
	if err := imagesharepermission.SetupGated(mgr, o, clients, r); err != nil {
		return err
	}
	return imagesharing.SetupGated(mgr, o, clients, r)
}

// managedKinds are every managed kind, in both scopes.
var managedKinds = []schema.GroupVersionKind{
	ecsv1beta1.ImageSharePermissionGroupVersionKind, clusterecsv1beta1.ImageSharePermissionGroupVersionKind,
	ecsv1beta1.ImageSharingGroupVersionKind, clusterecsv1beta1.ImageSharingGroupVersionKind,
}

// pollCheckEvery is how often the managed resources are counted.
const pollCheckEvery = time.Minute

// pollCheck tells when --max-reconcile-rate cannot observe every managed
// resource once per --poll (MaxConcurrentReconciles is that flag).
func pollCheck(mgr ctrl.Manager, o controller.Options, e ecsclients.Options) *pollbudget.Check {
	return pollbudget.New(pollbudget.Options{
		Kube: mgr.GetClient(),
		Lists: []func() client.ObjectList{
			func() client.ObjectList { return &ecsv1beta1.ImageSharePermissionList{} },
			func() client.ObjectList { return &clusterecsv1beta1.ImageSharePermissionList{} },
			func() client.ObjectList { return &ecsv1beta1.ImageSharingList{} },
			func() client.ObjectList { return &clusterecsv1beta1.ImageSharingList{} },
		},
		Poll: o.PollInterval, Rate: float64(o.MaxConcurrentReconciles), Every: pollCheckEvery,
		Log: o.Logger.WithValues("controller", "poll-budget"), Set: e.Metrics.KeptPoll,
	})
}
