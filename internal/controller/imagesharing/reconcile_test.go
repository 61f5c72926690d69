package imagesharing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpfake "github.com/crossplane/crossplane-runtime/v2/pkg/resource/fake"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/config"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/controllertest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const (
	owner     = "1234567890123456"
	nobody    = "5555555555555555" // no such account
	region    = "cn-hangzhou"
	ownerKey  = "LTAIsharingOwner"
	ownerPass = "sharingSecret"
	family    = "golden"
	modify    = "ModifyImageSharePermission"
)

// world is an owner with an image shared with mallory by hand, a family of
// two versions (the older shared with alice and mallory by hand), an image
// whose quota is full, and 25 accounts to share with.
func world() ecssim.Config {
	cfg := ecssim.Config{
		Accounts: []ecssim.Account{{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: ownerKey, Secret: ownerPass}}}, {ID: alice}, {ID: bob}, {ID: carol}, {ID: mallory}},
		Images: []ecssim.Image{
			{ID: "m-img0001", Region: region, Owner: owner, SharedWith: []string{mallory}},
			{ID: "m-gold0001", Region: region, Owner: owner, Family: family, CreationTime: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), SharedWith: []string{alice, mallory}},
			{ID: "m-gold0002", Region: region, Owner: owner, Family: family, CreationTime: time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)},
			{ID: "m-full0001", Region: region, Owner: owner, MaxShares: 2, SharedWith: []string{mallory}},
			{ID: "m-many0001", Region: region, Owner: owner},
			{ID: "m-cmk00001", Region: region, Owner: owner, Encryption: ecssim.EncryptionCMK},
		},
		// The owner's role lets ECS share encrypted images with alice only.
		Roles: []ecssim.Role{{Account: owner, Name: ecssim.ShareEncryptedImageRole, TrustedServices: []string{alice + "@ecs.aliyuncs.com"}}},
	}
	for _, a := range many() {
		cfg.Accounts = append(cfg.Accounts, ecssim.Account{ID: a})
	}
	return cfg
}

// many are 25 accounts: three calls' worth.
func many() []string {
	out := make([]string, 25)
	for i := range out {
		out[i] = fmt.Sprintf("7%015d", i)
	}
	return out
}

// rig is the namespaced ImageSharing reconciler as the controller
// configures it, over a fake API server, against a simulator.
type rig struct {
	t      *testing.T
	sim    *ecssim.Simulator
	kube   client.Client
	r      *managed.Reconciler
	events *events
}

// events keeps the events recorded, as "Reason: message".
type events struct {
	mu   sync.Mutex
	said []string
}

func (e *events) Event(_ runtime.Object, ev event.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.said = append(e.said, string(ev.Reason)+": "+ev.Message)
}

func (e *events) WithAnnotations(...string) event.Recorder { return e }

// take returns the events recorded since the last take.
func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.said
	e.said = nil
	return out
}

func newRig(t *testing.T, objects ...client.Object) *rig {
	t.Helper()
	return newRigWith(t, ecsclients.Options{}, objects...)
}

// newRigWith is newRig with what o sets of the clients' options: its
// listing freshness and metrics.
func newRigWith(t *testing.T, o ecsclients.Options, objects ...client.Object) *rig {
	t.Helper()
	sim, srv := simtest.Serve(t, world())
	kube := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).
		WithObjects(append(objects, controllertest.ClusterConfigAt(srv.URL, ownerKey, ownerPass)...)...).
		WithStatusSubresource(&ecsv1beta1.ImageSharing{}).Build()
	// Management policies are on, as the provider's flag has them by
	// default.
	co := controller.Options{Logger: logging.NewNopLogger(), PollInterval: time.Minute, Features: &feature.Flags{}}
	co.Features.Enable(feature.EnableBetaManagementPolicies)
	said := &events{}
	clients := ecsclients.New(ecsclients.Options{
		NewClient: ecs.New, Coalesce: true, BatchWindow: 10 * time.Millisecond, DescribeRate: 50, ModifyRate: 50,
		ListingFreshness: o.ListingFreshness, Metrics: o.Metrics,
	}, co.PollInterval)
	r := managed.NewReconciler(&xpfake.Manager{Client: kube, Scheme: kube.Scheme()}, resource.ManagedKind(ecsv1beta1.ImageSharingGroupVersionKind),
		options(kube, config.NewResolver(kube, config.CredentialOptions{}), co.Logger, said, co, clients, requeue.New())...)
	return &rig{t: t, sim: sim, kube: kube, r: r, events: said}
}

