// Package imagesharepermission reconciles ImageSharePermission, in both
// scopes, against ECS: one external client serves the namespaced and the
// cluster-scoped kind, which differ only in how they find their credentials.
package imagesharepermission

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/imageshares"
)

// shareResource is what both scopes' ImageSharePermission offer.
type shareResource interface {
	resource.Managed
	GetParameters() common.ImageSharePermissionParameters
	SetObservation(common.ImageSharePermissionObservation)
}

var (
	_ shareResource = &ecsv1beta1.ImageSharePermission{}
	_ shareResource = &clusterecsv1beta1.ImageSharePermission{}

	_ managed.TypedExternalConnector[shareResource] = &connector{}
	_ managed.TypedExternalClient[shareResource]    = &external{}
)

// errNotShareResource is only possible if the initializer, which the
// runtime does not type, is given another kind.
var errNotShareResource = errors.New("managed resource is not an ImageSharePermission")

// external reconciles one ImageSharePermission with ECS.
type external struct {
	shares shareClient
	// requeues is told of each failed or throttled ECS call, and of each
	// reconcile that ends in a success or a wait the runtime requeues for
	// (runtimeWaits), so that the resource's next wait fits (see
	// requeue.Limiter); nil in tests that do not look.
	requeues requeues
	// wake has the resource reconciled again, once a change it queued is
	// answered; nil in tests that do not look.
	wake func()
}

// requeues is what external tells the controller's requeue.Limiter.
type requeues interface {
	Throttled(reconcile.Request) time.Duration
	Succeeded(reconcile.Request)
	Failed(reconcile.Request)
}

// Observe looks for our account among the image's shares. The share exists
// only if that account is listed: that the image has shares at all says
// nothing (Terraform's resource gets this wrong). Nothing of a share can
// change, so an existing one is always up to date.
func (e *external) Observe(ctx context.Context, cr shareResource) (managed.ExternalObservation, error) {
	p := cr.GetParameters()
	share, err := e.shares.FindShare(ctx, p.ImageID, p.AccountID)
	var change *imageshares.ChangeError
	switch {
	case errors.As(err, &change) && change.Add && meta.WasDeleted(cr) && ecs.NotApplied(change.Err):
		// ECS refused the share, so there is none to remove: the object
		// goes now, rather than after the creation grace period (see
		// below).
		e.succeeded(cr)
		meta.RemoveAnnotations(cr, meta.AnnotationKeyExternalCreateSucceeded)
		e.shares.Forget(p.ImageID, p.AccountID)
		return managed.ExternalObservation{ResourceExists: false}, nil
	case errors.As(err, &change) && change.Add:
		// The share Create queued failed, be it for a missing image.
		return managed.ExternalObservation{}, e.failed(cr, err)
	case err != nil && !ecs.IsNotFound(err):
		return managed.ExternalObservation{}, e.failed(cr, err)
	}
	if share == nil && e.shares.Refused(p.ImageID, p.AccountID) {
		// ECS refused the share Create queued, and the resource has been
		// told: the share is not there, rather than not yet listed. Without
		// its creation's success (dropped in memory; the runtime's next
		// write records the Create it now makes again) the runtime does not
		// wait out the creation grace period, which would restart the
		// failure backoff, and that Create waits for ECS's answer: a share
		// ECS keeps refusing backs off from its first refusal.
		meta.RemoveAnnotations(cr, meta.AnnotationKeyExternalCreateSucceeded)
	}
	if share == nil && unsharedByUs(cr) {
		// The runtime waits out its creation grace period before it trusts
		// that a resource is gone, as ECS may not list a new share yet: a
		// share deleted soon after it was made would keep its object that
		// long. Here the absence is our own unshare's, which the runtime
		// recorded, so the object goes now. The annotation is dropped in
		// memory only; the object is on its way out.
		meta.RemoveAnnotations(cr, meta.AnnotationKeyExternalCreateSucceeded)
	}
	waits := runtimeWaits(cr, share != nil)
	if waits {
		e.succeeded(cr)
	}
	if share == nil {
		if meta.WasDeleted(cr) && !waits {
			// The object goes now: so does what was kept of its failures.
			e.shares.Forget(p.ImageID, p.AccountID)
		}
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	o := common.ImageSharePermissionObservation{
		ID: p.ExternalName(), Region: p.Region, ImageID: share.ImageID, AccountID: share.AccountID,
	}
	if !share.SharedTime.IsZero() {
		t := metav1.NewTime(share.SharedTime)
		o.SharedTime = &t
	}
	cr.SetObservation(o)
	cr.SetConditions(xpv2.Available())
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
}

// runtimeWaits reports whether, after this observation, crossplane-runtime
// requeues cr to wait, not to retry a failure, and calls no ECS API: while
// the creation grace period of a share it made runs (ECS may not list it
// yet), and while another controller's finalizer holds its deletion. Only
// then may Observe count as the success that ends a reconcile: a plain
// successful Observe is followed by calls that may fail (Create, or an
// update the API server refuses with a conflict), and marking it would let
// those retries restart the failure backoff.
func runtimeWaits(cr shareResource, exists bool) bool {
	return (!exists && meta.ExternalCreateSucceededDuring(cr, creationGracePeriod)) ||
		(meta.WasDeleted(cr) && len(cr.GetFinalizers()) > 1)
}

// unsharedByUs reports whether cr is being deleted and its previous
// reconcile unshared it: crossplane-runtime marks a resource Deleting with
// ReconcileSuccess only after a successful Delete.
func unsharedByUs(cr shareResource) bool {
	return meta.WasDeleted(cr) &&
		cr.GetCondition(xpv2.TypeReady).Reason == xpv2.ReasonDeleting &&
		cr.GetCondition(xpv2.TypeSynced).Reason == xpv2.ReasonReconcileSuccess
}

// Create shares the image with the account. With the coalescer it only
// queues the share, so that a share waiting for its batch holds no worker:
// the next Observe, in the creation grace period and woken by the answer,
// finds the share or the reason it failed. A share ECS refused is created
// again at the Observe after that (see Refused there), and that Create
// waits for ECS's answer and returns it (imageshares.Shares.Submit), so
// that a share ECS keeps refusing backs off as any failed Create does.
func (e *external) Create(ctx context.Context, cr shareResource) (managed.ExternalCreation, error) {
	p := cr.GetParameters()
	return managed.ExternalCreation{}, e.ended(cr, e.shares.Submit(ctx, p.ImageID, p.AccountID, true, e.wake))
}

// Update has nothing to do: every parameter is immutable.
func (e *external) Update(context.Context, shareResource) (managed.ExternalUpdate, error) {
	return managed.ExternalUpdate{}, nil
}

// Delete unshares the image, or queues the unshare as Create queues the
// share: the object keeps its finalizer until an Observe finds the share
// gone. An image that is gone has no shares left, so that counts as
// deleted (Terraform's resource fails here).
func (e *external) Delete(ctx context.Context, cr shareResource) (managed.ExternalDelete, error) {
	p := cr.GetParameters()
	err := e.shares.Submit(ctx, p.ImageID, p.AccountID, false, e.wake)
	if ecs.IsNotFound(err) {
		err = nil
	}
	return managed.ExternalDelete{}, e.ended(cr, err)
}

// ended tells the requeues how a call ended and returns its error.
func (e *external) ended(cr shareResource, err error) error {
	if err != nil {
		return e.failed(cr, err)
	}
	e.succeeded(cr)
	return nil
}

func (e *external) succeeded(cr shareResource) {
	if e.requeues != nil {
		e.requeues.Succeeded(request(cr))
	}
}

// failed says, when ECS throttled the call, when the resource will try
// again; the reconciler's requeue then waits exactly that long.
func (e *external) failed(cr shareResource, err error) error {
	if e.requeues == nil {
		return bounded(err)
	}
	r := request(cr)
	e.requeues.Failed(r)
	if !ecs.IsThrottled(err) {
		return bounded(err)
	}
	d := e.requeues.Throttled(r)
	return bounded(fmt.Errorf("%w; next try in %s, at %s", err, d, time.Now().Add(d).UTC().Format("15:04:05 UTC")))
}

func request(cr shareResource) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: cr.GetNamespace(), Name: cr.GetName()}}
}

