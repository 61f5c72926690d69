package drift

import (
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"

	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
)

// events keeps what is recorded, as "Type Reason: message".
type events []string

func (e *events) Event(_ runtime.Object, ev event.Event) {
	*e = append(*e, string(ev.Type)+" "+string(ev.Reason)+": "+ev.Message)
}

func (e *events) WithAnnotations(...string) event.Recorder { return e }

func TestAccounts(t *testing.T) {
	cases := []struct {
		reason   string
		accounts []string
		want     string
	}{
		{reason: "One account is named.", accounts: []string{"1"}, want: "account 1"},
		{reason: "A few are listed.", accounts: []string{"1", "2"}, want: "accounts 1, 2"},
		{reason: "Many are counted, and the first named.", accounts: []string{"1", "2", "3", "4", "5", "6", "7", "8"}, want: "8 accounts (1, 2, 3, 4, 5 and 3 more)"},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, Accounts(tc.accounts)); diff != "" {
			t.Errorf("%s\n-want, +got:\n%s", tc.reason, diff)
		}
	}
}

func TestReporter(t *testing.T) {
	type counted struct {
		kind   string
		shares int
	}
	cases := []struct {
		reason      string
		report      func(Reporter, resource.Managed) managed.AdditionalDetails
		wantEvents  events
		wantCounted []counted
		wantDetails managed.AdditionalDetails
		wantReady   string
	}{
		{
			reason: "A share found in place is taken over, and says so.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				r.Adopted(cr, "m-1", []string{"1"})
				return nil
			},
			wantEvents: events{"Normal AdoptedExistingShare: image m-1 was already shared with account 1: taken over, not created; deleting this resource unshares it unless its deletionPolicy is Orphan"},
		},
		{
			reason: "Nothing adopted says nothing.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				r.Adopted(cr, "m-1", nil)
				return nil
			},
		},
		{
			reason: "Drift the provider corrects is told, and leaves Ready to the resource.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				r.Detected(cr, []Shares{{Image: "m-1", Missing: []string{"1"}}}, true)
				return nil
			},
			wantEvents: events{"Normal DriftDetected: image m-1 no longer shared with account 1, a change this resource did not make: it corrects that now"},
		},
		{
			reason: "Drift the management policies keep it from correcting is told, and is the Ready condition.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				r.Detected(cr, []Shares{{Image: "m-1", Missing: []string{"1"}, Unwanted: []string{"2", "3"}}}, false)
				return nil
			},
			wantEvents: events{"Normal DriftDetected: image m-1 no longer shared with account 1 and shared with unlisted accounts 2, 3, a change this resource did not make: its managementPolicies do not let it correct that; add Create and Update to them to have it corrected, or change the shares in ECS"},
			wantReady:  "image m-1 no longer shared with account 1 and shared with unlisted accounts 2, 3, a change this resource did not make: its managementPolicies do not let it correct that; add Create and Update to them to have it corrected, or change the shares in ECS",
		},
		{
			reason: "A correction counts every share it puts back or removes, and names itself in the change log.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				return r.Corrected(cr, []Shares{{Image: "m-1", Missing: []string{"1", "2"}}, {Image: "m-2"}, {Image: "m-3", Unwanted: []string{"3"}}})
			},
			wantEvents:  events{"Normal DriftCorrected: corrected drift: image m-1 no longer shared with accounts 1, 2; image m-3 shared with unlisted account 3"},
			wantCounted: []counted{{kind: "ImageSharing", shares: 3}},
			wantDetails: managed.AdditionalDetails{DetailKey: "image m-1 no longer shared with accounts 1, 2; image m-3 shared with unlisted account 3"},
		},
		{
			reason: "No drift corrects nothing and counts nothing.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				return r.Corrected(cr, []Shares{{Image: "m-1"}})
			},
		},
		{
			reason: "A message names a few images and counts the rest.",
			report: func(r Reporter, cr resource.Managed) managed.AdditionalDetails {
				r.Detected(cr, []Shares{
					{Image: "m-1", Missing: []string{"1"}}, {Image: "m-2", Missing: []string{"1"}},
					{Image: "m-3", Missing: []string{"1"}}, {Image: "m-4", Missing: []string{"1"}}, {Image: "m-5", Missing: []string{"1"}},
				}, true)
				return nil
			},
			wantEvents: events{"Normal DriftDetected: image m-1 no longer shared with account 1; image m-2 no longer shared with account 1; image m-3 no longer shared with account 1; 2 more images, a change this resource did not make: it corrects that now"},
		},
	}
	for _, tc := range cases {
		var got events
		var gotCounted []counted
		r := Reporter{Kind: "ImageSharing", Events: &got, Counted: func(kind string, n int) { gotCounted = append(gotCounted, counted{kind, n}) }}
		cr := &ecsv1beta1.ImageSharing{}
		details := tc.report(r, cr)
		if diff := cmp.Diff(tc.wantEvents, got); diff != "" {
			t.Errorf("%s\nevents: -want, +got:\n%s", tc.reason, diff)
		}
		if diff := cmp.Diff(tc.wantCounted, gotCounted, cmp.AllowUnexported(counted{})); diff != "" {
			t.Errorf("%s\ncounted: -want, +got:\n%s", tc.reason, diff)
		}
		if diff := cmp.Diff(tc.wantDetails, details); diff != "" {
			t.Errorf("%s\nchange log details: -want, +got:\n%s", tc.reason, diff)
		}
		if diff := cmp.Diff(tc.wantReady, cr.GetCondition(xpv2.TypeReady).Message); diff != "" {
			t.Errorf("%s\nReady's message: -want, +got:\n%s", tc.reason, diff)
		}
	}
}
