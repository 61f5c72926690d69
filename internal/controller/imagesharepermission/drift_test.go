package imagesharepermission

import (
	"slices"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// TestDriftAndAdoption: a share found in place before the runtime ever
// asked for it is taken over and says so; a share observed before and
// gone now was removed outside the provider, which says so, puts it back
// (and it is then the provider's own, not adopted) unless the management
// policies keep it to observing, where the drift is the Ready condition.
// Every case runs the real reconciler against the simulator.
func TestDriftAndAdoption(t *testing.T) {
	observed := func(adopted bool) func(*ecsv1beta1.ImageSharePermission) {
		return func(cr *ecsv1beta1.ImageSharePermission) {
			meta.SetExternalName(cr, cr.Spec.ForProvider.ExternalName())
			p := cr.Spec.ForProvider
			cr.Status.AtProvider = common.ImageSharePermissionObservation{ID: p.ExternalName(), Region: p.Region, ImageID: p.ImageID, AccountID: p.AccountID, Adopted: adopted}
			cr.SetConditions(xpv2.Available(), xpv2.ReconcileSuccess())
		}
	}
	cases := map[string]struct {
		reason      string
		account     string
		prepare     func(*ecsv1beta1.ImageSharePermission)
		wantSaid    []string
		wantNotSaid []string
		wantShared  bool
		wantAdopted bool
		wantModify  uint64
	}{
		"FoundInPlace": {
			reason:      "the share was made by hand before the resource existed: taken over, with no call",
			account:     friend,
			wantSaid:    []string{"AdoptedExistingShare image " + imageID + " was already shared with account " + friend + ": taken over, not created"},
			wantShared:  true,
			wantAdopted: true,
		},
		"ImportedWithItsExternalName": {
			reason:  "an imported resource (external name set, only observing) takes over the share as well",
			account: friend,
			prepare: func(cr *ecsv1beta1.ImageSharePermission) {
				meta.SetExternalName(cr, cr.Spec.ForProvider.ExternalName())
				cr.SetManagementPolicies(xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
			},
			wantSaid:    []string{"AdoptedExistingShare"},
			wantShared:  true,
			wantAdopted: true,
		},
		"Made": {
			reason:      "a share the resource makes is its own, not adopted, and no drift",
			account:     stranger,
			wantNotSaid: []string{"AdoptedExistingShare", "Drift"},
			wantShared:  true,
			wantModify:  1,
		},
		"RemovedOutside": {
			reason:  "a share observed before was removed by hand: told, put back (waiting for ECS's answer) as a correction, and no longer adopted",
			account: stranger,
			prepare: observed(true),
			wantSaid: []string{
				"DriftDetected image " + imageID + " no longer shared with account " + stranger + ", a change this resource did not make: it corrects that now",
				"DriftCorrected corrected drift: image " + imageID + " no longer shared with account " + stranger,
			},
			wantNotSaid: []string{"AdoptedExistingShare"},
			wantShared:  true,
			wantModify:  1,
		},
		"RemovedOutsideWhileOnlyObserving": {
			reason:  "with managementPolicies [Observe] the drift is told and made the Ready condition, and nothing is put back",
			account: stranger,
			prepare: func(cr *ecsv1beta1.ImageSharePermission) {
				observed(false)(cr)
				cr.SetManagementPolicies(xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
			},
			wantSaid: []string{
				"DriftDetected image " + imageID + " no longer shared with account " + stranger + ", a change this resource did not make: its managementPolicies do not let it correct that",
				"condition Ready=False Unavailable: image " + imageID + " no longer shared with account " + stranger,
			},
			wantNotSaid: []string{"DriftCorrected"},
		},
		"StillThere": {
			reason:      "a share observed before and still there says nothing, and keeps what it was",
			account:     friend,
			prepare:     observed(true),
			wantNotSaid: []string{"AdoptedExistingShare", "Drift"},
			wantShared:  true,
			wantAdopted: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sim, srv := simtest.Serve(t, canaryWorld())
			cr := shareUnderCPC("drift", imageID, tc.account)
			if tc.prepare != nil {
				tc.prepare(cr)
			}
			// One poll more: the first reconcile's status does not survive
			// the runtime's adding its finalizer, which writes the object.
			said := reconcileSettled(t, append([]client.Object{cr}, clusterConfigAt(srv.URL)...), cr, requeue.New(), 1)
			for _, s := range tc.wantSaid {
				if !strings.Contains(said, s) {
					t.Errorf("%s\nwant said %q, got:\n%s", tc.reason, s, said)
				}
			}
			for _, s := range tc.wantNotSaid {
				if strings.Contains(said, s) {
					t.Errorf("%s\nwant %q unsaid, got:\n%s", tc.reason, s, said)
				}
			}
			got, _ := sim.SharedWith(region, imageID)
			if diff := cmp.Diff(tc.wantShared, slices.Contains(got, tc.account)); diff != "" {
				t.Errorf("%s\nshared in ECS: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantModify, sim.Calls("ModifyImageSharePermission")); diff != "" {
				t.Errorf("%s\nModify calls: -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantAdopted, strings.Contains(said, "atProvider adopted=true")); diff != "" {
				t.Errorf("%s\nadopted: -want, +got:\n%s\n%s", tc.reason, diff, said)
			}
		})
	}
}
