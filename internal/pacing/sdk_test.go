package pacing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/pacing"
)

var _ ecs.Pacer = (*pacing.Pacer)(nil)

const (
	describe = ecs.ActionDescribe
	workers  = 4
	owner    = "1234567890123456"
	region   = "cn-hangzhou"
	imageID  = "m-test0001"
)

var creds = credentials.Credentials{AccessKeyID: "LTAItestOwnerKey", AccessKeySecret: "owner-secret"}

// TestPacingAgainstSimulator runs calls from several goroutines through one
// client and its pacer against a simulator that throttles past a rate.
func TestPacingAgainstSimulator(t *testing.T) {
	cases := []struct {
		name    string
		reason  string
		limit   ecssim.Rate // the simulator's
		start   float64     // the pacer's
		calls   int         // a multiple of workers
		wantCut bool
	}{
		{
			name:   "starting below the limit",
			reason: "a pacer slower than ECS's limit must never be throttled",
			limit:  ecssim.Rate{PerSecond: 30, Burst: 30}, start: 20, calls: 48,
		},
		{
			name:   "starting above the limit",
			reason: "a pacer faster than ECS's limit is throttled and must cut its rate",
			limit:  ecssim.Rate{PerSecond: 5, Burst: 5}, start: 40, calls: 40, wantCut: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim, srv := simtest.Serve(t, ecssim.Config{
				Accounts: []ecssim.Account{{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: creds.AccessKeyID, Secret: creds.AccessKeySecret}}}},
				Images:   []ecssim.Image{{ID: imageID, Region: region, Owner: owner}},
				Faults:   ecssim.Faults{RateLimits: ecssim.RateLimits{PerAction: map[string]ecssim.Rate{describe: tc.limit}}},
			})
			pacer := pacing.New(pacing.Options{Rates: map[string]float64{describe: tc.start}}).
				For(pacing.Key{Budget: "account:" + owner, Endpoint: srv.URL, Region: region})

			c, err := ecs.New(ecs.Config{Region: region, Endpoint: srv.URL, Credentials: creds, Pacer: pacer, ReadTimeout: 2 * time.Second})
			if err != nil {
				t.Fatalf("ecs.New: %v", err)
			}
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range tc.calls / workers {
						if _, err := c.ListShares(context.Background(), imageID); err != nil && !ecs.IsThrottled(err) {
							t.Errorf("ListShares: %v", err)
						}
					}
				})
			}
			wg.Wait()

			counts := sim.Counters()[describe]
			if got := counts["Success"] + counts["Throttling.User"]; got != uint64(tc.calls) {
				t.Errorf("the simulator answered %d calls (%v), want every one of the %d made", got, counts, tc.calls)
			}
			throttled := counts["Throttling.User"]
			rate := pacer.Rate(describe)
			if tc.wantCut {
				if throttled == 0 || rate >= tc.start || rate < 1 {
					t.Errorf("%s: %d calls throttled, rate %v; want some throttled and the rate cut from %v, not below 1/s", tc.reason, throttled, rate, tc.start)
				}
				return
			}
			if throttled != 0 || rate < tc.start {
				t.Errorf("%s: %d calls throttled, rate %v; want none and no cut from %v", tc.reason, throttled, rate, tc.start)
			}
		})
	}
}
