// Package controllertest is the world the controllers' tests share: the
// scheme, and a ClusterProviderConfig with its Secret pointing at a
// simulated ECS.
package controllertest

import (
	"fmt"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
)

// ClusterConfig is the name of the ClusterProviderConfig ClusterConfigAt
// makes.
const ClusterConfig = "cpc"

// Scheme knows the core kinds and every kind of the provider.
func Scheme(t testing.TB) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, apis.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ClusterConfigAt is the ClusterProviderConfig "cpc", pointing at the ECS
// endpoint, and the Secret of the AccessKey it names.
func ClusterConfigAt(endpoint, keyID, keySecret string) []client.Object {
	return []client.Object{
		&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: ClusterConfig}, Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{ProviderConfigSpec: common.ProviderConfigSpec{
			Endpoint: &endpoint,
			Credentials: common.ProviderCredentials{Source: xpv2.CredentialsSourceSecret, CommonCredentialSelectors: xpv2.CommonCredentialSelectors{
				SecretRef: &xpv2.SecretKeySelector{SecretReference: xpv2.SecretReference{Namespace: "crossplane-system", Name: "creds"}, Key: "credentials"},
			}},
		}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "crossplane-system", Name: "creds"}, Data: map[string][]byte{"credentials": []byte(CredentialsDoc(keyID, keySecret, ""))}},
	}
}

// CredentialsDoc is a credentials document, as a Secret holds it.
func CredentialsDoc(id, secret, token string) string {
	if token == "" {
		return fmt.Sprintf(`{"accessKeyId": %q, "accessKeySecret": %q}`, id, secret)
	}
	return fmt.Sprintf(`{"accessKeyId": %q, "accessKeySecret": %q, "securityToken": %q}`, id, secret, token)
}
