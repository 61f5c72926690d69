package imagesharepermission

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

var errBoom = errors.New("ECS refused the unshare")

// TestYoungShareAbsence: a share ECS does not list within the creation
// grace period (30s after it was made) is trusted gone only when the
// resource's own unshare removed it; otherwise ECS may be lagging behind a
// new share, and the resource waits, neither created again nor finalized.
// Either way its next requeue is not counted as a failure.
func TestYoungShareAbsence(t *testing.T) {
	deleting := metav1.NewTime(time.Now())
	cases := map[string]struct {
		reason     string
		deleted    *metav1.Time
		conditions []xpv2.Condition
		wantGone   bool
	}{
		"UnsharedByItsDelete": {
			reason:     "the previous reconcile's Delete succeeded (Deleting, ReconcileSuccess): the absence is ours, and the object goes at once rather than after the grace period",
			deleted:    &deleting,
			conditions: []xpv2.Condition{xpv2.Deleting(), xpv2.ReconcileSuccess()},
			wantGone:   true,
		},
		"DeleteFailedBefore": {
			reason:     "the previous Delete failed, so nothing says the share went: ECS may be lagging behind it, and the object waits out the grace period",
			deleted:    &deleting,
			conditions: []xpv2.Condition{xpv2.Deleting(), xpv2.ReconcileError(errBoom)},
		},
		"NotDeleted": {
			reason:     "a new share that ECS does not list yet is waited for, not created again",
			conditions: []xpv2.Condition{xpv2.Available(), xpv2.ReconcileSuccess()},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sim, srv := simtest.Serve(t, canaryWorld())
			endpoint := srv.URL
			cr := shareUnderCPC("young", imageID, stranger)
			cr.DeletionTimestamp, cr.Finalizers = tc.deleted, []string{managed.FinalizerName}
			meta.SetExternalName(cr, cr.Spec.ForProvider.ExternalName())
			meta.SetExternalCreateSucceeded(cr, time.Now().Add(-5*time.Second))
			cr.SetConditions(tc.conditions...)
			objects := append([]client.Object{cr}, clusterConfigAt(endpoint)...)
			// Three failures before: the failure curve's next wait is 8s.
			limiter := requeue.New()
			for range 3 {
				limiter.When(request(cr))
			}
			said := reconcileSettled(t, objects, cr, limiter, 0)

			if diff := cmp.Diff(tc.wantGone, strings.Contains(said, "object gone\n")); diff != "" {
				t.Errorf("%s\nobject gone: -want, +got:\n%s\n%s", tc.reason, diff, said)
			}
			if got, _ := sim.SharedWith(region, imageID); slices.Contains(got, stranger) {
				t.Errorf("%s\nthe image was shared again: %v", tc.reason, got)
			}
			if tc.wantGone {
				return
			}
			if d := limiter.When(request(cr)); d > 1200*time.Millisecond {
				t.Errorf("%s\nthe next reconcile waits %v, as after a fourth failure; want about a second", tc.reason, d)
			}
		})
	}
}

func request(cr shareResource) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: cr.GetNamespace(), Name: cr.GetName()}}
}
