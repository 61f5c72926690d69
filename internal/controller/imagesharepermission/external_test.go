package imagesharepermission

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis"
	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/ecsclients"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const (
	owner    = "1234567890123456"
	friend   = "2222222222222222"
	stranger = "3333333333333333"
	other    = "9999999999999999"
	key      = "LTAItestOwnerKey"
	secret   = "ownerSecret"
	region   = "cn-hangzhou"
	imageID  = "m-test0001"
)

func simConfig() ecssim.Config {
	return ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: owner, AccessKeys: []ecssim.AccessKey{
				{ID: key, Secret: secret},
				{ID: "LTAIdescribeOnly", Secret: "roSecret", AllowedActions: []string{"DescribeImageSharePermission"}},
			}},
			{ID: friend}, {ID: stranger}, {ID: other},
		},
		Images: []ecssim.Image{
			{ID: imageID, Region: region, Owner: owner, SharedWith: []string{friend}},
			{ID: "m-deprecated", Region: region, Owner: owner, Status: "Deprecated"},
			{ID: "m-foreign01", Region: region, Owner: other},
		},
	}
}

// newExternal serves a simulator and returns our external client for it,
// through the real SDK, with the given AccessKey.
func newExternal(t *testing.T, cfg ecssim.Config, keyID, keySecret string, opts ...ecssim.Option) (*external, *ecssim.Simulator) {
	t.Helper()
	sim, srv := simtest.Serve(t, cfg, opts...)
	c, err := ecs.New(ecs.Config{
		Region: region, Endpoint: srv.URL, Credentials: credentials.Credentials{AccessKeyID: keyID, AccessKeySecret: keySecret},
		ReadTimeout: 5 * time.Second, ConnectTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &external{shares: ecsclients.Direct{Client: c}}, sim
}

// share returns an ImageSharePermission of either scope.
func share(namespaced bool, image, account string) shareResource {
	p := common.ImageSharePermissionParameters{Region: region, ImageID: image, AccountID: account}
	if namespaced {
		cr := &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "default"}}
		cr.Spec.ForProvider = p
		return cr
	}
	cr := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s"}}
	cr.Spec.ForProvider = p
	return cr
}

func atProvider(cr shareResource) common.ImageSharePermissionObservation {
	switch r := cr.(type) {
	case *ecsv1beta1.ImageSharePermission:
		return r.Status.AtProvider
	case *clusterecsv1beta1.ImageSharePermission:
		return r.Status.AtProvider
	}
	return common.ImageSharePermissionObservation{}
}

var scopesUnderTest = map[string]bool{"namespaced": true, "cluster": false}

// TestLifecycle walks a share through observe, create, observe and delete in
// both scopes, checking ECS (the simulator) at every step.
func TestLifecycle(t *testing.T) {
	for scope, namespaced := range scopesUnderTest {
		t.Run(scope, func(t *testing.T) {
			e, sim := newExternal(t, simConfig(), key, secret)
			ctx := context.Background()
			cr := share(namespaced, imageID, stranger)

			obs, err := e.Observe(ctx, cr)
			if err != nil || obs.ResourceExists {
				t.Fatalf("before create: %+v, %v; want not existing", obs, err)
			}
			if _, err := e.Create(ctx, cr); err != nil {
				t.Fatal(err)
			}
			if got, _ := sim.SharedWith(region, imageID); !slices.Contains(got, stranger) {
				t.Fatalf("after create ECS shares with %v", got)
			}
			obs, err = e.Observe(ctx, cr)
			if err != nil || !obs.ResourceExists || !obs.ResourceUpToDate {
				t.Fatalf("after create: %+v, %v; want existing and up to date", obs, err)
			}
			at := atProvider(cr)
			if at.ID != imageID+":"+stranger || at.AccountID != stranger || at.ImageID != imageID || at.Region != region || at.SharedTime == nil {
				t.Errorf("atProvider = %+v", at)
			}
			if c := cr.GetCondition(xpv2.TypeReady); c.Status != corev1.ConditionTrue {
				t.Errorf("Ready = %v, want True", c.Status)
			}
			if _, err := e.Update(ctx, cr); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Delete(ctx, cr); err != nil {
				t.Fatal(err)
			}
			if got, _ := sim.SharedWith(region, imageID); !slices.Equal(got, []string{friend}) {
				t.Fatalf("after delete ECS shares with %v, want only the other share left", got)
			}
			if obs, err = e.Observe(ctx, cr); err != nil || obs.ResourceExists {
				t.Fatalf("after delete: %+v, %v", obs, err)
			}
		})
	}
}

