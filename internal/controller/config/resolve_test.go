package config

import (
	"context"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis"
	clusterv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const (
	owner     = "1234567890123456"
	friend    = "2222222222222222"
	keyID     = "LTAItestOwnerKey"
	keySecret = "ownerSecret"
	stsKey    = "STS.testOwnerKey"
	stsSecret = "stsSecret"
	stsToken  = "CAIS-test-token"
	region    = "cn-hangzhou"
	imageID   = "m-test0001"
)

// simulator serves an ECS whose owner has a permanent and an STS key.
func simulator(t *testing.T) string {
	t.Helper()
	_, srv := simtest.Serve(t, ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: keyID, Secret: keySecret}, {ID: stsKey, Secret: stsSecret, SecurityToken: stsToken}}},
			{ID: friend},
		},
		Images: []ecssim.Image{{ID: imageID, Region: region, Owner: owner, SharedWith: []string{friend}}},
	})
	return srv.URL
}

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func secret(ns, name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data, Data: bytesOf(data)}
}

func bytesOf(m map[string]string) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[k] = []byte(v)
	}
	return out
}

func spec(endpoint, secretNS string) common.ProviderConfigSpec {
	return common.ProviderConfigSpec{
		Endpoint: &endpoint,
		Credentials: common.ProviderCredentials{
			Source: xpv2.CredentialsSourceSecret,
			CommonCredentialSelectors: xpv2.CommonCredentialSelectors{SecretRef: &xpv2.SecretKeySelector{
				SecretReference: xpv2.SecretReference{Namespace: secretNS, Name: "creds"}, Key: "credentials",
			}},
		},
	}
}

// clusterSpec is spec for a ClusterProviderConfig, without a
// namespaceSelector: it admits every namespace.
func clusterSpec(endpoint, secretNS string) alibabacloudv1beta1.ClusterProviderConfigSpec {
	return alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: spec(endpoint, secretNS)}
}

func namespacedShare(kind, pc string) *ecsv1beta1.ImageSharePermission {
	cr := &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", UID: "uid-1"}}
	cr.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: kind, Name: pc}
	return cr
}

