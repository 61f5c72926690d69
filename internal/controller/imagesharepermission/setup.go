package imagesharepermission

import (
	"context"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// Reconcile budgets. All ECS calls of one reconcile share the timeout; a
// share takes a Describe page or two and at most one Modify.
const (
	reconcileTimeout    = 2 * time.Minute
	creationGracePeriod = 30 * time.Second
	// pollJitterFraction spreads polls by ±10% so that resources created
	// together do not call ECS together for ever after.
	pollJitterFraction = 10
	// wakeBuffer is how many answered changes may wait for the controller
	// to queue their resources.
	wakeBuffer = 1024
)

// NewClientFn builds an ECS client; tests point it at the simulator.
type NewClientFn func(ecs.Config) (ecs.Client, error)

// connector builds an external client for one resource of either scope.
type connector struct {
	resolver *config.Resolver
	clients  *ecsClients
	// requeues is the controller's requeue.Limiter.
	requeues requeues
	// wakes, if set, takes the resources to reconcile again once a change
	// they queued is answered.
	wakes chan<- ctrlevent.GenericEvent
}

func (c *connector) Connect(ctx context.Context, cr shareResource) (managed.TypedExternalClient[shareResource], error) {
	cfg, err := c.resolver.Resolve(ctx, cr, cr.GetParameters().Region)
	if err != nil {
		return nil, bounded(err)
	}
	shares, err := c.clients.For(cfg)
	if err != nil {
		return nil, bounded(err)
	}
	return &external{shares: shares, requeues: c.requeues, wake: c.wake(cr)}, nil
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

// scope is one of the two kinds of ImageSharePermission.
type scope struct {
	gvk    schema.GroupVersionKind
	object resource.Managed
	list   resource.ManagedList
}

var scopes = []scope{
	{gvk: ecsv1beta1.ImageSharePermissionGroupVersionKind, object: &ecsv1beta1.ImageSharePermission{}, list: &ecsv1beta1.ImageSharePermissionList{}},
	{gvk: clusterecsv1beta1.ImageSharePermissionGroupVersionKind, object: &clusterecsv1beta1.ImageSharePermission{}, list: &clusterecsv1beta1.ImageSharePermissionList{}},
}

// options configure the managed reconciler of either scope, for the
// controller and for tests that drive the very same reconciler.
func options(kube client.Client, resolver *config.Resolver, log logging.Logger, rec event.Recorder, o controller.Options, clients *ecsClients, limiter *requeue.Limiter, wakes chan<- ctrlevent.GenericEvent) []managed.ReconcilerOption {
	opts := []managed.ReconcilerOption{
		managed.WithTypedExternalConnector[shareResource](&connector{resolver: resolver, clients: clients, requeues: limiter, wakes: wakes}),
		managed.WithInitializers(externalName{kube: kube}),
		managed.WithDeterministicExternalName(true),
		managed.WithLogger(log),
		managed.WithRecorder(rec),
		managed.WithPollInterval(o.PollInterval),
		managed.WithPollJitterHook(o.PollInterval / pollJitterFraction),
		managed.WithTimeout(reconcileTimeout),
		managed.WithCreationGracePeriod(creationGracePeriod),
	}
	if o.Features.Enabled(feature.EnableBetaManagementPolicies) {
		opts = append(opts, managed.WithManagementPolicies())
	}
	return opts
}

// Setup adds a controller for ImageSharePermission in each scope, which
// resolves provider configurations through r.
func Setup(mgr ctrl.Manager, o controller.Options, e ECSOptions, r *config.Resolver) error {
	clients := newECSClients(e, o.PollInterval)
	for _, s := range scopes {
		if err := setup(mgr, o, s, clients, r); err != nil {
			return err
		}
	}
	return nil
}

// SetupGated is Setup behind the safe-start gate: each scope's controller
// starts once its CRD exists.
func SetupGated(mgr ctrl.Manager, o controller.Options, e ECSOptions, r *config.Resolver) error {
	clients := newECSClients(e, o.PollInterval)
	for _, s := range scopes {
		o.Gate.Register(func() {
			if err := setup(mgr, o, s, clients, r); err != nil {
				mgr.GetLogger().Error(err, "cannot set up ImageSharePermission controller", "gvk", s.gvk.String())
			}
		}, s.gvk)
	}
	return nil
}

func setup(mgr ctrl.Manager, o controller.Options, s scope, clients *ecsClients, resolver *config.Resolver) error {
	name := managed.ControllerName(s.gvk.GroupKind().String())
	kube := mgr.GetClient()
	rec := event.NewAPIRecorder(mgr.GetEventRecorderFor(name)) //nolint:staticcheck // event.NewAPIRecorder still takes the deprecated recorder.
	limiter := requeue.New()
	wakes := make(chan ctrlevent.GenericEvent, wakeBuffer)
	opts := options(kube, resolver, o.Logger.WithValues("controller", name), rec, o, clients, limiter, wakes)
	if m := o.MetricOptions; m != nil {
		opts = append(opts, managed.WithMetricRecorder(m.MRMetrics))
		if m.MRStateMetrics != nil {
			states := statemetrics.NewMRStateRecorder(kube, o.Logger, m.MRStateMetrics, s.list, m.PollStateMetricInterval)
			if err := mgr.Add(states); err != nil {
				return fmt.Errorf("cannot register state metrics recorder: %w", err)
			}
		}
	}
	r := managed.NewReconciler(mgr, resource.ManagedKind(s.gvk), opts...)
	copts := o.ForControllerRuntime()
	copts.RateLimiter = limiter
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(copts).
		WithEventFilter(resource.DesiredStateChanged()).
		For(s.object).
		WatchesRawSource(source.Channel(wakes, &handler.EnqueueRequestForObject{})).
		Complete(ratelimiter.NewReconciler(name, limiter.Reconciler(r), o.GlobalRateLimiter))
}
