package config

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// loopback admits the simulator, which the tests serve on loopback, to
// namespaced ProviderConfigs beside Alibaba Cloud's, as make dev and the e2e
// suite do.
var loopback = func() alisdk.EndpointPolicy {
	p, err := alisdk.ParseEndpointPolicy(alisdk.DefaultTenantEndpoints + ",127.0.0.1")
	if err != nil {
		panic(err)
	}
	return p
}()

// TestOneEntryPerConfiguration resolves each source twice and checks its
// identity: one configuration is one cached credential source, whose key
// does not change from one resolution to the next.
func TestOneEntryPerConfiguration(t *testing.T) {
	w := newIdentities(t)
	cases := []struct {
		reason string
		config client.Object
		env    func(t *testing.T) func(string) (string, bool)
	}{
		{
			reason: "a tenant's Secret",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc", UID: "uid-1"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials = deployerSecret("team") })},
			env: noEnv,
		},
		{
			reason: "a tenant's Secret and a chain",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc", UID: "uid-1"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.AssumeRoleChain = chain(simtest.ExternalID)
				})},
			env: noEnv,
		},
		{
			reason: "RRSA, whose plan once held pointers",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc", UID: "uid-1"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials.Source = common.CredentialsSourceRRSA
				})}},
			env: w.env,
		},
		{
			reason: "ECSRole, whose plan once held pointers",
			config: &clusterv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc", UID: "uid-1"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials.Source = common.CredentialsSourceECSRole
					s.AssumeRoleChain = []common.AssumeRoleHop{{RoleARN: simtest.Hop1}}
				})},
			env: noEnv,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithStatusSubresource(tc.config).
				WithObjects(tc.config, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
			r := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback, LookupEnv: tc.env(t), MetadataEndpoint: w.url})
			gvk, spec := kindOf(tc.config)
			first, _, err := r.resolve(context.Background(), gvk, tc.config, *spec, simtest.Region)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Identity(context.Background(), gvk, tc.config, *spec); err != nil {
				t.Fatal(err)
			}
			second, _, err := r.resolve(context.Background(), gvk, tc.config, *spec, simtest.Region)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(1, r.credentials.cache.Len()); diff != "" {
				t.Errorf("%s\ncached credential sources after two resolutions and an identity check: -want, +got:\n%s", tc.reason, diff)
			}
			// The identity check proved the account: the budget, and so the
			// key, moved from the configuration to the account, and stay.
			third, _, err := r.resolve(context.Background(), gvk, tc.config, *spec, simtest.Region)
			if err != nil {
				t.Fatal(err)
			}
			if first.Budget != "config:uid-1" || !strings.HasPrefix(second.Budget, "account:") {
				t.Errorf("%s\nbudgets before and after the identity check: %q, %q; want the configuration's, then an account", tc.reason, first.Budget, second.Budget)
			}
			if second.Key != third.Key {
				t.Errorf("%s\ntwo resolutions of one configuration have different keys", tc.reason)
			}
			// What the configuration sees of ECS did not change: a change
			// queued before the check is found by the lookups after it.
			if first.Key == second.Key || first.Scope != second.Scope {
				t.Errorf("%s\nthe identity check moved the key %t and the scope %t; want the key moved, the scope kept", tc.reason, first.Key != second.Key, first.Scope != second.Scope)
			}
		})
	}
}

// kindOf is the kind and shared spec of a configuration object.
func kindOf(pc client.Object) (gvk schema.GroupVersionKind, spec *common.ProviderConfigSpec) {
	spec, _ = parts(pc)
	switch pc.(type) {
	case *alibabacloudv1beta1.ProviderConfig:
		return alibabacloudv1beta1.ProviderConfigGroupVersionKind, spec
	case *alibabacloudv1beta1.ClusterProviderConfig:
		return alibabacloudv1beta1.ClusterProviderConfigGroupVersionKind, spec
	}
	return clusterv1beta1.ProviderConfigGroupVersionKind, spec
}

