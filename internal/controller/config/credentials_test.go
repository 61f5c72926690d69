package config

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// identities is simtest's identities world served on loopback, with a fresh
// OIDC token in a file, as the kubelet would project it.
type identities struct {
	sim       *ecssim.Simulator
	url       string
	tokenFile string
	deployer  string // the Deployer's credentials document
}

func newIdentities(t *testing.T) identities {
	t.Helper()
	sim, srv := simtest.Serve(t, simtest.Identities())
	tok, err := sim.MintOIDCToken(simtest.OIDCProvider, simtest.Subject, ecssim.DefaultOIDCClientID, 0)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(map[string]string{"accessKeyId": simtest.Deployer.ID, "accessKeySecret": simtest.Deployer.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return identities{sim: sim, url: srv.URL, tokenFile: file, deployer: string(doc)}
}

// env is a provider pod's environment as ACK's pod identity webhook leaves
// it; reads of anything else fail the test.
func (w identities) env(t *testing.T) func(string) (string, bool) {
	vars := map[string]string{envRoleARN: simtest.RRSA, envOIDCProviderARN: simtest.OIDCProvider, envOIDCTokenFile: w.tokenFile, envSTSEndpoint: w.url}
	return func(name string) (string, bool) {
		v, ok := vars[name]
		if !ok {
			t.Errorf("the resolver read %s from the environment", name)
		}
		return v, ok
	}
}

// noEnv fails the test if the environment is read at all.
func noEnv(t *testing.T) func(string) (string, bool) {
	return func(name string) (string, bool) {
		t.Errorf("the resolver read %s from the pod's environment for a configuration that did not ask for RRSA", name)
		return "", false
	}
}

func (w identities) spec(mod func(*common.ProviderConfigSpec)) common.ProviderConfigSpec {
	s := common.ProviderConfigSpec{Endpoint: &w.url, STSEndpoint: &w.url}
	mod(&s)
	return s
}

func deployerSecret(ns string) common.ProviderCredentials {
	return common.ProviderCredentials{Source: xpv2.CredentialsSourceSecret, CommonCredentialSelectors: xpv2.CommonCredentialSelectors{
		SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Namespace: ns, Name: "deployer"}, Key: "credentials"}}}
}

func chain(externalID string) []common.AssumeRoleHop {
	return []common.AssumeRoleHop{{RoleARN: simtest.Hop1}, {RoleARN: simtest.Hop2, ExternalID: &externalID}}
}

func ptr[T any](v T) *T { return &v }

// TestCredentialSources resolves each source a configuration can name,
// calls ECS with the result, and asks STS who it is: the simulator checks
// every signature and records who made each call.
func TestCredentialSources(t *testing.T) {
	w := newIdentities(t)
	assumed := func(account, role, session string) string {
		return "acs:ram::" + account + ":assumed-role/" + role + "/" + session
	}
	cases := []struct {
		reason string
		// config is a configuration of either kind named "pc", in
		// namespace team if namespaced.
		config client.Object
		env    func(t *testing.T) func(string) (string, bool)
		// want is who calls ECS, as the simulator records it.
		want string
	}{
		{
			reason: "RRSA takes the role, provider and token file the webhook injected",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.STSEndpoint = nil // from ALIBABA_CLOUD_STS_ENDPOINT
					s.Credentials.Source = common.CredentialsSourceRRSA
				})}},
			env:  w.env,
			want: assumed(simtest.ClusterAccount, "rrsa", defaultSessionName),
		},
		{
			reason: "RRSA spelled out in the spec reads nothing from the environment",
			config: &clusterv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = common.ProviderCredentials{Source: common.CredentialsSourceRRSA, RRSA: &common.RRSACredentials{
						RoleARN: ptr(simtest.RRSA), OIDCProviderARN: ptr(simtest.OIDCProvider), OIDCTokenFile: ptr(w.tokenFile), SessionName: ptr("pod")}}
				})},
			env:  noEnv,
			want: assumed(simtest.ClusterAccount, "rrsa", "pod"),
		},
		{
			reason: "RRSA then a two-hop chain acts as the last role",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials.Source = common.CredentialsSourceRRSA
					s.AssumeRoleChain = chain(simtest.ExternalID)
				})}},
			env:  w.env,
			want: assumed(simtest.OwnerAccount, "hop2", defaultSessionName),
		},
		{
			reason: "a tenant's Secret then a two-hop chain with an ExternalId acts as the last role",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.AssumeRoleChain = chain(simtest.ExternalID)
					s.AssumeRoleChain[1].SessionName = ptr("team-share")
				})},
			env:  noEnv,
			want: assumed(simtest.OwnerAccount, "hop2", "team-share"),
		},
		{
			reason: "ECSRole discovers the instance's role, and a hop builds on it",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials.Source = common.CredentialsSourceECSRole
					s.AssumeRoleChain = []common.AssumeRoleHop{{RoleARN: simtest.Hop1}}
				})}},
			env:  noEnv,
			want: assumed(simtest.ClusterAccount, "hop1", defaultSessionName),
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithStatusSubresource(tc.config).
				WithObjects(tc.config, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
			r := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback, LookupEnv: tc.env(t), MetadataEndpoint: w.url})
			mg := namespacedShare("ClusterProviderConfig", "pc")
			if _, ok := tc.config.(*alibabacloudv1beta1.ProviderConfig); ok {
				mg = namespacedShare("ProviderConfig", "pc")
			}
			var res Resolved
			var err error
			if _, ok := tc.config.(*clusterv1beta1.ProviderConfig); ok {
				res, err = r.Resolve(context.Background(), clusterShare("pc"), simtest.Region)
			} else {
				res, err = r.Resolve(context.Background(), mg, simtest.Region)
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := ecs.New(res.Config)
			if err != nil {
				t.Fatal(err)
			}
			before := w.sim.CallsBy(principal, describes)[tc.want]
			image := simtest.Image
			if strings.HasPrefix(tc.want, "acs:ram::"+simtest.ClusterAccount+":") {
				image = simtest.ClusterImage
			}
			if s, err := c.FindShare(context.Background(), image, simtest.FriendAccount); err != nil || s == nil {
				t.Fatalf("FindShare with the resolved credentials: %v, %v", s, err)
			}
			if got := w.sim.CallsBy(principal, describes)[tc.want]; got != before+1 {
				t.Errorf("%s made %d Describe calls, want 1; calls by principal: %v", tc.want, got-before, w.sim.CallsBy(principal, describes))
			}

			gvk := tc.config.GetObjectKind().GroupVersionKind()
			if err := kube.Get(context.Background(), client.ObjectKeyFromObject(tc.config), tc.config); err != nil {
				t.Fatal(err)
			}
			spec, _ := parts(tc.config)
			id, err := r.Identity(context.Background(), gvk, tc.config, *spec)
			if err != nil {
				t.Fatal(err)
			}
			if id.ARN != tc.want {
				t.Errorf("GetCallerIdentity says %s, want %s", id.ARN, tc.want)
			}
		})
	}
}

