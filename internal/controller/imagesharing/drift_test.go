package imagesharing

import (
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

// TestDriftAndAdoption follows one sharing through the changes someone
// makes by hand. A listed account that had the image before the sharing
// existed is adopted, and stays so until its share is removed and put
// back. A listed account's share removed by hand is drift: told, put back,
// counted. An unlisted account's share is someone else's, unless the
// sharing is exclusive: then one that appears is drift too, and is
// removed; one that was there when the sharing became exclusive is simply
// unshared. With managementPolicies [Observe], drift is told and is the
// Ready condition, and nothing changes in ECS.
func TestDriftAndAdoption(t *testing.T) {
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	// Every reconcile reads ECS, as a poll after the listing's freshness
	// would.
	r := newRigWith(t, ecsclients.Options{ListingFreshness: time.Nanosecond, Metrics: m},
		sharing("img", common.ImageSharingParameters{ImageID: "m-img0001", Accounts: []string{alice, mallory}}))
	const img = "m-img0001"
	byHand := func(present bool, accounts ...string) {
		t.Helper()
		if err := r.sim.Share(region, img, present, accounts...); err != nil {
			t.Fatal(err)
		}
	}
	type want struct {
		events    []string
		shared    []string
		adopted   []string
		corrected float64
	}
	check := func(step string, got *ecsv1beta1.ImageSharing, w want) {
		t.Helper()
		var told []string // the drift package's events; the runtime's are its own
		for _, e := range r.events.take() {
			if strings.HasPrefix(e, "Drift") || strings.HasPrefix(e, "Adopted") {
				told = append(told, e)
			}
		}
		if diff := cmp.Diff(w.events, told); diff != "" {
			t.Errorf("%s\nevents: -want, +got:\n%s", step, diff)
		}
		if diff := cmp.Diff(w.shared, r.shared(img)); diff != "" {
			t.Errorf("%s\nshared in ECS: -want, +got:\n%s", step, diff)
		}
		if diff := cmp.Diff(w.adopted, got.Status.AtProvider.Images[0].AdoptedAccounts); diff != "" {
			t.Errorf("%s\nadopted: -want, +got:\n%s", step, diff)
		}
		if diff := cmp.Diff(w.corrected, driftCorrected(t, reg)); diff != "" {
			t.Errorf("%s\ndrift_corrections_total{kind=ImageSharing}: -want, +got:\n%s", step, diff)
		}
	}

	got := r.reconcile("img", 2)
	check("mallory had the image by hand before the sharing existed: adopted; alice is shared", got, want{
		events: []string{
			"AdoptedExistingShare: image m-img0001 was already shared with account " + mallory + ": taken over, not created; deleting this resource unshares it unless its deletionPolicy is Orphan",
		},
		shared:  []string{alice, mallory},
		adopted: []string{mallory},
	})

	byHand(false, alice)
	byHand(true, bob)
	got = r.reconcile("img", 1)
	check("alice's share removed by hand is put back; bob's share made by hand is someone else's", got, want{
		events: []string{
			"DriftDetected: image m-img0001 no longer shared with account " + alice + ", a change this resource did not make: it corrects that now",
			"DriftCorrected: corrected drift: image m-img0001 no longer shared with account " + alice,
		},
		shared:    []string{alice, bob, mallory},
		adopted:   []string{mallory},
		corrected: 1,
	})

	byHand(false, mallory)
	got = r.reconcile("img", 1)
	check("mallory's share removed by hand and put back is the provider's own now", got, want{
		events: []string{
			"DriftDetected: image m-img0001 no longer shared with account " + mallory + ", a change this resource did not make: it corrects that now",
			"DriftCorrected: corrected drift: image m-img0001 no longer shared with account " + mallory,
		},
		shared:    []string{alice, bob, mallory},
		corrected: 2,
	})

	r.update(got, func(p *common.ImageSharingParameters) { p.Exclusive = true })
	got = r.reconcile("img", 1)
	check("made exclusive, the sharing unshares bob, who was there before: no drift", got, want{
		shared:    []string{alice, mallory},
		corrected: 2,
	})

	byHand(true, carol)
	got = r.reconcile("img", 1)
	check("carol's share made by hand on an exclusive sharing's image is drift, and goes", got, want{
		events: []string{
			"DriftDetected: image m-img0001 shared with unlisted account " + carol + ", a change this resource did not make: it corrects that now",
			"DriftCorrected: corrected drift: image m-img0001 shared with unlisted account " + carol,
		},
		shared:    []string{alice, mallory},
		corrected: 3,
	})

	got.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	r.update(got, func(*common.ImageSharingParameters) {})
	byHand(false, alice)
	got = r.reconcile("img", 1)
	check("only observing, alice's share removed by hand is told and not put back", got, want{
		events: []string{
			"DriftDetected: image m-img0001 no longer shared with account " + alice + ", a change this resource did not make: its managementPolicies do not let it correct that; add Create and Update to them to have it corrected, or change the shares in ECS",
		},
		shared:    []string{mallory},
		corrected: 3,
	})
	if ready := got.GetCondition(xpv2.TypeReady); ready.Status != corev1.ConditionFalse || !strings.Contains(ready.Message, "no longer shared with account "+alice) {
		t.Errorf("only observing, Ready = %s %q: want False, naming the drift", ready.Status, ready.Message)
	}

	byHand(true, carol)
	r.reconcile("img", 1)
	r.events.take()
	got = r.reconcile("img", 1)
	check("only observing, a poll later: the drift was told once, and nothing is put right", got, want{
		shared:    []string{carol, mallory},
		corrected: 3,
	})
	ready := got.GetCondition(xpv2.TypeReady)
	for _, want := range []string{"1 of 2 accounts × images not shared yet", "1 shares of accounts not listed still to remove", "managementPolicies without Update leave that as it is"} {
		if ready.Status != corev1.ConditionFalse || !strings.Contains(ready.Message, want) {
			t.Errorf("only observing, a poll after the drift, Ready = %s %q: want False, saying %q", ready.Status, ready.Message, want)
		}
	}

	got.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionAll}
	r.update(got, func(p *common.ImageSharingParameters) { p.Accounts = append(p.Accounts, carol) })
	got = r.reconcile("img", 1)
	check("carol, listed once she has the image, is taken over; alice is shared again, as the list asks", got, want{
		events: []string{
			"AdoptedExistingShare: image m-img0001 was already shared with account " + carol + ": taken over, not created; deleting this resource unshares it unless its deletionPolicy is Orphan",
		},
		shared:    []string{alice, carol, mallory},
		adopted:   []string{carol},
		corrected: 3,
	})
}

// driftCorrected is drift_corrections_total{kind="ImageSharing"}, or 0
// before it has a series.
func driftCorrected(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "alibabacloud_ecs_drift_corrections_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == "ImageSharing" {
					return s.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