func TestObserve(t *testing.T) {
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("5%015d", i)
		}
		return out
	}
	cases := []struct {
		name       string
		cfg        func(*ecssim.Config)
		image      string
		account    string
		wantExists bool
		wantErr    string
	}{
		{name: "ours among others", account: friend, wantExists: true},
		{
			// Terraform reads one page of 10 and takes any share as ours.
			name: "ours on the second page of more than 100",
			cfg: func(c *ecssim.Config) {
				c.AcceptAnyAccount = true
				c.Images[0].MaxShares = 200
				c.Images[0].SharedWith = append(many(130), stranger)
			},
			account: stranger, wantExists: true,
		},
		{
			name:    "drift: ours gone, others remain",
			cfg:     func(c *ecssim.Config) { c.Images[0].SharedWith = []string{friend, other} },
			account: stranger, wantExists: false,
		},
		{name: "image gone", image: "m-gone0001", account: friend, wantExists: false},
		{name: "another tenant's image looks gone", image: "m-foreign01", account: friend, wantExists: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e, _ := newExternal(t, cfg, key, secret)
			obs, err := e.Observe(context.Background(), share(true, cmp.Or(tc.image, imageID), tc.account))
			if err != nil {
				t.Fatal(err)
			}
			if obs.ResourceExists != tc.wantExists {
				t.Errorf("ResourceExists = %v, want %v", obs.ResourceExists, tc.wantExists)
			}
		})
	}
}

// TestErrorsReachTheCondition checks that what ECS refuses comes back as an
// error naming the ECS code and what to do: the managed reconciler puts
// exactly that text in the Synced condition.
func TestErrorsReachTheCondition(t *testing.T) {
	cases := []struct {
		name     string
		keyID    string
		secret   string
		cfg      func(*ecssim.Config)
		op       string // create, observe, delete
		image    string
		account  string
		wantCode string
	}{
		{name: "quota", cfg: func(c *ecssim.Config) { c.Limits.MaxSharesPerImage = 1 }, op: "create", account: stranger, wantCode: "QuotaExceed.ShareImageUser"},
		{name: "another tenant's image", op: "create", image: "m-foreign01", account: stranger, wantCode: "InvalidImageId.NotFound"},
		{name: "own account", op: "create", account: owner, wantCode: "InvalidAccount.Forbbiden"},
		{name: "unknown account", op: "create", account: "4444444444444444", wantCode: "InvalidAccount.NotFound"},
		{name: "deprecated image", op: "create", image: "m-deprecated", account: stranger, wantCode: "OperationDenied.InvalidImageStatus"},
		{name: "RAM permission", keyID: "LTAIdescribeOnly", secret: "roSecret", op: "create", account: stranger, wantCode: "ecs:ModifyImageSharePermission"},
		{name: "wrong secret", secret: "not-the-secret", op: "observe", account: stranger, wantCode: "SignatureDoesNotMatch"},
		{name: "unknown key", keyID: "LTAInobody", op: "observe", account: stranger, wantCode: "InvalidAccessKeyId.NotFound"},
		{name: "image encrypted with the service key", cfg: func(c *ecssim.Config) { c.Images[0].Encryption = ecssim.EncryptionServiceKey }, op: "create", account: stranger,
			wantCode: "InvalidOperation.ServiceKeyEncryptedImageUnsupported"},
		// The fix names the principal the share role must trust.
		{name: "encrypted image without the share role", cfg: func(c *ecssim.Config) { c.Images[0].Encryption = ecssim.EncryptionCMK }, op: "create", account: stranger,
			wantCode: "AssumeRoleError: the image is encrypted, and ECS shares it only through the RAM role AliyunECSShareEncryptImageDefaultRole in the image owner's account, " +
				"which it could not assume for this share; create the role if it is missing, and have its trust policy name " + stranger + "@ecs.aliyuncs.com"},
		{name: "encrypted images not shared in the region", cfg: func(c *ecssim.Config) {
			c.Images[0].Encryption = ecssim.EncryptionCMK
			c.Limits.EncryptedShareRegions = []string{"cn-beijing"}
		}, op: "create", account: stranger, wantCode: "OperationDeined.EncryptedSnapshot"},
		{name: "delete throttled", cfg: func(c *ecssim.Config) { c.Faults.ErrorRate = 1; c.Faults.ErrorCode = "ServiceUnavailable" }, op: "delete", account: friend, wantCode: "ServiceUnavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := simConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			keySecret := cmp.Or(tc.secret, secret)
			e, _ := newExternal(t, cfg, cmp.Or(tc.keyID, key), keySecret)
			cr := share(true, cmp.Or(tc.image, imageID), tc.account)
			var err error
			switch tc.op {
			case "create":
				_, err = e.Create(context.Background(), cr)
			case "observe":
				_, err = e.Observe(context.Background(), cr)
			case "delete":
				_, err = e.Delete(context.Background(), cr)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantCode) {
				t.Fatalf("error %v, want one naming %s", err, tc.wantCode)
			}
			if strings.Contains(err.Error(), keySecret) {
				t.Errorf("error shows the AccessKey secret: %v", err)
			}
		})
	}
}

