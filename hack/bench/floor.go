package main

import (
	"context"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// The provider's defaults, which the floor's writes keep to: as many at
// once as --max-reconcile-rate, and the Kubernetes client's QPS and burst
// it derives from it.
const (
	floorWorkers = 100
	floorQPS     = 5 * floorWorkers
	floorBurst   = 10 * floorWorkers
)

// measureFloor measures the Kubernetes side alone: the bench itself makes
// the writes a managed reconciler cannot do without, with no provider and
// no ECS. From created to Ready: the finalizer and external name, the
// creation recorded, the Ready status; from deleted to gone: the finalizer
// removed. What the provider takes beyond these figures is its own, or
// ECS's.
func measureFloor(ctx context.Context, w *world, s settings, m mode, r *result) error {
	ns := "bench-" + m.name
	kube, err := client.New(w.cp.RESTConfig(floorQPS, floorBurst, 30*time.Second), client.Options{Scheme: w.kube.Scheme()})
	if err != nil {
		return err
	}
	if err := createAll(ctx, w.kube, tenantObjects(ns, "http://127.0.0.1:1", "unused")); err != nil {
		return err
	}
	objs := m.kind.objects(s, ns)
	mgs := make([]resource.Managed, len(objs))
	for i, o := range objs {
		mg, ok := o.(resource.Managed)
		if !ok {
			return fmt.Errorf("%T is not a managed resource", o)
		}
		mgs[i] = mg
	}
	begin := time.Now()
	if err := devenv.ForEach(objs, floorWorkers, func(o client.Object) error { return create(ctx, kube, o) }); err != nil {
		return err
	}
	r.CreateSeconds = time.Since(begin).Seconds()
	if err := devenv.ForEach(mgs, floorWorkers, func(mg resource.Managed) error { return toReady(ctx, kube, mg) }); err != nil {
		return err
	}
	r.Converge = &phase{Seconds: time.Since(begin).Seconds()}
	fmt.Printf("bench: %s: %d %ss created and Ready in %.1fs by the bench's own writes\n", m.name, len(objs), m.kind.name, r.Converge.Seconds)

	begin = time.Now()
	if err := deleteAll(ctx, kube, objs); err != nil {
		return err
	}
	if err := devenv.ForEach(mgs, floorWorkers, func(mg resource.Managed) error { return finalize(ctx, kube, mg) }); err != nil {
		return err
	}
	r.Delete = &phase{Seconds: time.Since(begin).Seconds()}
	fmt.Printf("bench: %s: all deleted in %.1fs\n", m.name, r.Delete.Seconds)
	return nil
}

// toReady makes mg's writes from created to Ready, as crossplane-runtime's
// managed reconciler makes them for a resource that exists at once.
func toReady(ctx context.Context, kube client.Client, mg resource.Managed) error {
	return retryOnConflict(ctx, kube, mg, func() error {
		meta.AddFinalizer(mg, managed.FinalizerName)
		meta.SetExternalName(mg, mg.GetName())
		meta.SetExternalCreatePending(mg, time.Now())
		if err := kube.Update(ctx, mg); err != nil {
			return err
		}
		meta.SetExternalCreateSucceeded(mg, time.Now())
		if err := kube.Update(ctx, mg); err != nil {
			return err
		}
		mg.SetConditions(xpv2.Available(), xpv2.ReconcileSuccess())
		return kube.Status().Update(ctx, mg)
	})
}

// finalize removes mg's finalizer once it is being deleted.
func finalize(ctx context.Context, kube client.Client, mg resource.Managed) error {
	return retryOnConflict(ctx, kube, mg, func() error {
		meta.RemoveFinalizer(mg, managed.FinalizerName)
		err := kube.Update(ctx, mg)
		if kerrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// retryOnConflict reads mg again and retries writes the API server refused
// as made on a stale copy.
func retryOnConflict(ctx context.Context, kube client.Client, mg resource.Managed, writes func() error) error {
	for {
		err := writes()
		if !kerrors.IsConflict(err) {
			return err
		}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(mg), mg); err != nil {
			return err
		}
	}
}