func principal(c ecssim.Call) string { return c.Principal }

func describes(c ecssim.Call) bool { return c.Action == ecs.ActionDescribe }

func clusterShare(pc string) *clusterecsv1beta1.ImageSharePermission {
	cr := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "uid-2"}}
	cr.Spec.ProviderConfigReference = &xpv2.Reference{Name: pc}
	return cr
}

// TestCredentialErrors: each way a source or chain can be wrong says what
// to fix, names the STS code where STS refused, and quotes no secret.
func TestCredentialErrors(t *testing.T) {
	w := newIdentities(t)
	cases := []struct {
		reason  string
		config  client.Object
		env     func(t *testing.T) func(string) (string, bool)
		wantErr []string
	}{
		{
			reason: "a wrong ExternalId",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.AssumeRoleChain = chain("ext-wrong")
				})},
			env:     noEnv,
			wantErr: []string{"assume-role hop 2 (" + simtest.Hop2 + ")", "NoPermission", "ExternalId"},
		},
		{
			reason: "a role that does not trust the caller",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.AssumeRoleChain = []common.AssumeRoleHop{{RoleARN: simtest.Hop2, ExternalID: ptr(simtest.ExternalID)}}
				})},
			env:     noEnv,
			wantErr: []string{"assume-role hop 1 (" + simtest.Hop2 + ")", "NoPermission", "trust policy", "AliyunSTSAssumeRoleAccess"},
		},
		{
			reason: "a role that does not exist",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = deployerSecret("team")
					s.AssumeRoleChain = []common.AssumeRoleHop{{RoleARN: ecssim.RoleARN(simtest.ClusterAccount, "nope")}}
				})},
			env:     noEnv,
			wantErr: []string{"EntityNotExist.Role"},
		},
		{
			reason: "RRSA without the webhook's environment",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials.Source = common.CredentialsSourceRRSA })}},
			env: func(*testing.T) func(string) (string, bool) {
				return func(string) (string, bool) { return "", false }
			},
			wantErr: []string{"source RRSA needs a role: set credentials.rrsa.roleARN", envRoleARN},
		},
		{
			reason: "a token minted for another audience is refused before it is sent to STS",
			config: &alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"},
				Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: w.spec(func(s *common.ProviderConfigSpec) {
					s.Credentials = common.ProviderCredentials{Source: common.CredentialsSourceRRSA,
						RRSA: &common.RRSACredentials{OIDCTokenFile: ptr(w.token(t, "kubernetes.default.svc"))}}
				})}},
			env:     w.env,
			wantErr: []string{"does not hold an RRSA token", "aud does not include sts.aliyuncs.com"},
		},
		{
			reason: "a namespaced ProviderConfig stored with source RRSA past the CRD",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials.Source = common.CredentialsSourceRRSA })},
			env:     noEnv,
			wantErr: []string{"uses credentials.source RRSA: a namespaced ProviderConfig may only use source Secret"},
		},
		{
			reason: "a namespaced ProviderConfig stored with source ECSRole past the CRD",
			config: &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
				Spec: w.spec(func(s *common.ProviderConfigSpec) { s.Credentials.Source = common.CredentialsSourceECSRole })},
			env:     noEnv,
			wantErr: []string{"uses credentials.source ECSRole: a namespaced ProviderConfig may only use source Secret"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).
				WithObjects(tc.config, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
			// No metadata endpoint: a namespaced configuration that reached
			// it anyway would fail differently.
			r := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback, LookupEnv: tc.env(t), MetadataEndpoint: "http://127.0.0.1:1"})
			kind := "ClusterProviderConfig"
			if _, ok := tc.config.(*alibabacloudv1beta1.ProviderConfig); ok {
				kind = "ProviderConfig"
			}
			err := use(r, kind)
			if err == nil {
				t.Fatalf("resolving and calling succeeded, want an error saying %q", tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), simtest.Deployer.Secret) {
				t.Errorf("error quotes the Deployer's secret: %v", err)
			}
		})
	}
}

