package imagesharing

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
)

const (
	alice   = "1111111111111111"
	bob     = "2222222222222222"
	carol   = "3333333333333333"
	mallory = "6666666666666666"
)

func TestPlan(t *testing.T) {
	img := func(id string, shared ...string) image { return image{id: id, shared: setOf(shared...)} }
	heldImg := func(id string, held []string, shared ...string) image {
		i := img(id, shared...)
		i.held = setOf(held...)
		return i
	}
	cases := []struct {
		reason     string
		plan       plan
		wantChange []change
		wantObs    common.ImageSharingObservation
	}{
		{
			reason:     "A new sharing adds every listed account, in one change, and does not exist yet.",
			plan:       plan{kept: []image{img("m-1")}, wanted: wanted{listed: setOf(bob, alice)}},
			wantChange: []change{{image: "m-1", add: []string{alice, bob}}},
			wantObs:    common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-1", MissingAccounts: []string{alice, bob}}}},
		},
		{
			reason:     "A partly made sharing exists, and adds only the accounts missing; someone else's share is left alone.",
			plan:       plan{kept: []image{img("m-1", alice, mallory)}, wanted: wanted{listed: setOf(alice, bob)}},
			wantChange: []change{{image: "m-1", add: []string{bob}}},
			wantObs: common.ImageSharingObservation{Images: []common.SharedImage{{
				ImageID: "m-1", SharedAccounts: []string{alice}, MissingAccounts: []string{bob}, UnlistedAccounts: []string{mallory},
			}}},
		},
		{
			reason:     "An exclusive sharing removes the accounts not listed, in the same change as its adds.",
			plan:       plan{kept: []image{img("m-1", alice, mallory)}, wanted: wanted{listed: setOf(alice, bob), exclusive: true}},
			wantChange: []change{{image: "m-1", add: []string{bob}, remove: []string{mallory}}},
			wantObs: common.ImageSharingObservation{Images: []common.SharedImage{{
				ImageID: "m-1", SharedAccounts: []string{alice}, MissingAccounts: []string{bob}, UnlistedAccounts: []string{mallory},
			}}},
		},
		{
			reason: "An exclusive sharing spares an account an ImageSharePermission manages, and reports it held.",
			plan:   plan{kept: []image{heldImg("m-1", []string{mallory}, alice, mallory)}, wanted: wanted{listed: setOf(alice), exclusive: true}},
			wantObs: common.ImageSharingObservation{Images: []common.SharedImage{{
				ImageID: "m-1", SharedAccounts: []string{alice}, UnlistedAccounts: []string{mallory}, HeldAccounts: []string{mallory},
			}}},
		},
		{
			reason:     "An account taken off the list is unshared, exclusive or not, and reported as removed until it is.",
			plan:       plan{kept: []image{img("m-1", alice, bob, mallory)}, wanted: wanted{listed: setOf(alice), former: setOf(alice, bob)}},
			wantChange: []change{{image: "m-1", remove: []string{bob}}},
			wantObs: common.ImageSharingObservation{
				Images:          []common.SharedImage{{ImageID: "m-1", SharedAccounts: []string{alice}, UnlistedAccounts: []string{bob, mallory}}},
				RemovedAccounts: []string{bob},
			},
		},
		{
			reason: "A retired version loses the listed accounts but keeps someone else's share, unless exclusive.",
			plan: plan{
				kept:    []image{img("m-2", alice)},
				retired: []image{img("m-1", alice, mallory)},
				wanted:  wanted{listed: setOf(alice), former: setOf(alice)},
			},
			wantChange: []change{{image: "m-1", remove: []string{alice}}},
			wantObs: common.ImageSharingObservation{
				Images:        []common.SharedImage{{ImageID: "m-2", SharedAccounts: []string{alice}}},
				RetiredImages: []string{"m-1"},
			},
		},
		{
			reason: "An exclusive sharing unshares a retired version from everyone.",
			plan: plan{
				kept:    []image{img("m-2", alice)},
				retired: []image{img("m-1", alice, mallory)},
				wanted:  wanted{listed: setOf(alice), exclusive: true},
			},
			wantChange: []change{{image: "m-1", remove: []string{alice, mallory}}},
			wantObs: common.ImageSharingObservation{
				Images:        []common.SharedImage{{ImageID: "m-2", SharedAccounts: []string{alice}}},
				RetiredImages: []string{"m-1"},
			},
		},
		{
			reason: "A retired version with nothing of ours left is dropped.",
			plan: plan{
				kept:    []image{img("m-2", alice)},
				retired: []image{img("m-1", mallory)},
				wanted:  wanted{listed: setOf(alice)},
			},
			wantObs: common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-2", SharedAccounts: []string{alice}}}},
		},
		{
			reason: "Deleting unshares the listed accounts from every image, and only them, sparing the held ones; it exists while there is any.",
			plan: plan{
				kept:    []image{heldImg("m-2", []string{bob}, alice, bob, mallory)},
				retired: []image{img("m-1", alice)},
				wanted:  wanted{listed: setOf(alice, bob), deleting: true, exclusive: true},
			},
			wantChange: []change{{image: "m-2", remove: []string{alice}}, {image: "m-1", remove: []string{alice}}},
			wantObs: common.ImageSharingObservation{
				Images:        []common.SharedImage{{ImageID: "m-2", SharedAccounts: []string{alice, bob}, UnlistedAccounts: []string{mallory}}},
				RetiredImages: []string{"m-1"},
			},
		},
		{
			reason:  "Deleting a sharing with nothing of ours left: it is gone.",
			plan:    plan{kept: []image{img("m-1", mallory)}, wanted: wanted{listed: setOf(alice), deleting: true}},
			wantObs: common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-1", MissingAccounts: []string{alice}, UnlistedAccounts: []string{mallory}}}},
		},
		{
			reason:     "A family's new version is shared and the one it replaced unshared, in one plan.",
			plan:       plan{kept: []image{img("m-3")}, retired: []image{img("m-2", alice)}, wanted: wanted{listed: setOf(alice), former: setOf(alice)}},
			wantChange: []change{{image: "m-3", add: []string{alice}}, {image: "m-2", remove: []string{alice}}},
			wantObs: common.ImageSharingObservation{
				Images:        []common.SharedImage{{ImageID: "m-3", MissingAccounts: []string{alice}}},
				RetiredImages: []string{"m-2"},
			},
		},
		{
			reason:  "No account listed: nothing to share, so the sharing exists as it is.",
			plan:    plan{kept: []image{img("m-1", mallory)}, wanted: wanted{listed: setOf()}},
			wantObs: common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-1", UnlistedAccounts: []string{mallory}}}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if diff := cmp.Diff(tc.wantChange, tc.plan.changes(), cmp.AllowUnexported(change{}), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nchanges(): -want, +got:\n%s", tc.reason, diff)
			}
			if diff := cmp.Diff(tc.wantObs, tc.plan.observation(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s\nobservation(): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestAppliedChangesShowInTheObservation(t *testing.T) {
	p := plan{kept: []image{{id: "m-1", shared: setOf(mallory)}}, wanted: wanted{listed: setOf(alice, bob), exclusive: true}}
	changes := p.changes()
	p.applied(changes, func(image, account string) bool { return account == bob })
	want := common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-1", SharedAccounts: []string{alice}, MissingAccounts: []string{bob}}}}
	if diff := cmp.Diff(want, p.observation(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("an add and a remove that went through, and an add ECS refused: -want, +got:\n%s", diff)
	}
}

func TestRetiredAreTheFamilysVersionsStatusNames(t *testing.T) {
	prev := common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-2"}, {ImageID: "m-1"}}, RetiredImages: []string{"m-0", "m-notfamily"}}
	older := []image{{id: "m-1"}, {id: "m-0"}, {id: "m-never"}}
	for i := range 40 {
		id := fmt.Sprintf("m-old%02d", i)
		prev.RetiredImages = append(prev.RetiredImages, id)
		older = append(older, image{id: id})
	}
	got := retired(prev, []image{{id: "m-2"}}, older, false)
	var ids []string
	for _, img := range got {
		ids = append(ids, img.id)
	}
	want := []string{"m-1", "m-0"}
	for i := range maxRetired - 2 {
		want = append(want, fmt.Sprintf("m-old%02d", i))
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("the family's versions status names, up to the bound; not m-never, which it never managed, nor m-notfamily, which the family does not list: -want, +got:\n%s", diff)
	}
	first := retired(common.ImageSharingObservation{}, []image{{id: "m-2"}}, []image{{id: "m-1"}, {id: "m-0"}}, false)
	if diff := cmp.Diff([]image{{id: "m-1"}, {id: "m-0"}}, first, cmp.AllowUnexported(image{})); diff != "" {
		t.Errorf("a first observation retires the family's older versions: -want, +got:\n%s", diff)
	}
	if got := retired(common.ImageSharingObservation{}, nil, []image{{id: "m-1"}}, true); len(got) != 0 {
		t.Errorf("retired = %v: a first observation of an object being deleted touches what it never managed", got)
	}
}
