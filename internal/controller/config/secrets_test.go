package config

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// TestSecretReader checks that a Secret is read once per secretsFresh
// however many resolutions ask, and that a change or a deletion is seen
// after that.
func TestSecretReader(t *testing.T) {
	reads := 0
	kube := fake.NewClientBuilder().WithScheme(scheme(t)).
		WithObjects(secret("team", "creds", map[string]string{"credentials": "v1"})).
		WithInterceptorFuncs(interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*corev1.Secret); ok {
				reads++
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	s := newSecretReader(kube)
	now := time.Unix(1_800_000_000, 0)
	s.now = func() time.Time { return now }
	getAs := func(owner types.UID) string {
		sec := &corev1.Secret{}
		if err := s.For(owner).Get(context.Background(), client.ObjectKey{Namespace: "team", Name: "creds"}, sec); err != nil {
			return "error: " + err.Error()
		}
		return string(sec.Data["credentials"])
	}
	get := func() string { return getAs("uid-1") }

	var got []string
	for range 100 {
		got = append(got, get())
	}
	if diff := cmp.Diff(1, reads); diff != "" {
		t.Errorf("API reads for 100 resolutions within secretsFresh: -want, +got:\n%s", diff)
	}
	// What a caller does with its copy does not change what others read.
	mutated := &corev1.Secret{}
	_ = s.For("uid-1").Get(context.Background(), client.ObjectKey{Namespace: "team", Name: "creds"}, mutated)
	mutated.Data["credentials"] = []byte("scribbled")

	rotated := secret("team", "creds", map[string]string{"credentials": "v2"})
	if err := kube.Update(context.Background(), rotated); err != nil {
		t.Fatal(err)
	}
	got = append(got, get())
	// Another configuration, such as one re-created under the same name,
	// reads the Secret afresh: it never sees what another read.
	other := getAs("uid-2")
	now = now.Add(secretsFresh)
	got = append(got, get())
	if err := kube.Delete(context.Background(), rotated); err != nil {
		t.Fatal(err)
	}
	now = now.Add(secretsFresh)
	deleted := get()

	if diff := cmp.Diff([]string{"v1", "v1", "v2"}, []string{got[0], got[100], got[101]}); diff != "" {
		t.Errorf("reads before and after a rotation: -want, +got:\n%s", diff)
	}
	if other != "v2" {
		t.Errorf("another configuration read %q, want the Secret as it is now, v2", other)
	}
	if deleted == "v2" {
		t.Error("a deleted Secret was still read after secretsFresh")
	}
}
