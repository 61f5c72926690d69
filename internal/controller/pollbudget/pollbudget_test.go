package pollbudget

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/controllertest"
)

func TestKept(t *testing.T) {
	cases := []struct {
		reason string
		n      int
		poll   time.Duration
		rate   float64
		want   time.Duration
	}{
		{reason: "Within the rate, the poll is kept.", n: 1000, poll: 30 * time.Second, rate: 100, want: 30 * time.Second},
		{reason: "10,000 resources at 100 a second are each seen every 100 s.", n: 10000, poll: 30 * time.Second, rate: 100, want: 100 * time.Second},
		{reason: "No rate to go by keeps the poll.", n: 10000, poll: 30 * time.Second, rate: 0, want: 30 * time.Second},
	}
	for _, tc := range cases {
		if got := Kept(tc.n, tc.poll, tc.rate); got != tc.want {
			t.Errorf("%s\nKept(%d, %v, %v) = %v, want %v", tc.reason, tc.n, tc.poll, tc.rate, got, tc.want)
		}
	}
}

// TestCheckSaysWhenThePollCannotBeKept counts resources through a client,
// as the provider's cache serves them, and logs each change once.
func TestCheckSaysWhenThePollCannotBeKept(t *testing.T) {
	kube := fake.NewClientBuilder().WithScheme(controllertest.Scheme(t)).Build()
	var said []string
	var set []float64
	c := New(Options{
		Kube:  kube,
		Lists: []func() client.ObjectList{func() client.ObjectList { return &ecsv1beta1.ImageSharePermissionList{} }},
		Poll:  30 * time.Second, Rate: 0.1, Every: time.Minute,
		Log: logging.NewLogrLogger(funcr.New(func(_, args string) { said = append(said, args) }, funcr.Options{})),
		Set: func(s float64) { set = append(set, s) },
	})
	add := func(names ...string) {
		for _, n := range names {
			if err := kube.Create(context.Background(), &ecsv1beta1.ImageSharePermission{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: n}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func() {
		if err := c.check(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	add("a", "b")
	check() // 2 at 0.1/s: 20 s, within the poll
	add("c", "d", "e", "f")
	check() // 6: 60 s
	check()
	if err := kube.DeleteAllOf(context.Background(), &ecsv1beta1.ImageSharePermission{}, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	check()

	if diff := cmp.Diff([]float64{30, 60, 60, 30}, set); diff != "" {
		t.Errorf("the poll kept, each count: -want, +got:\n%s", diff)
	}
	if len(said) != 2 || !strings.Contains(said[0], "each is observed about every 1m0s, not every 30s") || !strings.Contains(said[1], "again") {
		t.Errorf("want one line when the poll can no longer be kept and one when it can again; said:\n%s", strings.Join(said, "\n"))
	}
}
