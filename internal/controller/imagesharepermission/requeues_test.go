package imagesharepermission

import (
	"context"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// told counts what external tells the controller's requeue limiter.
type told struct{ Successes, Failures int }

// limiterTold is the requeues external talks to, counting into a told.
type limiterTold struct{ *told }

func (l limiterTold) Throttled(reconcile.Request) time.Duration { return time.Second }
func (l limiterTold) Succeeded(reconcile.Request)               { l.Successes++ }
func (l limiterTold) Failed(reconcile.Request)                  { l.Failures++ }

// TestWhatEndsAReconcile checks which calls tell the requeue limiter that a
// reconcile ended in success, so that the runtime's requeue after it waits
// on the short settled curve and restarts the failure backoff: only those
// after which the runtime waits without calling ECS, or confirms a call
// that went through. Anything else would let a share ECS keeps refusing be
// retried every few seconds.
func TestWhatEndsAReconcile(t *testing.T) {
	cases := map[string]struct {
		reason  string
		account string
		cfg     func(*ecssim.Config)
		prepare func(shareResource)
		create  bool
		want    told
	}{
		"AbsentNeverMade": {
			reason:  "a share never made is created next, and that may fail: its Observe is no success",
			account: stranger,
		},
		"Present": {
			reason:  "an existing share's reconcile ends with a poll, not a requeue",
			account: friend,
		},
		"AbsentInGracePeriod": {
			reason:  "the runtime waits for ECS to list a share it made seconds ago",
			account: stranger,
			prepare: func(cr shareResource) { meta.SetExternalCreateSucceeded(cr, time.Now().Add(-5*time.Second)) },
			want:    told{Successes: 1},
		},
		"AbsentAfterGracePeriod": {
			reason:  "after the grace period the share is made again, and that may fail",
			account: stranger,
			prepare: func(cr shareResource) { meta.SetExternalCreateSucceeded(cr, time.Now().Add(-2*creationGracePeriod)) },
		},
		"DeletingBehindAnotherFinalizer": {
			reason:  "the runtime waits for another controller's finalizer before it unshares",
			account: friend,
			prepare: func(cr shareResource) {
				now := metav1.Now()
				cr.SetDeletionTimestamp(&now)
				cr.SetFinalizers([]string{"finalizer.managedresource.crossplane.io", "example.org/other"})
			},
			want: told{Successes: 1},
		},
		"Created": {
			reason:  "the runtime's requeue after a share went through confirms it",
			account: stranger,
			create:  true,
			want:    told{Successes: 1},
		},
		"CreateRefused": {
			reason:  "a share ECS refuses (the image's share quota is full) waits on the failure curve",
			account: stranger,
			cfg:     func(c *ecssim.Config) { c.Images[0].MaxShares = len(c.Images[0].SharedWith) },
			create:  true,
			want:    told{Failures: 1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := simConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e, _ := newExternal(t, cfg, key, secret)
			got := &told{}
			e.requeues = limiterTold{got}
			cr := share(true, imageID, tc.account)
			if tc.prepare != nil {
				tc.prepare(cr)
			}
			if _, err := e.Observe(context.Background(), cr); err != nil {
				t.Fatal(err)
			}
			if tc.create {
				_, _ = e.Create(context.Background(), cr)
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("%s\nwhat the limiter was told (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}
