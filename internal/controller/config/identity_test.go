package config

import (
	"context"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// TestIdentityReported reconciles configurations as their controller does:
// the status says who the credentials act as, or why they do not work, and
// the many reconciles a busy configuration gets do not each call STS.
func TestIdentityReported(t *testing.T) {
	w := newIdentities(t)
	cases := []struct {
		reason      string
		externalID  string
		wantStatus  corev1.ConditionStatus
		wantARN     string
		wantMessage string
	}{
		{
			reason:      "a working chain reports its last role",
			externalID:  simtest.ExternalID,
			wantStatus:  corev1.ConditionTrue,
			wantARN:     "acs:ram::" + simtest.OwnerAccount + ":assumed-role/hop2/" + defaultSessionName,
			wantMessage: "The credentials act as acs:ram::" + simtest.OwnerAccount + ":assumed-role/hop2/",
		},
		{
			reason:      "a wrong ExternalId is reported with the STS code",
			externalID:  "ext-wrong",
			wantStatus:  corev1.ConditionFalse,
			wantMessage: "NoPermission",
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			pc := &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc", Generation: 1},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.AssumeRoleChain = chain(tc.externalID)
				})}
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithStatusSubresource(pc).
				WithObjects(pc, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
			r := &identityReconciler{
				usage: reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return reconcile.Result{}, nil }),
				kube:  kube, resolver: NewResolver(kube, CredentialOptions{TenantEndpoints: loopback, LookupEnv: noEnv(t)}),
				gvk: alibabacloudv1beta1.ProviderConfigGroupVersionKind, log: logging.NewNopLogger(),
				newObj:  func() client.Object { return &alibabacloudv1beta1.ProviderConfig{} },
				checked: map[reconcile.Request]check{},
			}
			req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(pc)}
			identities := func() uint64 { return w.sim.Calls("GetCallerIdentity") }
			before := identities()
			for range 3 {
				res, err := r.Reconcile(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if res.RequeueAfter <= 0 {
					t.Errorf("no recheck scheduled: %+v", res)
				}
			}
			got := &alibabacloudv1beta1.ProviderConfig{}
			if err := kube.Get(context.Background(), req.NamespacedName, got); err != nil {
				t.Fatal(err)
			}
			c := got.Status.GetCondition(ConditionAuthenticated)
			if c.Status != tc.wantStatus || !strings.Contains(c.Message, tc.wantMessage) {
				t.Errorf("condition %s = %s %q, want %s and a message saying %q", ConditionAuthenticated, c.Status, c.Message, tc.wantStatus, tc.wantMessage)
			}
			if strings.Contains(c.Message, simtest.Deployer.Secret) {
				t.Errorf("the condition quotes the Deployer's secret: %q", c.Message)
			}
			gotARN := ""
			if got.Status.Identity != nil {
				gotARN = got.Status.Identity.ARN
			}
			if gotARN != tc.wantARN {
				t.Errorf("status.identity.arn = %q, want %q", gotARN, tc.wantARN)
			}
			wantCalls := uint64(0)
			if tc.wantStatus == corev1.ConditionTrue {
				wantCalls = 1
			}
			if n := identities() - before; n != wantCalls {
				t.Errorf("three reconciles made %d GetCallerIdentity calls, want %d: the check is due only after a while", n, wantCalls)
			}
		})
	}
}
