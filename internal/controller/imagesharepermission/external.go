// Package imagesharepermission reconciles ImageSharePermission, in both
// scopes, against ECS: one external client serves the namespaced and the
// cluster-scoped kind, which differ only in how they find their credentials.
package imagesharepermission

import (
	"context"
	"errors"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/imageshares"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/drift"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/externalname"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// shareResource is what both scopes' ImageSharePermission offer.
type shareResource interface {
	resource.Managed
	GetParameters() common.ImageSharePermissionParameters
	GetObservation() common.ImageSharePermissionObservation
	SetObservation(common.ImageSharePermissionObservation)
}

var (
	_ shareResource = &ecsv1beta1.ImageSharePermission{}
	_ shareResource = &clusterecsv1beta1.ImageSharePermission{}

	_ managed.TypedExternalConnector[shareResource] = &connector{}
	_ managed.TypedExternalClient[shareResource]    = &external{}
)

// external reconciles one ImageSharePermission with ECS.
type external struct {
	shares ecsclients.ShareClient
	// requeues is told of each failed or throttled ECS call, and of each
	// reconcile that ends in a success or a wait the runtime requeues for
	// (runtimeWaits), so that the resource's next wait fits (see
	// requeue.Limiter); nil in tests that do not look.
	requeues requeue.Reporter
	// wake has the resource reconciled again, once a change it queued is
	// answered; nil in tests that do not look.
	wake func()
	// drift reports shares taken over, and shares removed outside the
	// provider.
	drift drift.Reporter
	// drifted is the drift Observe found, which Create corrects.
	drifted []drift.Shares
}

// Observe looks for our account among the image's shares. The share exists
// only if that account is listed: that the image has shares at all says
// nothing (Terraform's resource gets this wrong). Nothing of a share can
// change, so an existing one is always up to date.
func (e *external) Observe(ctx context.Context, cr shareResource) (managed.ExternalObservation, error) {
	p := cr.GetParameters()
	prev := cr.GetObservation()
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
		if prev.ID != "" && !meta.WasDeleted(cr) && !waits {
			e.lost(cr, p, prev)
		}
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	e.found(cr, p, prev, share)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
}

// lost reports drift: a share observed before is gone, and not by our
// hand. Status keeps the ID, so that a correction that fails is still told
// as one, and drops what ECS no longer reports.
func (e *external) lost(cr shareResource, p common.ImageSharePermissionParameters, prev common.ImageSharePermissionObservation) {
	e.drifted = []drift.Shares{{Image: p.ImageID, Missing: []string{p.AccountID}}}
	e.drift.Detected(cr, e.drifted, e.drift.Corrects(cr, xpv2.ManagementActionCreate))
	cr.SetObservation(common.ImageSharePermissionObservation{ID: prev.ID, Region: prev.Region, ImageID: prev.ImageID, AccountID: prev.AccountID})
}

// found records the share ECS lists. A share the runtime never asked for
// was made by someone else, and this resource takes it over; one it asked
// for, first or to correct drift, is its own. The runtime's annotations
// say which, and outlive the status an Observe sets, which the runtime's
// writes before a Create drop.
func (e *external) found(cr shareResource, p common.ImageSharePermissionParameters, prev common.ImageSharePermissionObservation, share *ecs.Share) {
	o := common.ImageSharePermissionObservation{
		ID: p.ExternalName(), Region: p.Region, ImageID: share.ImageID, AccountID: share.AccountID,
		Adopted: !createdByRuntime(cr),
	}
	if o.Adopted && prev.ID == "" && !meta.WasDeleted(cr) {
		e.drift.Adopted(cr, p.ImageID, []string{p.AccountID})
	}
	if !share.SharedTime.IsZero() {
		t := metav1.NewTime(share.SharedTime)
		o.SharedTime = &t
	}
	cr.SetObservation(o)
	cr.SetConditions(xpv2.Available())
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

// createdByRuntime reports whether crossplane-runtime has begun a Create
// of cr: it marks one as pending before it calls Create, and as succeeded
// or failed after.
func createdByRuntime(cr shareResource) bool {
	return !meta.GetExternalCreatePending(cr).IsZero() ||
		!meta.GetExternalCreateSucceeded(cr).IsZero() ||
		!meta.GetExternalCreateFailed(cr).IsZero()
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
// A Create that puts back a share removed outside the resource waits for
// ECS's answer, so that what it tells (an event, the drift metric, the
// change log) is what ECS did; drift is rare, and the worker waits for one
// batch.
func (e *external) Create(ctx context.Context, cr shareResource) (managed.ExternalCreation, error) {
	p := cr.GetParameters()
	if len(e.drifted) == 0 {
		return managed.ExternalCreation{}, e.ended(cr, e.shares.Submit(ctx, p.ImageID, p.AccountID, true, e.wake))
	}
	if err := e.shares.Modify(ctx, p.ImageID, []string{p.AccountID}, nil); err != nil {
		return managed.ExternalCreation{}, e.failed(cr, err)
	}
	e.succeeded(cr)
	if e.wake != nil {
		e.wake()
	}
	return managed.ExternalCreation{AdditionalDetails: e.drift.Corrected(cr, e.drifted)}, nil
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

func (e *external) succeeded(cr shareResource) { ecsclients.Succeeded(e.requeues, cr) }

func (e *external) failed(cr shareResource, err error) error {
	return ecsclients.Failed(e.requeues, cr, err)
}

// Disconnect has nothing to release: the SDK keeps no per-client state.
func (e *external) Disconnect(context.Context) error { return nil }

// externalName sets the external name to <image_id>:<account_id>.
func externalName(kube client.Client) externalname.Initializer[shareResource] {
	return externalname.Initializer[shareResource]{
		Kube: kube,
		Want: func(cr shareResource) string { return cr.GetParameters().ExternalName() },
		Valid: func(name string) bool {
			_, _, ok := common.ParseExternalName(name)
			return ok
		},
		Form:   "<image_id>:<account_id>",
		Fields: "forProvider.imageId and accountId",
	}
}
