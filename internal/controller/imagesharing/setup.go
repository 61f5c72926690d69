package imagesharing

import (
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/drift"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/externalname"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/managedkind"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// reconcileTimeout bounds a reconcile's ECS calls: a family's read, a
// listing per kept or retired image, and their writes, which wait for
// their batches and the account's pace.
const reconcileTimeout = 2 * time.Minute

var scopes = []managedkind.Scope{
	{GVK: ecsv1beta1.ImageSharingGroupVersionKind, Object: &ecsv1beta1.ImageSharing{}, List: &ecsv1beta1.ImageSharingList{}},
	{GVK: clusterecsv1beta1.ImageSharingGroupVersionKind, Object: &clusterecsv1beta1.ImageSharing{}, List: &clusterecsv1beta1.ImageSharingList{}},
}

// externalName sets the external name: the image ID, or
// family/<region>/<family>.
func externalName(kube client.Client) externalname.Initializer[sharingResource] {
	return externalname.Initializer[sharingResource]{
		Kube:   kube,
		Want:   func(cr sharingResource) string { return cr.GetParameters().ExternalName() },
		Valid:  common.ValidImageSharingExternalName,
		Form:   "an image ID or family/<region>/<family>",
		Fields: "forProvider.imageId, or region and imageFamily,",
	}
}

// options configure the managed reconciler of either scope, for the
// controller and for tests that drive the very same reconciler.
func options(kube client.Client, resolver *config.Resolver, log logging.Logger, rec event.Recorder, o controller.Options, clients *ecsclients.Clients, limiter *requeue.Limiter) []managed.ReconcilerOption {
	reporter := drift.Reporter{
		Kind: ecsv1beta1.ImageSharingKind, Events: rec, Counted: clients.Metrics().DriftCorrected,
		Policies: o.Features.Enabled(feature.EnableBetaManagementPolicies),
	}
	opts := []managed.ReconcilerOption{
		managed.WithTypedExternalConnector[sharingResource](&connector{resolver: resolver, clients: clients, held: heldBy(kube), requeues: limiter, drift: reporter}),
		managed.WithInitializers(externalName(kube)),
		managed.WithDeterministicExternalName(true),
		managed.WithLogger(log),
		managed.WithRecorder(rec),
		managed.WithPollInterval(o.PollInterval),
		managed.WithPollJitterHook(o.PollInterval / ecsclients.PollJitterFraction),
		managed.WithTimeout(reconcileTimeout),
	}
	if o.Features.Enabled(feature.EnableBetaManagementPolicies) {
		opts = append(opts, managed.WithManagementPolicies())
	}
	return opts
}

// Setup adds a controller for ImageSharing in each scope, which resolves
// provider configurations through r and calls ECS through clients.
func Setup(mgr ctrl.Manager, o controller.Options, clients *ecsclients.Clients, r *config.Resolver) error {
	return managedkind.Setup(mgr, o, scopes, build(o, clients, r))
}

// SetupGated is Setup behind the safe-start gate.
func SetupGated(mgr ctrl.Manager, o controller.Options, clients *ecsclients.Clients, r *config.Resolver) error {
	return managedkind.SetupGated(mgr, o, scopes, build(o, clients, r))
}

func build(o controller.Options, clients *ecsclients.Clients, r *config.Resolver) managedkind.BuildFn {
	return func(kube client.Client, log logging.Logger, rec event.Recorder, limiter *requeue.Limiter) ([]managed.ReconcilerOption, []source.Source) {
		return options(kube, r, log, rec, o, clients, limiter), nil
	}
}