// sharing is a namespaced ImageSharing under the ClusterProviderConfig.
func sharing(name string, p common.ImageSharingParameters) *ecsv1beta1.ImageSharing {
	p.Region = region
	cr := &ecsv1beta1.ImageSharing{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)}}
	cr.Spec.ForProvider = p
	cr.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: alibabacloudv1beta1.ClusterProviderConfigKind, Name: controllertest.ClusterConfig}
	// The CRD's default, which the fake API server does not apply.
	cr.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionAll}
	return cr
}

// reconcile reconciles the resource n times, as its requeues would, and
// returns it as stored, or nil once it is gone.
func (r *rig) reconcile(name string, n int) *ecsv1beta1.ImageSharing {
	r.t.Helper()
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "default", Name: name}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range n {
		if _, err := r.r.Reconcile(ctx, req); err != nil {
			r.t.Fatalf("Reconcile: %v", err)
		}
	}
	cr := &ecsv1beta1.ImageSharing{}
	if err := r.kube.Get(ctx, req.NamespacedName, cr); err != nil {
		return nil
	}
	return cr
}

// shared is who the simulator says has the image, sorted.
func (r *rig) shared(image string) []string {
	r.t.Helper()
	got, err := r.sim.SharedWith(region, image)
	if err != nil {
		r.t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func (r *rig) update(cr *ecsv1beta1.ImageSharing, change func(*common.ImageSharingParameters)) {
	r.t.Helper()
	change(&cr.Spec.ForProvider)
	if err := r.kube.Update(context.Background(), cr); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) delete(cr *ecsv1beta1.ImageSharing) {
	r.t.Helper()
	if err := r.kube.Delete(context.Background(), cr); err != nil {
		r.t.Fatal(err)
	}
}

func condition(cr *ecsv1beta1.ImageSharing, t xpv2.ConditionType) xpv2.Condition {
	return cr.GetCondition(t)
}

// TestSharingAnImage: an image is shared with the accounts listed, an
// account ECS refuses holds back no other and is named with its reason,
// taking it off the list settles the sharing, and deleting unshares the
// listed accounts only.
func TestSharingAnImage(t *testing.T) {
	cr := sharing("img", common.ImageSharingParameters{ImageID: "m-img0001", Accounts: []string{alice, bob, nobody}})
	r := newRig(t, cr)

	got := r.reconcile("img", 2)
	if diff := cmp.Diff([]string{alice, bob, mallory}, r.shared("m-img0001")); diff != "" {
		t.Errorf("after the first reconciles, the accounts ECS accepts are shared: -want, +got:\n%s", diff)
	}
	synced := condition(got, xpv2.TypeSynced)
	if synced.Status != corev1.ConditionFalse || !strings.Contains(synced.Message, "sharing with account "+nobody+" failed") ||
		!strings.Contains(synced.Message, ecs.CodeAccountNotFound) {
		t.Errorf("Synced = %s %q: want False, naming account %s and %s", synced.Status, synced.Message, nobody, ecs.CodeAccountNotFound)
	}
	if diff := cmp.Diff([]string{nobody}, got.Status.AtProvider.Images[0].MissingAccounts); diff != "" {
		t.Errorf("status names the account missing: -want, +got:\n%s", diff)
	}
	if ready := condition(got, xpv2.TypeReady); ready.Status != corev1.ConditionFalse {
		t.Errorf("Ready = %s, want False while an account lacks the image", ready.Status)
	}

	r.update(got, func(p *common.ImageSharingParameters) { p.Accounts = []string{alice, bob} })
	got = r.reconcile("img", 1)
	if ready := condition(got, xpv2.TypeReady); ready.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %s %q once the refused account is off the list, want True", ready.Status, ready.Message)
	}
	want := common.ImageSharingObservation{Images: []common.SharedImage{{ImageID: "m-img0001", SharedAccounts: []string{alice, bob}, UnlistedAccounts: []string{mallory}}}}
	if diff := cmp.Diff(want, got.Status.AtProvider); diff != "" {
		t.Errorf("status.atProvider: -want, +got:\n%s", diff)
	}

	r.update(got, func(p *common.ImageSharingParameters) { p.Accounts = []string{alice} })
	r.reconcile("img", 1)
	if diff := cmp.Diff([]string{alice, mallory}, r.shared("m-img0001")); diff != "" {
		t.Errorf("an account taken off the list is unshared, someone else's share is not: -want, +got:\n%s", diff)
	}

	r.delete(got)
	if gone := r.reconcile("img", 2); gone != nil {
		t.Errorf("the ImageSharing is still there after its delete: %v", gone.Status.Conditions)
	}
	if diff := cmp.Diff([]string{mallory}, r.shared("m-img0001")); diff != "" {
		t.Errorf("deleting unshares the listed accounts, not someone else's: -want, +got:\n%s", diff)
	}
}

// TestManyAccountsGoInFullCalls: 25 accounts are three calls.
func TestManyAccountsGoInFullCalls(t *testing.T) {
	r := newRig(t, sharing("many", common.ImageSharingParameters{ImageID: "m-many0001", Accounts: many()}))
	got := r.reconcile("many", 2)
	if ready := condition(got, xpv2.TypeReady); ready.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %s %q, want True", ready.Status, ready.Message)
	}
	if n := len(r.shared("m-many0001")); n != 25 {
		t.Errorf("shared with %d accounts, want 25", n)
	}
	if n := r.sim.Calls(modify); n != 3 {
		t.Errorf("%d %s calls for 25 accounts, want 3", n, modify)
	}
}