// TestCredentialStyles resolves each accepted credentials document and uses
// the result against ECS: the simulator checks the signature, so a wrongly
// read key or token fails the call.
func TestCredentialStyles(t *testing.T) {
	endpoint := simulator(t)
	cases := map[string]string{
		"camelCase":                   `{"accessKeyId": "` + keyID + `", "accessKeySecret": "` + keySecret + `"}`,
		"provider-upjet-alibabacloud": `{"access_key": "` + keyID + `", "secret_key": "` + keySecret + `"}`,
		"camelCase STS":               `{"accessKeyId": "` + stsKey + `", "accessKeySecret": "` + stsSecret + `", "securityToken": "` + stsToken + `"}`,
		"upjet STS":                   `{"access_key": "` + stsKey + `", "secret_key": "` + stsSecret + `", "security_token": "` + stsToken + `"}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			pc := &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"}, Spec: spec(endpoint, "team")}
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).
				WithObjects(pc, secret("team", "creds", map[string]string{"credentials": doc})).Build()
			cfg, err := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback}).Resolve(context.Background(), namespacedShare("ProviderConfig", "pc"), region)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ecs.New(cfg.Config)
			if err != nil {
				t.Fatal(err)
			}
			if s, err := c.FindShare(context.Background(), imageID, friend); err != nil || s == nil {
				t.Fatalf("FindShare with the resolved credentials: %v, %v", s, err)
			}
		})
	}
}

// TestResolve covers every way a configuration can be wrong, in both scopes,
// and that each says what to fix without quoting credentials.
func TestResolve(t *testing.T) {
	endpoint := simulator(t)
	good := `{"accessKeyId": "` + keyID + `", "accessKeySecret": "` + keySecret + `"}`
	// The document cut short, as a copy and paste can leave it.
	t.Setenv("PROVIDER_TEST_MALFORMED_CREDENTIALS", strings.TrimSuffix(good, "}"))
	namespacedPC := func(mod func(*common.ProviderConfigSpec)) *alibabacloudv1beta1.ProviderConfig {
		pc := &alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"}, Spec: spec(endpoint, "team")}
		mod(&pc.Spec)
		return pc
	}
	clusterPC := func(mod func(*common.ProviderConfigSpec)) *clusterv1beta1.ProviderConfig {
		pc := &clusterv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: spec(endpoint, "crossplane-system")}
		mod(&pc.Spec)
		return pc
	}
	caBundle := func(ns string) func(*common.ProviderConfigSpec) {
		return func(s *common.ProviderConfigSpec) {
			s.TLS = &common.TLS{CABundleSecretRef: xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Namespace: ns, Name: "ca"}, Key: "ca.crt"}}
		}
	}
	source := func(src xpv2.CredentialsSource, sel xpv2.CommonCredentialSelectors) func(*common.ProviderConfigSpec) {
		return func(s *common.ProviderConfigSpec) {
			s.Credentials = common.ProviderCredentials{Source: src, CommonCredentialSelectors: sel}
		}
	}
	resolveNamespaced := func(r *Resolver) (Resolved, error) {
		return r.Resolve(context.Background(), namespacedShare("ProviderConfig", "pc"), region)
	}
	resolveCluster := func(r *Resolver) (Resolved, error) {
		cr := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "uid-2"}}
		cr.Spec.ProviderConfigReference = &xpv2.Reference{Name: "default"}
		return r.Resolve(context.Background(), cr, region)
	}
	const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	cases := []struct {
		name    string
		objects []client.Object
		resolve func(r *Resolver) (Resolved, error)
		wantErr string
		// wantCA is the CA bundle a successful resolution carries.
		wantCA string
		// notInErr must not appear in the error: it would tell a tenant
		// what exists on the provider's machine.
		notInErr string
	}{
		{
			name: "ClusterProviderConfig with a Secret in another namespace",
			objects: []client.Object{
				&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: clusterSpec(endpoint, "crossplane-system")},
				secret("crossplane-system", "creds", map[string]string{"credentials": good}),
			},
			resolve: func(r *Resolver) (Resolved, error) {
				return r.Resolve(context.Background(), namespacedShare("ClusterProviderConfig", "default"), region)
			},
		},
		{
			name: "ProviderConfig with a Secret in another namespace is refused",
			objects: []client.Object{
				&alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pc"}, Spec: spec(endpoint, "crossplane-system")},
				secret("crossplane-system", "creds", map[string]string{"credentials": good}),
			},
			resolve: func(r *Resolver) (Resolved, error) {
				return r.Resolve(context.Background(), namespacedShare("ProviderConfig", "pc"), region)
			},
			wantErr: `refers to a Secret in namespace "crossplane-system": a namespaced ProviderConfig may only use Secrets in its own namespace`,
		},
		{
			name: "missing ProviderConfig",
			resolve: func(r *Resolver) (Resolved, error) {
				return r.Resolve(context.Background(), namespacedShare("ProviderConfig", "nope"), region)
			},
			wantErr: `ProviderConfig "nope" not found in namespace team`,
		},
		{
			name:    "missing Secret",
			objects: []client.Object{&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: clusterSpec(endpoint, "crossplane-system")}},
			resolve: func(r *Resolver) (Resolved, error) {
				return r.Resolve(context.Background(), namespacedShare("ClusterProviderConfig", "default"), region)
			},
			wantErr: "cannot read credentials (source Secret)",
		},
		{
			name: "Secret without the key",
			objects: []client.Object{
				&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: clusterSpec(endpoint, "crossplane-system")},
				secret("crossplane-system", "creds", map[string]string{"other": good}),
			},
			resolve: func(r *Resolver) (Resolved, error) {
				return r.Resolve(context.Background(), namespacedShare("ClusterProviderConfig", "default"), region)
			},
			wantErr: `credentials are empty: key "credentials" of Secret crossplane-system/creds`,
		},
		{
			name: "malformed credentials",
			objects: []client.Object{
				&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: clusterSpec(endpoint, "crossplane-system")},
				secret("crossplane-system", "creds", map[string]string{"credentials": `{"accessKeyId": "` + keyID + `", "secret": "` + keySecret + `"}`}),
			},
			resolve: func(r *Resolver) (Resolved, error) {
				return r.Resolve(context.Background(), namespacedShare("ClusterProviderConfig", "default"), region)
			},
			wantErr: `credentials in key "credentials" of Secret crossplane-system/creds`,
		},
		{
			name: "cluster-scoped ProviderConfig",
			objects: []client.Object{
				&clusterv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: spec(endpoint, "crossplane-system")},
				secret("crossplane-system", "creds", map[string]string{"credentials": good}),
			},
			resolve: func(r *Resolver) (Resolved, error) {
				cr := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "uid-2"}}
				cr.Spec.ProviderConfigReference = &xpv2.Reference{Name: "default"}
				return r.Resolve(context.Background(), cr, region)
			},
		},
		{
			name: "missing cluster-scoped ProviderConfig",
			resolve: func(r *Resolver) (Resolved, error) {
				cr := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "uid-2"}}
				cr.Spec.ProviderConfigReference = &xpv2.Reference{Name: "gone"}
				return r.Resolve(context.Background(), cr, region)
			},
			wantErr: `ProviderConfig "gone" not found: create it`,
		},
		{
			name:    "ProviderConfig stored with the Environment source before the CRD refused it",
			objects: []client.Object{namespacedPC(source(xpv2.CredentialsSourceEnvironment, xpv2.CommonCredentialSelectors{Env: &xpv2.EnvSelector{Name: "HOME"}}))},
			resolve: resolveNamespaced,
			wantErr: "ProviderConfig team/pc uses credentials.source Environment: a namespaced ProviderConfig may only use source Secret",
		},
		{
			name:     "ProviderConfig stored with the Filesystem source before the CRD refused it",
			objects:  []client.Object{namespacedPC(source(xpv2.CredentialsSourceFilesystem, xpv2.CommonCredentialSelectors{Fs: &xpv2.FsSelector{Path: "/etc/hostname"}}))},
			resolve:  resolveNamespaced,
			wantErr:  "the provider's own environment, files and identity (RRSA, ECSRole) are for a ClusterProviderConfig",
			notInErr: "exist",
		},
		{
			name: "ProviderConfig with a CA bundle in another namespace is refused",
			objects: []client.Object{
				namespacedPC(caBundle("crossplane-system")),
				secret("team", "creds", map[string]string{"credentials": good}),
				secret("crossplane-system", "ca", map[string]string{"ca.crt": pem}),
			},
			resolve: resolveNamespaced,
			wantErr: `tls.caBundleSecretRef refers to a Secret in namespace "crossplane-system"`,
		},
		{
			name: "ProviderConfig with a CA bundle in its own namespace",
			objects: []client.Object{
				namespacedPC(caBundle("team")),
				secret("team", "creds", map[string]string{"credentials": good}),
				secret("team", "ca", map[string]string{"ca.crt": pem}),
			},
			resolve: resolveNamespaced,
			wantCA:  pem,
		},
		{
			name:    "missing CA bundle Secret",
			objects: []client.Object{clusterPC(caBundle("crossplane-system")), secret("crossplane-system", "creds", map[string]string{"credentials": good})},
			resolve: resolveCluster,
			wantErr: "the CA bundle Secret crossplane-system/ca (spec.tls.caBundleSecretRef) does not exist: create it",
		},
		{
			name: "CA bundle Secret without the key",
			objects: []client.Object{
				clusterPC(caBundle("crossplane-system")),
				secret("crossplane-system", "creds", map[string]string{"credentials": good}),
				secret("crossplane-system", "ca", map[string]string{"tls.crt": pem}),
			},
			resolve: resolveCluster,
			wantErr: `key "ca.crt" of the CA bundle Secret crossplane-system/ca is missing or empty`,
		},
		{
			name:     "missing credentials file",
			objects:  []client.Object{clusterPC(source(xpv2.CredentialsSourceFilesystem, xpv2.CommonCredentialSelectors{Fs: &xpv2.FsSelector{Path: "/nonexistent/credentials"}}))},
			resolve:  resolveCluster,
			wantErr:  "cannot read credentials from file /nonexistent/credentials of the provider's pod: it is missing, unreadable or not a file; mount a Secret holding the credentials document there",
			notInErr: "no such file",
		},
		{
			name:     "a directory where the credentials file should be reads like a missing file",
			objects:  []client.Object{clusterPC(source(xpv2.CredentialsSourceFilesystem, xpv2.CommonCredentialSelectors{Fs: &xpv2.FsSelector{Path: "/"}}))},
			resolve:  resolveCluster,
			wantErr:  "cannot read credentials from file / of the provider's pod: it is missing, unreadable or not a file",
			notInErr: "directory",
		},
		{
			name:    "unset credentials variable reads like an empty one",
			objects: []client.Object{clusterPC(source(xpv2.CredentialsSourceEnvironment, xpv2.CommonCredentialSelectors{Env: &xpv2.EnvSelector{Name: "PROVIDER_TEST_UNSET_CREDENTIALS"}}))},
			resolve: resolveCluster,
			wantErr: "credentials are empty: environment variable PROVIDER_TEST_UNSET_CREDENTIALS of the provider's pod is unset or empty; set it to the credentials document",
		},
		{
			name:    "a malformed document in the credentials variable is named, not quoted",
			objects: []client.Object{clusterPC(source(xpv2.CredentialsSourceEnvironment, xpv2.CommonCredentialSelectors{Env: &xpv2.EnvSelector{Name: "PROVIDER_TEST_MALFORMED_CREDENTIALS"}}))},
			resolve: resolveCluster,
			wantErr: "credentials in environment variable PROVIDER_TEST_MALFORMED_CREDENTIALS of the provider's pod: the credentials are not a JSON object",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(tc.objects...).Build()
			cfg, err := tc.resolve(NewResolver(kube, CredentialOptions{TenantEndpoints: loopback}))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Credentials.AccessKeyID != keyID || cfg.Endpoint != endpoint || cfg.Region != region {
					t.Errorf("resolved %+v", cfg)
				}
				if string(cfg.CABundle) != tc.wantCA {
					t.Errorf("CA bundle %q, want %q", cfg.CABundle, tc.wantCA)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if tc.notInErr != "" && strings.Contains(err.Error(), tc.notInErr) {
				t.Errorf("error %q says %q", err, tc.notInErr)
			}
			if strings.Contains(err.Error(), keySecret) {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
}

// TestUsageTracked checks that resolving records the use, so the
// configuration cannot be deleted from under the resource; and that
// resolving for a caller that is not the resource's controller (the import
// command) records none, since no resource exists to own it.
func TestUsageTracked(t *testing.T) {
	endpoint := simulator(t)
	cases := []struct {
		reason  string
		resolve func(*Resolver, resource.Managed) (Resolved, error)
		want    int
	}{
		{reason: "Resolve records the use.", resolve: func(r *Resolver, mg resource.Managed) (Resolved, error) {
			return r.Resolve(context.Background(), mg, region)
		}, want: 1},
		{reason: "ResolveUntracked records none.", resolve: func(r *Resolver, mg resource.Managed) (Resolved, error) {
			return r.ResolveUntracked(context.Background(), mg, region)
		}},
	}
	for _, tc := range cases {
		kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(
			&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: clusterSpec(endpoint, "crossplane-system")},
			secret("crossplane-system", "creds", map[string]string{"credentials": `{"accessKeyId":"a","accessKeySecret":"b"}`}),
		).Build()
		res, err := tc.resolve(NewResolver(kube, CredentialOptions{TenantEndpoints: loopback}), namespacedShare("ClusterProviderConfig", "default"))
		if err != nil {
			t.Fatalf("%s\n%v", tc.reason, err)
		}
		if res.Endpoint != endpoint {
			t.Errorf("%s\nresolved endpoint %q, want %q", tc.reason, res.Endpoint, endpoint)
		}
		usages := &alibabacloudv1beta1.ProviderConfigUsageList{}
		if err := kube.List(context.Background(), usages, client.InNamespace("team")); err != nil {
			t.Fatal(err)
		}
		if len(usages.Items) != tc.want || (tc.want == 1 && usages.Items[0].ProviderConfigReference.Name != "default") {
			t.Errorf("%s\nusages = %+v, want %d for ClusterProviderConfig default", tc.reason, usages.Items, tc.want)
		}
	}
}

// TestResolvedNamesTheConfiguration: the three kinds, even with the same
// name and the same credentials, resolve to distinct configurations, which
// is what keeps cached clients and listings apart.
func TestResolvedNamesTheConfiguration(t *testing.T) {
	endpoint := simulator(t)
	good := `{"accessKeyId": "` + keyID + `", "accessKeySecret": "` + keySecret + `"}`
	kube := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(
		&alibabacloudv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "default"}, Spec: spec(endpoint, "team")},
		&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: clusterSpec(endpoint, "team")},
		&clusterv1beta1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: spec(endpoint, "team")},
		secret("team", "creds", map[string]string{"credentials": good}),
	).Build()
	clusterShare := &clusterecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Name: "s", UID: "uid-2"}}
	clusterShare.Spec.ProviderConfigReference = &xpv2.Reference{Name: "default"}
	r := NewResolver(kube, CredentialOptions{TenantEndpoints: loopback})
	var got []string
	for _, mg := range []resource.Managed{namespacedShare("ProviderConfig", "default"), namespacedShare("ClusterProviderConfig", "default"), clusterShare} {
		res, err := r.Resolve(context.Background(), mg, region)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.ProviderConfig)
	}
	want := []string{
		"ProviderConfig.alibabacloud.m.crossplane.io/team/default",
		"ClusterProviderConfig.alibabacloud.m.crossplane.io//default",
		"ProviderConfig.alibabacloud.crossplane.io//default",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved configurations: -want, +got:\n%s", diff)
	}
}