// maxMessage bounds an error's text where it becomes a condition's message
// and an event's: the clients already clip what an endpoint says, and this
// bounds whatever else an error gathers on its way.
const maxMessage = 1024

// bounded is err with its text cut to maxMessage; errors.Is and errors.As
// still see err.
func bounded(err error) error {
	if err == nil || len(err.Error()) <= maxMessage {
		return err
	}
	return boundedError{err: err, text: alisdk.Clip(err.Error(), maxMessage)}
}

type boundedError struct {
	err  error
	text string
}

func (b boundedError) Error() string { return b.text }
func (b boundedError) Unwrap() error { return b.err }

// Disconnect has nothing to release: the SDK keeps no per-client state.
func (e *external) Disconnect(context.Context) error { return nil }

// externalName sets the external name to <image_id>:<account_id> before
// anything is created, so that a crash between the ECS call and the
// annotation write leaks nothing. It replaces crossplane-runtime's default,
// which would use metadata.name. An annotation a person set to adopt an
// existing share must agree with forProvider.
//
// On a resource the reconciler has not yet finalized it sets the name in
// memory only: the reconciler's next write, which adds its finalizer before
// any ECS call, stores it. A write of its own would double the writes of a
// new resource's first reconcile, and at a thousand new resources the API
// server's time is what they wait for.
type externalName struct {
	kube client.Client
}

func (i externalName) Initialize(ctx context.Context, mg resource.Managed) error {
	cr, ok := mg.(shareResource)
	if !ok {
		return errNotShareResource
	}
	want := cr.GetParameters().ExternalName()
	got := meta.GetExternalName(cr)
	if got == want {
		return nil
	}
	if got != "" {
		if _, _, ok := common.ParseExternalName(got); !ok {
			return fmt.Errorf("external name %q is malformed: it must be <image_id>:<account_id>, here %q", got, want)
		}
		return fmt.Errorf("external name %q does not match spec.forProvider, which names %q: set the crossplane.io/external-name annotation to %q, or forProvider.imageId and accountId to the share you mean to adopt",
			got, want, want)
	}
	meta.SetExternalName(cr, want)
	if !meta.FinalizerExists(cr, managed.FinalizerName) {
		return nil
	}
	if err := i.kube.Update(ctx, cr); err != nil {
		return fmt.Errorf("cannot set external name: %w", err)
	}
	return nil
}