// TestQuotaRefusesOnlyTheAccountsOver: an image with room for one more
// account shares with the first and names the others' refusal, once.
func TestQuotaRefusesOnlyTheAccountsOver(t *testing.T) {
	r := newRig(t, sharing("full", common.ImageSharingParameters{ImageID: "m-full0001", Accounts: []string{alice, bob, carol}}))
	got := r.reconcile("full", 2)
	if n := len(r.shared("m-full0001")); n != 2 {
		t.Errorf("shared with %v, want mallory and one listed account", r.shared("m-full0001"))
	}
	msg := condition(got, xpv2.TypeSynced).Message
	if strings.Count(msg, ecs.CodeQuotaShareImageUser) != 1 || !strings.Contains(msg, "sharing with accounts ") {
		t.Errorf("Synced message %q: want the accounts over the quota named together, with %s once", msg, ecs.CodeQuotaShareImageUser)
	}
}

// TestEncryptedImageRefusesOnlyTheAccountsTheRoleDoesNotTrust: an
// encrypted image is shared with the account its owner's role trusts, and
// the condition names the principal the role's trust policy lacks.
func TestEncryptedImageRefusesOnlyTheAccountsTheRoleDoesNotTrust(t *testing.T) {
	r := newRig(t, sharing("cmk", common.ImageSharingParameters{ImageID: "m-cmk00001", Accounts: []string{alice, bob}}))
	got := r.reconcile("cmk", 2)
	if diff := cmp.Diff([]string{alice}, r.shared("m-cmk00001")); diff != "" {
		t.Errorf("the account the role trusts is shared: -want, +got:\n%s", diff)
	}
	msg := condition(got, xpv2.TypeSynced).Message
	for _, want := range []string{"sharing with account " + bob + " failed", ecs.CodeAssumeRoleError, bob + "@ecs.aliyuncs.com"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Synced message %q lacks %q", msg, want)
		}
	}
}

