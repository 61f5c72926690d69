package config

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
)

// TestNamespaceSelector resolves a namespaced resource in namespace "team"
// through a ClusterProviderConfig "shared" with each kind of selector.
func TestNamespaceSelector(t *testing.T) {
	// Resolving reads the Secret but calls neither ECS nor STS.
	const endpoint = "http://127.0.0.1:1"
	good := `{"accessKeyId": "` + keyID + `", "accessKeySecret": "` + keySecret + `"}`
	namespace := func(labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Labels: labels}}
	}
	cases := []struct {
		reason    string
		selector  *metav1.LabelSelector
		namespace *corev1.Namespace
		// getNamespace, when set, answers every read of a Namespace.
		getNamespace error
		// want is the error; empty means the namespace is admitted.
		want string
	}{
		{
			reason:    "Without a selector every namespace is admitted, as before the field existed.",
			namespace: namespace(nil),
		},
		{
			reason: "Without a selector the namespace is not even read.",
		},
		{
			reason:    "An empty selector selects every namespace, as everywhere in Kubernetes.",
			selector:  &metav1.LabelSelector{},
			namespace: namespace(nil),
		},
		{
			reason:    "A namespace whose labels match matchLabels is admitted.",
			selector:  &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			namespace: namespace(map[string]string{"team": "a", "other": "x"}),
		},
		{
			reason:    "A namespace whose labels do not match is refused, naming the configuration, the selector and what to do.",
			selector:  &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			namespace: namespace(map[string]string{"team": "b"}),
			want: `ClusterProviderConfig "shared" does not admit namespace "team": its spec.namespaceSelector (matchLabels team=a) does not match the namespace's labels; ` +
				`ask the cluster administrator to label the namespace or to widen the selector, or use a ProviderConfig in team`,
		},
		{
			reason:    "A namespace without labels matches no matchLabels.",
			selector:  &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "gold", "team": "a"}},
			namespace: namespace(nil),
			want: `ClusterProviderConfig "shared" does not admit namespace "team": its spec.namespaceSelector (matchLabels team=a,tier=gold) does not match the namespace's labels; ` +
				`ask the cluster administrator to label the namespace or to widen the selector, or use a ProviderConfig in team`,
		},
		{
			reason: "matchExpressions In admits a namespace with one of the values.",
			selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"gold", "silver"}},
			}},
			namespace: namespace(map[string]string{"tier": "silver"}),
		},
		{
			reason: "matchExpressions NotIn refuses a namespace with one of the values.",
			selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"sandbox"}},
			}},
			namespace: namespace(map[string]string{"tier": "sandbox"}),
			want: `ClusterProviderConfig "shared" does not admit namespace "team": its spec.namespaceSelector (matchExpressions tier NotIn (sandbox)) does not match the namespace's labels; ` +
				`ask the cluster administrator to label the namespace or to widen the selector, or use a ProviderConfig in team`,
		},
		{
			reason: "matchLabels and matchExpressions must all match: Exists and DoesNotExist included.",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}, MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "images.example.com/golden", Operator: metav1.LabelSelectorOpExists},
				{Key: "quarantined", Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
			namespace: namespace(map[string]string{"team": "a", "images.example.com/golden": "", "quarantined": "true"}),
			want: `ClusterProviderConfig "shared" does not admit namespace "team": its spec.namespaceSelector (matchLabels team=a; matchExpressions images.example.com/golden Exists, quarantined DoesNotExist) does not match the namespace's labels; ` +
				`ask the cluster administrator to label the namespace or to widen the selector, or use a ProviderConfig in team`,
		},
		{
			reason: "Exists and DoesNotExist admit a namespace that has the one label and not the other.",
			selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "images.example.com/golden", Operator: metav1.LabelSelectorOpExists},
				{Key: "quarantined", Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
			namespace: namespace(map[string]string{"images.example.com/golden": ""}),
		},
		{
			reason:   "A missing namespace is refused: there are no labels to match.",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			want: `ClusterProviderConfig "shared" does not admit namespace "team": the namespace was not found, so its labels cannot match spec.namespaceSelector (matchLabels team=a); ` +
				`if it was just created, the next attempt will see it`,
		},
		{
			reason:       "A namespace the provider may not read is refused, saying which permission it lacks.",
			selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			getNamespace: kerrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "team", errors.New(`User "system:serviceaccount:crossplane-system:provider" cannot get resource "namespaces" in API group "" at the cluster scope`)),
			want: `cannot read namespace "team" to check it against ClusterProviderConfig "shared"'s spec.namespaceSelector: namespaces "team" is forbidden: User "system:serviceaccount:crossplane-system:provider" cannot get resource "namespaces" in API group "" at the cluster scope; ` +
				`the provider's service account needs get, list and watch on namespaces, which Crossplane does not grant providers: bind it a ClusterRole that does (docs/multi-tenancy.md)`,
		},
		{
			reason: "A selector the API server let through but Kubernetes cannot evaluate refuses every namespace.",
			selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "team", Operator: "Equals", Values: []string{"a"}},
			}},
			namespace: namespace(map[string]string{"team": "a"}),
			want:      `ClusterProviderConfig "shared" has an invalid spec.namespaceSelector (matchExpressions team Equals (a)): "Equals" is not a valid label selector operator; ask the cluster administrator to fix it`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			objects := []client.Object{
				&alibabacloudv1beta1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Spec: alibabacloudv1beta1.ClusterProviderConfigSpec{
					ProviderConfigSpec: spec(endpoint, "crossplane-system"), NamespaceSelector: tc.selector,
				}},
				secret("crossplane-system", "creds", map[string]string{"credentials": good}),
			}
			if tc.namespace != nil {
				objects = append(objects, tc.namespace)
			}
			b := fake.NewClientBuilder().WithScheme(scheme(t)).WithObjects(objects...)
			if tc.getNamespace != nil {
				b = b.WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
					if _, ok := obj.(*corev1.Namespace); ok {
						return tc.getNamespace
					}
					return c.Get(ctx, key, obj, opts...)
				}})
			}
			kube := b.Build()
			res, err := NewResolver(kube, CredentialOptions{}).Resolve(context.Background(), namespacedShare("ClusterProviderConfig", "shared"), region)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("%s\nResolve(...): -want error, +got error:\n%s", tc.reason, diff)
			}
			if err == nil && res.Credentials.AccessKeyID != keyID {
				t.Errorf("%s\nadmitted, but resolved %+v", tc.reason, res.Config)
			}
			// Only an admitted resource is a user of the configuration: a
			// refused one must not keep it from being deleted.
			usages := &alibabacloudv1beta1.ProviderConfigUsageList{}
			if err := kube.List(context.Background(), usages); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(err == nil, len(usages.Items) == 1); diff != "" {
				t.Errorf("%s\nthe resource is recorded as a user exactly when admitted: -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestRenderSelector(t *testing.T) {
	cases := []struct {
		reason   string
		selector *metav1.LabelSelector
		want     string
	}{
		{
			reason:   "An empty selector reads as the CRD spells it.",
			selector: &metav1.LabelSelector{},
			want:     "{}",
		},
		{
			reason:   "matchLabels come in key order, so a message does not change between reconciles.",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"z": "1", "a": "2", "m": "3"}},
			want:     "matchLabels a=2,m=3,z=1",
		},
		{
			reason:   "A selector past the bound is cut, and says so.",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": strings.Repeat("a", 500)}},
			want:     "matchLabels team=" + strings.Repeat("a", maxSelectorText-len("matchLabels team=")) + "…(cut)",
		},
		{
			reason:   "A cut never splits a character.",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k": strings.Repeat("é", 200)}},
			want:     "matchLabels k=" + strings.Repeat("é", (maxSelectorText-len("matchLabels k="))/2) + "…(cut)",
		},
		{
			reason:   "Line breaks and other control characters, which the CRD does not refuse, are quoted.",
			selector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a\nERROR forged"}},
			want:     `matchLabels team=a\nERROR forged`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, renderSelector(tc.selector)); diff != "" {
				t.Errorf("%s\nrenderSelector(...): -want, +got:\n%s", tc.reason, diff)
			}
		})
	}
}
