package imagesharepermission

import (
	"context"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/drift"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/managedkind"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// Reconcile budgets. All ECS calls of one reconcile share the timeout; a
// share takes a Describe page or two and at most one Modify.
const (
	reconcileTimeout    = 2 * time.Minute
	creationGracePeriod = 30 * time.Second
	// wakeBuffer is how many answered changes may wait for the controller
	// to queue their resources.
	wakeBuffer = 1024
)

// connector builds an external client for one resource of either scope.
type connector struct {
	resolver *config.Resolver
	clients  *ecsclients.Clients
	// requeues is the controller's requeue.Limiter.
	requeues requeue.Reporter
	// wakes, if set, takes the resources to reconcile again once a change
	// they queued is answered.
	wakes chan<- ctrlevent.GenericEvent
	drift drift.Reporter
}

func (c *connector) Connect(ctx context.Context, cr shareResource) (managed.TypedExternalClient[shareResource], error) {
	cfg, err := c.resolver.Resolve(ctx, cr, cr.GetParameters().Region)
	if err != nil {
		return nil, ecsclients.Bounded(err)
	}
	shares, err := c.clients.For(cfg)
	if err != nil {
		return nil, ecsclients.Bounded(err)
	}
	return &external{shares: shares, requeues: c.requeues, wake: c.wake(cr), drift: c.drift}, nil
}

// wake returns what has cr reconciled again. It never blocks the
// coalescer: should the controller fall that far behind, the resource's own
// requeue, a few seconds later, does the same.
func (c *connector) wake(cr shareResource) func() {
	if c.wakes == nil {
		return nil
	}
	e := ctrlevent.GenericEvent{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: cr.GetNamespace(), Name: cr.GetName()}}}
	return func() {
		select {
		case c.wakes <- e:
		default:
		}
	}
}

var scopes = []managedkind.Scope{
	{GVK: ecsv1beta1.ImageSharePermissionGroupVersionKind, Object: &ecsv1beta1.ImageSharePermission{}, List: &ecsv1beta1.ImageSharePermissionList{}},
	{GVK: clusterecsv1beta1.ImageSharePermissionGroupVersionKind, Object: &clusterecsv1beta1.ImageSharePermission{}, List: &clusterecsv1beta1.ImageSharePermissionList{}},
}

// options configure the managed reconciler of either scope, for the
// controller and for tests that drive the very same reconciler.
func options(kube client.Client, resolver *config.Resolver, log logging.Logger, rec event.Recorder, o controller.Options, clients *ecsclients.Clients, limiter *requeue.Limiter, wakes chan<- ctrlevent.GenericEvent) []managed.ReconcilerOption {
	reporter := drift.Reporter{
		Kind: ecsv1beta1.ImageSharePermissionKind, Events: rec, Counted: clients.Metrics().DriftCorrected,
		Policies: o.Features.Enabled(feature.EnableBetaManagementPolicies),
	}
	opts := []managed.ReconcilerOption{
		managed.WithTypedExternalConnector[shareResource](&connector{resolver: resolver, clients: clients, requeues: limiter, wakes: wakes, drift: reporter}),
		managed.WithInitializers(externalName(kube)),
		managed.WithDeterministicExternalName(true),
		managed.WithLogger(log),
		managed.WithRecorder(rec),
		managed.WithPollInterval(o.PollInterval),
		managed.WithPollJitterHook(o.PollInterval / ecsclients.PollJitterFraction),
		managed.WithTimeout(reconcileTimeout),
		managed.WithCreationGracePeriod(creationGracePeriod),
	}
	if o.Features.Enabled(feature.EnableBetaManagementPolicies) {
		opts = append(opts, managed.WithManagementPolicies())
	}
	return opts
}

// Setup adds a controller for ImageSharePermission in each scope, which
// resolves provider configurations through r and calls ECS through clients.
func Setup(mgr ctrl.Manager, o controller.Options, clients *ecsclients.Clients, r *config.Resolver) error {
	return managedkind.Setup(mgr, o, scopes, build(o, clients, r))
}

// SetupGated is Setup behind the safe-start gate.
func SetupGated(mgr ctrl.Manager, o controller.Options, clients *ecsclients.Clients, r *config.Resolver) error {
	return managedkind.SetupGated(mgr, o, scopes, build(o, clients, r))
}

// build gives each scope's controller its options, and the channel that
// wakes a resource once ECS answered the change it queued.
func build(o controller.Options, clients *ecsclients.Clients, r *config.Resolver) managedkind.BuildFn {
	return func(kube client.Client, log logging.Logger, rec event.Recorder, limiter *requeue.Limiter) ([]managed.ReconcilerOption, []source.Source) {
		wakes := make(chan ctrlevent.GenericEvent, wakeBuffer)
		return options(kube, r, log, rec, o, clients, limiter, wakes),
			[]source.Source{source.Channel(wakes, &handler.EnqueueRequestForObject{})}
	}
}