// TestFollowingAFamily: the newest Available version is shared with the
// accounts, older ones retired; a new version is shared at the next
// reconcile and the one it replaces unshared.
func TestFollowingAFamily(t *testing.T) {
	r := newRig(t, sharing("gold", common.ImageSharingParameters{ImageFamily: family, Accounts: []string{alice, bob}}))
	got := r.reconcile("gold", 2)
	if diff := cmp.Diff([]string{alice, bob}, r.shared("m-gold0002")); diff != "" {
		t.Errorf("the newest version is shared with the accounts: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{mallory}, r.shared("m-gold0001")); diff != "" {
		t.Errorf("the older version loses the listed accounts, keeps someone else's: -want, +got:\n%s", diff)
	}
	if ready := condition(got, xpv2.TypeReady); ready.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %s %q, want True", ready.Status, ready.Message)
	}

	if _, err := r.sim.PublishVersion(region, family, ecssim.Image{ID: "m-gold0003"}); err != nil {
		t.Fatal(err)
	}
	got = r.reconcile("gold", 1)
	if diff := cmp.Diff([]string{alice, bob}, r.shared("m-gold0003")); diff != "" {
		t.Errorf("a new version is shared at the next reconcile: -want, +got:\n%s", diff)
	}
	if got := r.shared("m-gold0002"); len(got) != 0 {
		t.Errorf("the replaced version is still shared with %v", got)
	}
	if diff := cmp.Diff([]string{"m-gold0003"}, imageIDs(got)); diff != "" || len(got.Status.AtProvider.RetiredImages) != 0 {
		t.Errorf("status names the kept version only (-want, +got):\n%s retired: %v", diff, got.Status.AtProvider.RetiredImages)
	}

	r.update(got, func(p *common.ImageSharingParameters) { p.KeepPreviousVersions = 1 })
	got = r.reconcile("gold", 1)
	if diff := cmp.Diff([]string{"m-gold0003", "m-gold0002"}, imageIDs(got)); diff != "" {
		t.Errorf("keeping a previous version manages it again, newest first: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{alice, bob}, r.shared("m-gold0002")); diff != "" {
		t.Errorf("the previous version kept is shared again: -want, +got:\n%s", diff)
	}
}

// TestAFamilyWithoutAvailableImage is a condition, not an error loop.
func TestAFamilyWithoutAvailableImage(t *testing.T) {
	r := newRig(t, sharing("none", common.ImageSharingParameters{ImageFamily: "nothing-yet", Accounts: []string{alice}}))
	got := r.reconcile("none", 2)
	ready, synced := condition(got, xpv2.TypeReady), condition(got, xpv2.TypeSynced)
	if ready.Status != corev1.ConditionFalse || !strings.Contains(ready.Message, "no Available image") {
		t.Errorf("Ready = %s %q: want False, saying the family has no Available image", ready.Status, ready.Message)
	}
	if synced.Status != corev1.ConditionTrue {
		t.Errorf("Synced = %s %q: want True, nothing failed", synced.Status, synced.Message)
	}
	if n := r.sim.Calls(modify); n != 0 {
		t.Errorf("%d %s calls, want none", n, modify)
	}
}

// TestExclusiveSparesImageSharePermissions: an exclusive sharing unshares
// accounts not listed, except one a Ready ImageSharePermission manages,
// which it reports held; deleting it leaves that one too. One not Ready
// (whose credentials may not even see the image) holds nothing.
func TestExclusiveSparesImageSharePermissions(t *testing.T) {
	isp := func(name, account string, ready bool) *ecsv1beta1.ImageSharePermission {
		cr := &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: name}}
		cr.Spec.ForProvider = common.ImageSharePermissionParameters{Region: region, ImageID: "m-gold0002", AccountID: account}
		if ready {
			cr.SetConditions(xpv2.Available())
		}
		return cr
	}
	r := newRig(t, isp("by-hand", carol, true), isp("another-tenant", bob, false),
		sharing("excl", common.ImageSharingParameters{ImageFamily: family, Accounts: []string{alice}, Exclusive: true}))
	if err := r.sim.Share(region, "m-gold0002", true, carol, bob); err != nil {
		t.Fatal(err)
	}
	got := r.reconcile("excl", 2)
	if diff := cmp.Diff([]string{alice, carol}, r.shared("m-gold0002")); diff != "" {
		t.Errorf("exclusive: bob unshared (his ImageSharePermission is not Ready), carol held by a Ready one: -want, +got:\n%s", diff)
	}
	if got := r.shared("m-gold0001"); len(got) != 0 {
		t.Errorf("exclusive: the retired version is still shared with %v", got)
	}
	if diff := cmp.Diff([]string{carol}, got.Status.AtProvider.Images[0].HeldAccounts); diff != "" {
		t.Errorf("status reports the held account: -want, +got:\n%s", diff)
	}
	r.delete(got)
	r.reconcile("excl", 2)
	if diff := cmp.Diff([]string{carol}, r.shared("m-gold0002")); diff != "" {
		t.Errorf("deleting unshares the listed account and spares the held one: -want, +got:\n%s", diff)
	}
}

