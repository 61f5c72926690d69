package imagesharepermission

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
)

// TestThrottledResourceSaysWhenItRetries: when ECS throttles a resource's
// call, its condition names the code, says plainly that ECS throttled the
// account, and when the next try is; and the controller's requeue waits
// exactly that long.
func TestThrottledResourceSaysWhenItRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"RequestId":"R1","Code":"Throttling.User","Message":"Request was denied due to user flow control."}`)
	}))
	t.Cleanup(srv.Close)
	endpoint := srv.URL
	cr := shareUnderCPC("throttled", imageID, stranger)
	objects := append([]client.Object{cr}, clusterConfigAt(endpoint)...)
	limiter := requeue.New()
	seen := reconcileSettled(t, objects, cr, limiter, 0)

	if calls.Load() != 1 {
		t.Errorf("ECS was called %d times in one reconcile, want 1: a throttled call must not be retried at once", calls.Load())
	}
	said := regexp.MustCompile(`condition Synced=False ReconcileError: .*Throttling\.User: ECS throttled the account's DescribeImageSharePermission calls.*; next try in (\w+), at \d\d:\d\d:\d\d UTC`).
		FindStringSubmatch(seen)
	if said == nil {
		t.Fatalf("the Synced condition does not say that ECS throttled the account and when the next try is:\n%s", seen)
	}
	announced, err := time.ParseDuration(said[1])
	if err != nil {
		t.Fatal(err)
	}
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: cr.Namespace, Name: cr.Name}}
	if got := limiter.When(req); got != announced {
		t.Errorf("the requeue waits %s, but the condition announced %s", got, announced)
	}
}