func TestDeleteVanished(t *testing.T) {
	cases := map[string]string{"image gone": "m-gone0001", "share already gone": imageID}
	for name, image := range cases {
		t.Run(name, func(t *testing.T) {
			e, _ := newExternal(t, simConfig(), key, secret)
			if _, err := e.Delete(context.Background(), share(false, image, stranger)); err != nil {
				t.Fatalf("Delete: %v, want success", err)
			}
		})
	}
}

// TestThrottlingThenSuccess shows a throttled call fails retryably and the
// next reconcile, once the rate allows, succeeds.
func TestThrottlingThenSuccess(t *testing.T) {
	clk := simtest.NewClock()
	cfg := simConfig()
	cfg.Faults.RateLimits.PerAccount = &ecssim.Rate{PerSecond: 1, Burst: 1}
	e, _ := newExternal(t, cfg, key, secret, ecssim.WithClock(clk.Now))
	cr := share(true, imageID, friend)
	if _, err := e.Observe(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	_, err := e.Observe(context.Background(), cr)
	if !ecs.IsRetryable(err) || !strings.Contains(err.Error(), "Throttling.User") {
		t.Fatalf("second call: %v, want a retryable Throttling.User", err)
	}
	clk.Advance(time.Second)
	if obs, err := e.Observe(context.Background(), cr); err != nil || !obs.ResourceExists {
		t.Fatalf("after backoff: %+v, %v", obs, err)
	}
}

func TestExternalNameInitializer(t *testing.T) {
	want := imageID + ":" + stranger
	cases := []struct {
		name       string
		annotation string
		finalized  bool
		wantErr    string
		// wantName is the name the resource holds, wantStored the one the
		// API server has after Initialize.
		wantName, wantStored string
	}{
		{name: "set from forProvider, stored by the finalizer's write to come", wantName: want},
		{name: "set from forProvider on a finalized resource, stored now", finalized: true, wantName: want, wantStored: want},
		{name: "import that matches", annotation: want, wantName: want, wantStored: want},
		{name: "import that does not match", annotation: imageID + ":" + friend, wantErr: `does not match spec.forProvider, which names "` + want + `"`},
		{name: "malformed", annotation: "demo-share", wantErr: "must be <image_id>:<account_id>"},
	}
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		for scope, namespaced := range scopesUnderTest {
			t.Run(scope+"/"+tc.name, func(t *testing.T) {
				cr := share(namespaced, imageID, stranger)
				if tc.annotation != "" {
					meta.SetExternalName(cr, tc.annotation)
				}
				if tc.finalized {
					meta.AddFinalizer(cr, managed.FinalizerName)
				}
				kube := fake.NewClientBuilder().WithScheme(s).WithObjects(cr).Build()
				err := externalName(kube).Initialize(context.Background(), cr)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("error %v, want %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				stored := cr.DeepCopyObject().(resource.Managed)
				if err := kube.Get(context.Background(), client.ObjectKeyFromObject(cr), stored); err != nil {
					t.Fatal(err)
				}
				if got := meta.GetExternalName(cr); got != tc.wantName {
					t.Errorf("external name %q, want %q", got, tc.wantName)
				}
				if got := meta.GetExternalName(stored); got != tc.wantStored {
					t.Errorf("stored external name %q, want %q", got, tc.wantStored)
				}
			})
		}
	}
}