// TestRecreatedConfigurationInheritsNothing plays the tenant who re-creates
// a deleted namespace's ProviderConfig under the same names, with the
// previous owner's AccessKey ID (the metrics endpoint once showed it) and a
// secret of its own: it must get neither the previous owner's sessions nor
// its ECS client, nor act at all.
func TestRecreatedConfigurationInheritsNothing(t *testing.T) {
	w := newIdentities(t)
	owner := &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc", UID: "owner-uid"},
		Spec: w.spec(func(s *common.ProviderConfigSpec) {
			s.Credentials = deployerSecret("team")
			s.AssumeRoleChain = chain(simtest.ExternalID)
		})}
	kube := fake.NewClientBuilder().WithScheme(scheme(t)).
		WithObjects(owner, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
	r := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback, LookupEnv: noEnv(t)})
	if err := use(r, "ProviderConfig"); err != nil {
		t.Fatal(err)
	}
	before, err := r.Resolve(context.Background(), namespacedShare("ProviderConfig", "pc"), simtest.Region)
	if err != nil {
		t.Fatal(err)
	}

	// The namespace is deleted and re-created for someone else.
	ctx := context.Background()
	if err := kube.Delete(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if err := kube.Delete(ctx, secret("team", "deployer", nil)); err != nil {
		t.Fatal(err)
	}
	intruder := owner.DeepCopy()
	intruder.ResourceVersion, intruder.UID = "", types.UID("intruder-uid")
	if err := kube.Create(ctx, intruder); err != nil {
		t.Fatal(err)
	}
	junk := `{"accessKeyId": "` + simtest.Deployer.ID + `", "accessKeySecret": "not-the-secret"}`
	if err := kube.Create(ctx, secret("team", "deployer", map[string]string{"credentials": junk})); err != nil {
		t.Fatal(err)
	}
	after, err := r.Resolve(ctx, namespacedShare("ProviderConfig", "pc"), simtest.Region)
	if err != nil {
		t.Fatal(err)
	}
	if after.Key == before.Key || after.Scope == before.Scope || after.Source == before.Source {
		t.Fatal("the re-created ProviderConfig got the previous owner's ECS client key, listings or credential source")
	}
	if err := use(r, "ProviderConfig"); err == nil {
		t.Fatal("the re-created ProviderConfig with a wrong secret got credentials: it acted as the previous owner")
	}
	assumes := w.sim.CallsBy(principal, func(c ecssim.Call) bool { return c.Action == "AssumeRole" })
	if got := assumes["acs:ram::"+simtest.ClusterAccount+":user/deployer"]; got != 1 {
		t.Errorf("the deployer assumed hop1 %d times, want 1: only the owner's own session", got)
	}
}

// TestTenantEndpoints checks the operator's endpoint policy: a tenant's
// ProviderConfig may call only the hosts it admits, the operator's own
// configurations any, and RRSA sends the pod's token only where a tenant's
// requests may go.
func TestTenantEndpoints(t *testing.T) {
	w := newIdentities(t)
	evil := "https://collector.evil.example"
	cases := []struct {
		reason  string
		config  client.Object
		env     func(t *testing.T) func(string) (string, bool)
		policy  string
		wantErr string
	}{
		{
			reason: "a tenant's ECS endpoint outside the policy is refused, naming the flag",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials = deployerSecret("team"); s.Endpoint = &evil })},
			env: noEnv, policy: "127.0.0.1",
			wantErr: "ProviderConfig team/pc: spec.endpoint's host collector.evil.example is not one the provider's operator admits (--tenant-endpoints=127.0.0.1)",
		},
		{
			reason: "a tenant's STS endpoint outside the policy is refused",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials = deployerSecret("team"); s.STSEndpoint = &evil })},
			env: noEnv, policy: "127.0.0.1",
			wantErr: "spec.stsEndpoint's host collector.evil.example is not one",
		},
		{
			reason: "the default policy refuses loopback to a tenant",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials = deployerSecret("team") })},
			env:     noEnv,
			wantErr: "is not one the provider's operator admits (--tenant-endpoints=*.aliyuncs.com)",
		},
		{
			reason: "the default policy admits a tenant with Alibaba Cloud's default endpoints",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: common.ProviderConfigSpec{Credentials: deployerSecret("team")}},
			env: noEnv,
		},
		{
			reason: "an operator's ClusterProviderConfig may name any endpoint",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.Endpoint = &evil
				})}},
			env: noEnv,
		},
		{
			reason: "RRSA never sends the pod's token to an STS endpoint outside the policy, even for the operator",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials.Source = common.CredentialsSourceRRSA
					s.STSEndpoint = &evil
				})}},
			env:     w.env,
			wantErr: "source RRSA: the STS endpoint it sends the service account token to's host collector.evil.example is not one",
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).
				WithObjects(tc.config, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
			o := CredentialOptions{LookupEnv: tc.env(t)}
			if tc.policy != "" {
				p, err := alisdk.ParseEndpointPolicy(tc.policy)
				if err != nil {
					t.Fatal(err)
				}
				o.TenantEndpoints = p
			}
			r := NewResolver(kube, o)
			kind := "ClusterProviderConfig"
			if _, ok := tc.config.(*alibabacloudv1beta1.ProviderConfig); ok {
				kind = "ProviderConfig"
			}
			_, err := r.Resolve(context.Background(), namespacedShare(kind, "pc"), simtest.Region)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if tc.wantErr == "" && got != "" || !strings.Contains(got, tc.wantErr) {
				t.Errorf("%s\nResolve: got error %q, want one containing %q", tc.reason, got, tc.wantErr)
			}
		})
	}
}
