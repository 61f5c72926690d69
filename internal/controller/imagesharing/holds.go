package imagesharing

import (
	"context"
	"fmt"
	"slices"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	kmeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
)

// The rule for several objects on one image: an ImageSharing never removes
// an account whose share of the image another object of this provider
// manages. Such an object
//   - is an ImageSharePermission of the share, Ready (its configuration's
//     credentials have seen the share), or
//   - is another ImageSharing that lists the account and has seen it
//     shared on the image with its own credentials (status.atProvider),
// in either scope and any namespace, and is neither being deleted nor
// paused (a paused object's status is not kept up to date). Having seen
// the share with its own credentials is what keeps one tenant from holding
// another's shares: a tenant's object cannot see an image its credentials
// do not own.

// holders are the kinds that may hold a share: an empty list of each, and
// the accounts an item holds on the image in the region.
var holders = []struct {
	list  func() client.ObjectList
	holds func(o client.Object, region, imageID string) []string
}{
	{func() client.ObjectList { return &ecsv1beta1.ImageSharePermissionList{} }, permissionHolds},
	{func() client.ObjectList { return &clusterecsv1beta1.ImageSharePermissionList{} }, permissionHolds},
	{func() client.ObjectList { return &ecsv1beta1.ImageSharingList{} }, sharingHolds},
	{func() client.ObjectList { return &clusterecsv1beta1.ImageSharingList{} }, sharingHolds},
}

// heldBy reads the controllers' cache, without copying: it is asked only
// when there is something to remove. A kind whose CRD is not active (the
// provider runs with the kinds an operator activated) holds nothing.
func heldBy(kube client.Reader) heldFn {
	return func(ctx context.Context, self resource.Managed, region, imageID string, candidates []string) (set, error) {
		want := setOf(candidates...)
		held := set{}
		for _, h := range holders {
			l := h.list()
			if err := kube.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
				if kmeta.IsNoMatchError(err) {
					continue
				}
				return nil, fmt.Errorf("cannot list the objects whose shares an ImageSharing leaves alone: %w", err)
			}
			err := kmeta.EachListItem(l, func(o runtime.Object) error {
				mg, ok := o.(resource.Managed)
				if !ok || mg.GetUID() == self.GetUID() || meta.WasDeleted(mg) || meta.IsPaused(mg) {
					return nil
				}
				for _, a := range h.holds(mg, region, imageID) {
					if want[a] {
						held[a] = true
					}
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		return held, nil
	}
}

// permissionHolds is the account of a Ready ImageSharePermission of the
// image in the region.
func permissionHolds(o client.Object, region, imageID string) []string {
	cr, ok := o.(interface {
		resource.Managed
		GetParameters() common.ImageSharePermissionParameters
	})
	if !ok || cr.GetCondition(xpv2.TypeReady).Status != corev1.ConditionTrue {
		return nil
	}
	if p := cr.GetParameters(); p.Region == region && p.ImageID == imageID {
		return []string{p.AccountID}
	}
	return nil
}

// sharingHolds are the accounts another ImageSharing of the region lists
// and has seen shared on the image.
func sharingHolds(o client.Object, region, imageID string) []string {
	cr, ok := o.(sharingResource)
	if !ok || cr.GetParameters().Region != region {
		return nil
	}
	listed := cr.GetParameters().Accounts
	for _, img := range cr.GetObservation().Images {
		if img.ImageID == imageID {
			return slices.DeleteFunc(slices.Clone(img.SharedAccounts), func(a string) bool { return !slices.Contains(listed, a) })
		}
	}
	return nil
}
