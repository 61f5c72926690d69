package imagesharepermission

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/requeue"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// TestRefusedShareBacksOffFromItsFirstRefusal reconciles a share ECS keeps
// refusing (its image's share quota is full), as the workqueue would: the
// share is queued, its refusal is told, and from then on each reconcile
// makes it again and fails, each waiting longer than the last. A share
// whose refusal had been told once used to be waited for as if ECS were
// slow to list it, for the 30-second creation grace period, which ended
// its reconcile as a success and restarted its backoff.
func TestRefusedShareBacksOffFromItsFirstRefusal(t *testing.T) {
	sim, srv := simtest.Serve(t, canaryWorld())
	const image = "m-full00001"
	cr := shareUnderCPC("refused", image, stranger)
	cr.Finalizers = []string{managed.FinalizerName}
	meta.SetExternalName(cr, cr.Spec.ForProvider.ExternalName())
	limiter := requeue.New()
	r, _, said, wakes := newTestReconciler(t, append([]client.Object{cr}, clusterConfigAt(srv.URL)...), limiter)
	req := reconcile.Request{NamespacedName: types.NamespacedName{Namespace: cr.Namespace, Name: cr.Name}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	steps := []struct{ reason, wantSaid string }{
		{reason: "the share is queued", wantSaid: "Successfully requested creation"},
		{reason: "its refusal is told", wantSaid: "sharing the image with account " + stranger + " failed"},
		{reason: "it is made again at once, not waited for", wantSaid: "Cannot create external resource"},
		{reason: "and again, after a longer wait", wantSaid: "Cannot create external resource"},
		{reason: "and again, after a longer wait still", wantSaid: "Cannot create external resource"},
	}
	var waits []time.Duration
	for i, step := range steps {
		before := len(said.String())
		_, _ = r.Reconcile(ctx, req)
		if got := said.String()[before:]; !strings.Contains(got, step.wantSaid) {
			t.Fatalf("reconcile %d: %s: want it to say %q; it said:\n%s", i+1, step.reason, step.wantSaid, got)
		}
		if i == 0 {
			select {
			case <-wakes:
			case <-ctx.Done():
				t.Fatalf("the queued share never woke the resource:\n%s", said.String())
			}
			continue
		}
		// The workqueue asks the limiter how long the requeue waits.
		waits = append(waits, limiter.When(req))
	}
	// The failure curve doubles from a second, jittered by a fifth: each
	// wait is longer than the one before, however the jitter falls.
	for i := 1; i < len(waits); i++ {
		if waits[i] <= waits[i-1] {
			t.Errorf("the waits after each refusal were %v: want each longer than the last (the failure backoff), not restarted", waits)
			break
		}
	}
	if got := sim.Calls("ModifyImageSharePermission"); got != uint64(len(steps)-1) {
		t.Errorf("%d ModifyImageSharePermission calls, want %d: the queued one, then one per reconcile after the refusal was told", got, len(steps)-1)
	}
}