// use resolves the configuration of a namespaced share and asks it for
// credentials, as the ECS client's first call would.
func use(r *Resolver, kind string) error { return useAs(r, namespacedShare(kind, "pc")) }

// useAs is use for one share.
func useAs(r *Resolver, share *ecsv1beta1.ImageSharePermission) error {
	res, err := r.Resolve(context.Background(), share, simtest.Region)
	if err != nil {
		return err
	}
	if res.Source == nil {
		return nil
	}
	_, err = res.Source.Credentials(context.Background())
	return err
}

// token writes an OIDC token minted for audience to a file of its own.
func (w identities) token(t *testing.T, audience string) string {
	t.Helper()
	tok, err := w.sim.MintOIDCToken(simtest.OIDCProvider, simtest.Subject, audience, 0)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestSessionsShared resolves one chained configuration for 100 resources
// at once: they share its sessions, one AssumeRole per hop. A rotated
// Secret is new content, so it gets sessions of its own.
func TestSessionsShared(t *testing.T) {
	w := newIdentities(t)
	pc := &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"},
		Spec: w.spec(func(s *common.ProviderConfigSpec) {
			s.Credentials = deployerSecret("team")
			s.AssumeRoleChain = chain(simtest.ExternalID)
		})}
	kube := fake.NewClientBuilder().WithScheme(scheme(t)).
		WithObjects(pc, secret("team", "deployer", map[string]string{"credentials": w.deployer})).Build()
	r := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback, LookupEnv: noEnv(t)})

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		// 100 resources, as 100 workers reconcile them: one resource is
		// never reconciled by two workers at once.
		share := namespacedShare("ProviderConfig", "pc")
		share.Name, share.UID = fmt.Sprintf("s-%d", i), types.UID(fmt.Sprintf("uid-%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- useAs(r, share)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	assumes := func() map[string]uint64 {
		return w.sim.CallsBy(principal, func(c ecssim.Call) bool { return c.Action == "AssumeRole" })
	}
	want := map[string]uint64{
		"acs:ram::" + simtest.ClusterAccount + ":user/deployer":                           1,
		"acs:ram::" + simtest.ClusterAccount + ":assumed-role/hop1/" + defaultSessionName: 1,
	}
	if diff := cmp.Diff(want, assumes()); diff != "" {
		t.Errorf("AssumeRole calls by caller for 100 resources: -want, +got:\n%s", diff)
	}

	// A second AccessKey of the same user, as after rotating the Secret.
	rotated := ecssim.AccessKey{ID: "LTAIdeployer2", Secret: "rotated-secret", User: "deployer"}
	if err := w.sim.AddAccount(ecssim.Account{ID: simtest.ClusterAccount, AccessKeys: []ecssim.AccessKey{rotated}}); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{}
	if err := kube.Get(context.Background(), client.ObjectKey{Namespace: "team", Name: "deployer"}, s); err != nil {
		t.Fatal(err)
	}
	s.Data["credentials"] = []byte(`{"accessKeyId": "` + rotated.ID + `", "accessKeySecret": "` + rotated.Secret + `"}`)
	if err := kube.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	// The configuration reads its Secret again once its last read is stale.
	r.secrets.now = func() time.Time { return time.Now().Add(secretsFresh) }
	if err := use(r, "ProviderConfig"); err != nil {
		t.Fatal(err)
	}
	if got := assumes()["acs:ram::"+simtest.ClusterAccount+":user/deployer"]; got != 2 {
		t.Errorf("after the Secret rotated, the user assumed hop1 %d times in all, want 2 (new keys, new sessions)", got)
	}
}