func imageIDs(cr *ecsv1beta1.ImageSharing) []string {
	var out []string
	for _, img := range cr.Status.AtProvider.Images {
		out = append(out, img.ImageID)
	}
	return out
}

// TestChangedAtOnce: an account dropped right after the first reconcile is
// unshared, and an object deleted right after is gone at once: the sharing
// exists from its first look, so the runtime neither drops the status that
// records the account nor waits out a creation grace period.
func TestChangedAtOnce(t *testing.T) {
	cr := sharing("quick", common.ImageSharingParameters{ImageID: "m-many0001", Accounts: []string{alice, bob}})
	r := newRig(t, cr)
	got := r.reconcile("quick", 1)
	r.update(got, func(p *common.ImageSharingParameters) { p.Accounts = []string{alice} })
	got = r.reconcile("quick", 1)
	if diff := cmp.Diff([]string{alice}, r.shared("m-many0001")); diff != "" {
		t.Errorf("an account dropped after the first reconcile is unshared: -want, +got:\n%s", diff)
	}
	r.delete(got)
	if gone := r.reconcile("quick", 2); gone != nil {
		t.Errorf("the ImageSharing is still there two reconciles after its delete: %v", gone.Status.Conditions)
	}
	if got := r.shared("m-many0001"); len(got) != 0 {
		t.Errorf("after the delete, still shared with %v", got)
	}
}

// TestAMissingImageSaysSo: an image the credentials do not own is ECS's
// refusal, with what to check.
func TestAMissingImageSaysSo(t *testing.T) {
	r := newRig(t, sharing("missing", common.ImageSharingParameters{ImageID: "m-nothere01", Accounts: []string{alice}}))
	got := r.reconcile("missing", 2)
	if msg := condition(got, xpv2.TypeSynced).Message; !strings.Contains(msg, ecs.CodeImageNotFound) || !strings.Contains(msg, "check imageId") {
		t.Errorf("Synced message %q: want %s and what to check", msg, ecs.CodeImageNotFound)
	}
}

// TestSharingsOnOneImageHoldEachOthersAccounts: an exclusive sharing does
// not remove an account another ImageSharing of the image lists and has
// seen shared; one that only lists it holds nothing.
func TestSharingsOnOneImageHoldEachOthersAccounts(t *testing.T) {
	other := func(name string, seen ...string) *ecsv1beta1.ImageSharing {
		cr := sharing(name, common.ImageSharingParameters{ImageID: "m-img0001", Accounts: []string{carol, bob}})
		cr.Namespace = "other"
		cr.Status.AtProvider.Images = []common.SharedImage{{ImageID: "m-img0001", SharedAccounts: seen}}
		return cr
	}
	r := newRig(t, other("seen", carol), sharing("excl", common.ImageSharingParameters{ImageID: "m-img0001", Accounts: []string{alice}, Exclusive: true}))
	if err := r.sim.Share(region, "m-img0001", true, carol, bob); err != nil {
		t.Fatal(err)
	}
	got := r.reconcile("excl", 2)
	if diff := cmp.Diff([]string{alice, carol}, r.shared("m-img0001")); diff != "" {
		t.Errorf("carol held by the sharing that has seen her share; bob and mallory unshared: -want, +got:\n%s", diff)
	}
	if diff := cmp.Diff([]string{carol}, got.Status.AtProvider.Images[0].HeldAccounts); diff != "" {
		t.Errorf("held accounts: -want, +got:\n%s", diff)
	}
}
