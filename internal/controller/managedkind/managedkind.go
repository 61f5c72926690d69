// Package managedkind sets up the controllers of a managed kind, one per
// scope, the same way for every kind of the provider: crossplane-runtime's
// managed reconciler, behind the requeue.Limiter that tells throttling and
// the runtime's own waits from failures, with its metrics.
package managedkind

import (
	"context"
	"fmt"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"github.com/crossplane/crossplane-runtime/v2/pkg/statemetrics"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// Scope is a kind in one scope.
type Scope struct {
	GVK    schema.GroupVersionKind
	Object resource.Managed
	List   resource.ManagedList
}

// BuildFn returns the managed reconciler's options for one scope's
// controller, and any sources besides the kind's own objects that queue its
// resources.
type BuildFn func(kube client.Client, log logging.Logger, rec event.Recorder, limiter *requeue.Limiter) ([]managed.ReconcilerOption, []source.Source)

// Setup adds a controller for each scope.
func Setup(mgr ctrl.Manager, o controller.Options, scopes []Scope, build BuildFn) error {
	for _, s := range scopes {
		if err := setup(mgr, o, s, build); err != nil {
			return err
		}
	}
	return nil
}

// SetupGated is Setup behind the safe-start gate: each scope's controller
// starts once its CRD exists.
func SetupGated(mgr ctrl.Manager, o controller.Options, scopes []Scope, build BuildFn) error {
	for _, s := range scopes {
		o.Gate.Register(func() {
			if err := setup(mgr, o, s, build); err != nil {
				mgr.GetLogger().Error(err, "cannot set up controller", "gvk", s.GVK.String())
			}
		}, s.GVK)
	}
	return nil
}

func setup(mgr ctrl.Manager, o controller.Options, s Scope, build BuildFn) error {
	name := managed.ControllerName(s.GVK.GroupKind().String())
	kube := mgr.GetClient()
	rec := event.NewAPIRecorder(mgr.GetEventRecorderFor(name)) //nolint:staticcheck // event.NewAPIRecorder still takes the deprecated recorder.
	limiter := requeue.New()
	opts, sources := build(kube, o.Logger.WithValues("controller", name), rec, limiter)
	if m := o.MetricOptions; m != nil {
		opts = append(opts, managed.WithMetricRecorder(m.MRMetrics))
		if m.MRStateMetrics != nil {
			states := statemetrics.NewMRStateRecorder(uncopiedLists{kube}, o.Logger, m.MRStateMetrics, s.List, m.PollStateMetricInterval)
			if err := mgr.Add(states); err != nil {
				return fmt.Errorf("cannot register state metrics recorder: %w", err)
			}
		}
	}
	if o.ChangeLogOptions != nil {
		opts = append(opts, managed.WithChangeLogger(o.ChangeLogOptions.ChangeLogger))
	}
	r := managed.NewReconciler(mgr, resource.ManagedKind(s.GVK), opts...)
	copts := o.ForControllerRuntime()
	copts.RateLimiter = limiter
	b := ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(copts).
		WithEventFilter(resource.DesiredStateChanged()).
		For(s.Object)
	for _, src := range sources {
		b = b.WatchesRawSource(src)
	}
	return b.Complete(ratelimiter.NewReconciler(name, limiter.Reconciler(r), o.GlobalRateLimiter))
}

// uncopiedLists lists from the cache without copying each object. The
// state recorder only counts the objects' conditions, and keeps its last
// list until the next count: a copy of every object, kept for good, had
// doubled the memory the objects take.
type uncopiedLists struct{ client.Client }

func (c uncopiedLists) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.Client.List(ctx, list, append(opts, client.UnsafeDisableDeepCopy)...)
}
