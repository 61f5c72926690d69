package managedkind

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
)

// listOptions records the options of the last List.
type listOptions struct {
	client.Client
	got client.ListOptions
}

func (l *listOptions) List(_ context.Context, _ client.ObjectList, opts ...client.ListOption) error {
	l.got = client.ListOptions{}
	l.got.ApplyOptions(opts)
	return nil
}

func TestUncopiedListsKeepTheCallersOptions(t *testing.T) {
	l := &listOptions{}
	if err := (uncopiedLists{l}).List(context.Background(), &v1beta1.ImageSharePermissionList{}, client.InNamespace("team-a")); err != nil {
		t.Fatal(err)
	}
	yes := true
	want := client.ListOptions{Namespace: "team-a", UnsafeDisableDeepCopy: &yes}
	if diff := cmp.Diff(want, l.got); diff != "" {
		t.Errorf("the state recorder's lists must come from the cache uncopied, with the recorder's own options (-want +got):\n%s", diff)
	}
}
