package ecs_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

var sorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func TestListShares(t *testing.T) {
	cases := []struct {
		name      string
		reason    string
		shares    int
		wantCalls uint64
	}{
		{name: "none", reason: "an image shared with no one is one call and an empty list", wantCalls: 1},
		{name: "one page", reason: "fewer than a page's 100 need one call", shares: 40, wantCalls: 1},
		{name: "exactly one full page", reason: "TotalCount ends the list without asking for an empty page", shares: 100, wantCalls: 1},
		{name: "230 over three pages", reason: "every page is read, the last a partial one", shares: 230, wantCalls: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := accountIDs(tc.shares)
			cfg := testConfig()
			withShares(want)(&cfg)
			sim, srv := simtest.Serve(t, cfg)

			shares, err := newClient(t, srv.URL, ownerCreds).ListShares(context.Background(), imageID)
			if err != nil {
				t.Fatalf("ListShares: %v", err)
			}
			got := []string{}
			for _, s := range shares {
				if s.ImageID != imageID || s.Region != region || s.SharedTime.IsZero() {
					t.Errorf("share %+v: want image %s, region %s and a SharedTime", s, imageID, region)
				}
				got = append(got, s.AccountID)
			}
			if diff := gocmp.Diff(want, got, sorted); diff != "" {
				t.Errorf("%s: accounts (-want +got):\n%s", tc.reason, diff)
			}
			if calls := sim.Calls(describeAction); calls != tc.wantCalls {
				t.Errorf("%s: %d %s calls, want %d", tc.reason, calls, describeAction, tc.wantCalls)
			}
		})
	}
}

func TestListSharesFails(t *testing.T) {
	sim, srv := simtest.Serve(t, testConfig())
	c := newClient(t, srv.URL, ownerCreds)
	if _, err := c.ListShares(context.Background(), ""); err == nil {
		t.Error("ListShares without an image id: no error")
	}
	if calls := sim.Calls(describeAction); calls != 0 {
		t.Errorf("ListShares without an image id made %d calls, want none", calls)
	}
	shares, err := c.ListShares(context.Background(), "m-missing")
	if !ecs.IsNotFound(err) || shares != nil {
		t.Errorf("ListShares of a missing image = %v, %v; want no shares and a not-found error", shares, err)
	}
}

func TestModify(t *testing.T) {
	accounts := accountIDs(40)
	cases := []struct {
		name        string
		reason      string
		before      []string
		maxShares   int // default 50
		add, remove []string
		wantCalls   uint64
		want        []string
	}{
		{
			name:   "23 adds and 4 removes",
			reason: "each call carries up to 10 adds and 10 removes, so the adds set the count",
			before: append([]string{friend}, accounts[:4]...), add: accounts[4:27], remove: accounts[:4],
			wantCalls: 3, want: append([]string{friend}, accounts[4:27]...),
		},
		{
			name:   "3 adds and 15 removes",
			reason: "more removes than adds: the removes set the count",
			before: accounts[:15], add: accounts[15:18], remove: accounts[:15],
			wantCalls: 2, want: accounts[15:18],
		},
		{
			name:   "nothing to do",
			reason: "an empty change makes no call",
			before: []string{friend}, wantCalls: 0, want: []string{friend},
		},
		{
			name:   "removes make room for adds",
			reason: "a full image takes new accounts in the same call that frees their places, as ECS removes first",
			before: accounts[:5], maxShares: 5, add: accounts[5:8], remove: accounts[:3],
			wantCalls: 1, want: accounts[3:8],
		},
		{
			name:   "12 adds and 12 removes in a full image",
			reason: "each call pairs up to 10 removes with up to 10 adds, so the image never goes over its quota",
			before: accounts[:20], maxShares: 20, add: accounts[20:32], remove: accounts[:12],
			wantCalls: 2, want: accounts[12:32],
		},
		{
			name:   "an account both removed and added",
			reason: "ECS removes before it adds, so one call that does both leaves the share",
			before: []string{friend}, add: []string{friend}, remove: []string{friend},
			wantCalls: 1, want: []string{friend},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			withShares(tc.before)(&cfg)
			cfg.Images[0].MaxShares = cmp.Or(tc.maxShares, 50)
			sim, srv := simtest.Serve(t, cfg)

			if err := newClient(t, srv.URL, ownerCreds).Modify(context.Background(), imageID, tc.add, tc.remove); err != nil {
				t.Fatalf("Modify: %v", err)
			}
			if calls := sim.Calls(modifyAction); calls != tc.wantCalls {
				t.Errorf("%s: %d %s calls, want %d", tc.reason, calls, modifyAction, tc.wantCalls)
			}
			got, err := sim.SharedWith(region, imageID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tc.want, got, sorted); diff != "" {
				t.Errorf("%s: shares afterwards (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestModifyRefusesEmptyIDs(t *testing.T) {
	cases := []struct {
		name        string
		image       string
		add, remove []string
	}{
		{name: "no image id", add: []string{friend}},
		{name: "an empty account to add", image: imageID, add: []string{friend, ""}},
		{name: "an empty account to remove", image: imageID, remove: []string{""}},
	}
	sim, srv := simtest.Serve(t, testConfig())
	c := newClient(t, srv.URL, ownerCreds)
	for _, tc := range cases {
		if err := c.Modify(context.Background(), tc.image, tc.add, tc.remove); err == nil {
			t.Errorf("%s: no error; ECS would read an empty id as nothing to do", tc.name)
		}
	}
	if calls := sim.Counters(); len(calls) != 0 {
		t.Errorf("calls reached ECS: %v", calls)
	}
}

// recordingPacer records what the client tells it and grants turns, or
// refuses them with refuse.
type recordingPacer struct {
	refuse error
	mu     sync.Mutex
	told   []string
}

func (p *recordingPacer) Wait(_ context.Context, action string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.told = append(p.told, "Wait "+action)
	return p.refuse
}

func (p *recordingPacer) Done(action string, throttled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.told = append(p.told, fmt.Sprintf("Done %s throttled=%v", action, throttled))
}

func (p *recordingPacer) Saturated(string) bool { return false }

// canned is the ECS error a server answers every call with.
type canned struct {
	status     int
	code, text string
}

func listShares(ctx context.Context, c ecs.Client) error {
	_, err := c.ListShares(ctx, imageID)
	return err
}

func TestPacerHook(t *testing.T) {
	var (
		waitD     = "Wait " + describeAction
		waitM     = "Wait " + modifyAction
		doneD     = "Done " + describeAction + " throttled=false"
		doneM     = "Done " + modifyAction + " throttled=false"
		throttleD = "Done " + describeAction + " throttled=true"
		throttleM = "Done " + modifyAction + " throttled=true"
	)
	cases := []struct {
		name   string
		reason string
		canned *canned // else the simulator, with 230 shares on imageID
		refuse error
		call   func(context.Context, ecs.Client) error
		want   []string
		// wantErr is what the call's error must wrap, if it must fail.
		wantErr error
	}{
		{
			name: "every page", reason: "each of the 3 pages' calls waits for its turn and reports how it ended",
			call: listShares, want: []string{waitD, doneD, waitD, doneD, waitD, doneD},
		},
		{
			name: "every chunk", reason: "each of the 3 chunks' calls waits for its turn and reports how it ended",
			call: func(ctx context.Context, c ecs.Client) error { return c.Modify(ctx, imageID, accountIDs(23), nil) },
			want: []string{waitM, doneM, waitM, doneM, waitM, doneM},
		},
		{
			name: "Throttling", reason: "a throttle is reported as one",
			canned: &canned{400, "Throttling", "Request was denied due to request throttling."},
			call:   listShares, want: []string{waitD, throttleD},
		},
		{
			name: "Throttling.User on Modify", reason: "a throttle is reported as one, whatever the action",
			canned: &canned{400, "Throttling.User", "Request was denied due to user flow control."},
			call:   func(ctx context.Context, c ecs.Client) error { return c.AddAccounts(ctx, imageID, stranger) },
			want:   []string{waitM, throttleM},
		},
		{
			name: "a server error", reason: "a failure that is not a throttle must not cut the rate",
			canned: &canned{500, "InternalError", "The request processing has failed due to some unknown error."},
			call:   listShares, want: []string{waitD, doneD},
		},
		{
			name: "a turn refused", reason: "a call the pacer refuses is not made, and so not reported",
			refuse: context.DeadlineExceeded, call: listShares, want: []string{waitD}, wantErr: context.DeadlineExceeded,
		},
		{
			name: "ModifyNext", reason: "ModifyNext's call waits for its turn and reports how it ended",
			call: func(ctx context.Context, c ecs.Client) error {
				return c.ModifyNext(ctx, imageID, func() ([]string, []string) { return []string{stranger}, nil })
			},
			want: []string{waitM, doneM},
		},
		{
			name: "ModifyNext, its turn refused", reason: "ModifyNext asks for no accounts and makes no call without a turn",
			refuse: context.DeadlineExceeded, want: []string{waitM}, wantErr: context.DeadlineExceeded,
			call: func(ctx context.Context, c ecs.Client) error {
				return c.ModifyNext(ctx, imageID, func() ([]string, []string) {
					t.Error("ModifyNext asked for the accounts without a turn")
					return []string{stranger}, nil
				})
			},
		},
		{
			name: "arguments refused", reason: "a call refused before its turn neither waits nor reports",
			call: func(ctx context.Context, c ecs.Client) error { return c.Modify(ctx, imageID, []string{""}, nil) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var (
				endpoint string
				sim      *ecssim.Simulator
			)
			if tc.canned != nil {
				endpoint = cannedECS(t, tc.canned.status, "application/json;charset=utf-8",
					ecsErrorBody(tc.canned.code, tc.canned.text, cannedID, "")).URL
			} else {
				cfg := testConfig()
				withShares(accountIDs(230))(&cfg)
				cfg.Images[0].MaxShares = 300
				var srv *httptest.Server
				sim, srv = simtest.Serve(t, cfg)
				endpoint = srv.URL
			}
			pacer := &recordingPacer{refuse: tc.refuse}
			err := tc.call(context.Background(), newClient(t, endpoint, ownerCreds, func(c *ecs.Config) { c.Pacer = pacer }))
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want one wrapping %v", err, tc.wantErr)
			}
			if diff := gocmp.Diff(tc.want, pacer.told, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: the pacer was told (-want +got):\n%s", tc.reason, diff)
			}
			if tc.refuse != nil && len(sim.Counters()) != 0 {
				t.Errorf("%s: calls reached ECS: %v", tc.reason, sim.Counters())
			}
		})
	}
}

// cancelOnWait ends the call's context as it grants the turn, so that the
// call is abandoned as soon as it starts.
type cancelOnWait struct{ cancel context.CancelFunc }

func (p cancelOnWait) Wait(context.Context, string) error { p.cancel(); return nil }
func (cancelOnWait) Done(string, bool)                    {}
func (cancelOnWait) Saturated(string) bool                { return false }

// hangingECS never answers until the test ends.
func hangingECS(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before Close, which waits for handlers
	return srv
}

// counts reads the per-call metrics from reg: the counters, and the latency
// histograms' counts, keyed by metric name and labels.
func counts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "alibabacloud_ecs_api_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%s", l.GetName(), l.GetValue()))
			}
			name := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[name] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[name+" count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestMetricsHook(t *testing.T) {
	const (
		calls     = "alibabacloud_ecs_api_calls_total"
		throttles = "alibabacloud_ecs_api_throttles_total"
		latency   = "alibabacloud_ecs_api_call_duration_seconds"
	)
	cases := []struct {
		name     string
		reason   string
		endpoint func(t *testing.T) string
		// abandon ends the call's context as soon as the call starts.
		abandon bool
		call    func(context.Context, ecs.Client) error
		want    map[string]float64
	}{
		{
			name: "successes", reason: "each page's call is counted",
			endpoint: func(t *testing.T) string {
				cfg := testConfig()
				withShares(accountIDs(230))(&cfg)
				_, srv := simtest.Serve(t, cfg)
				return srv.URL
			},
			call: listShares,
			want: map[string]float64{
				calls + "{action=" + describeAction + ",outcome=Success}": 3,
				latency + "{action=" + describeAction + "} count":         3,
			},
		},
		{
			name: "an ECS error", reason: "a failed call is counted under ECS's code",
			endpoint: func(t *testing.T) string { _, srv := simtest.Serve(t, testConfig()); return srv.URL },
			call:     func(ctx context.Context, c ecs.Client) error { return c.AddAccounts(ctx, imageID, nobody) },
			want: map[string]float64{
				calls + "{action=" + modifyAction + ",outcome=InvalidAccount.NotFound}": 1,
				latency + "{action=" + modifyAction + "} count":                         1,
			},
		},
		{
			name: "a throttle", reason: "a throttled call is counted under its code and as a throttle",
			endpoint: func(t *testing.T) string {
				return cannedECS(t, 400, "application/json;charset=utf-8",
					ecsErrorBody("Throttling.User", "Request was denied due to user flow control.", cannedID, "")).URL
			},
			call: listShares,
			want: map[string]float64{
				calls + "{action=" + describeAction + ",outcome=Throttling.User}": 1,
				throttles + "{action=" + describeAction + "}":                     1,
				latency + "{action=" + describeAction + "} count":                 1,
			},
		},
		{
			name: "an unknown code", reason: "a code ECS is not known to send is counted as Other, not under a label the endpoint chose",
			endpoint: func(t *testing.T) string {
				return cannedECS(t, 400, "application/json;charset=utf-8",
					ecsErrorBody("Made.Up."+strings.Repeat("x", 4096), "any", cannedID, "")).URL
			},
			call: listShares,
			want: map[string]float64{
				calls + "{action=" + describeAction + ",outcome=Other}": 1,
				latency + "{action=" + describeAction + "} count":       1,
			},
		},
		{
			name: "a code claiming success", reason: "an error answer whose code is Success is not counted as a success",
			endpoint: func(t *testing.T) string {
				return cannedECS(t, 400, "application/json;charset=utf-8", ecsErrorBody("Success", "any", cannedID, "")).URL
			},
			call: listShares,
			want: map[string]float64{
				calls + "{action=" + describeAction + ",outcome=Other}": 1,
				latency + "{action=" + describeAction + "} count":       1,
			},
		},
		{
			name: "unreachable", reason: "a call that got no answer is counted as Unreachable",
			endpoint: func(t *testing.T) string {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close()
				return srv.URL
			},
			call: listShares,
			want: map[string]float64{
				calls + "{action=" + describeAction + ",outcome=Unreachable}": 1,
				latency + "{action=" + describeAction + "} count":             1,
			},
		},
		{
			name: "abandoned", reason: "a call whose caller stopped waiting is counted as Abandoned",
			endpoint: func(t *testing.T) string { return hangingECS(t).URL },
			abandon:  true, call: listShares,
			want: map[string]float64{
				calls + "{action=" + describeAction + ",outcome=Abandoned}": 1,
				latency + "{action=" + describeAction + "} count":           1,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			reg := prometheus.NewRegistry()
			if err := m.Register(reg); err != nil {
				t.Fatalf("Register: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := newClient(t, tc.endpoint(t), ownerCreds, func(c *ecs.Config) {
				c.Metrics = m
				if tc.abandon {
					c.Pacer = cancelOnWait{cancel}
				}
			})
			_ = tc.call(ctx, c) // the metrics say how it ended
			if diff := gocmp.Diff(tc.want, counts(t, reg)); diff != "" {
				t.Errorf("%s: metrics (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

// TestOutcomesKnowTheClientsCodes checks that every code the client
// explains or acts on is counted under its own name, not as Other.
func TestOutcomesKnowTheClientsCodes(t *testing.T) {
	for _, code := range []string{
		ecs.CodeImageNotFound, ecs.CodeQuotaShareImageUser, ecs.CodeAccountForbidden, ecs.CodeAccountNotFound,
		ecs.CodeBidMismatch, ecs.CodeInvalidImageStatus, ecs.CodeForbiddenRAM, ecs.CodeAccessKeyNotFound,
		"InvalidAccessKeyId.Inactive", ecs.CodeSignatureMismatch, ecs.CodeTimestampExpired,
		ecs.CodeServiceUnavailable, ecs.CodeInternalError, ecs.CodeMissingParameter, ecs.CodeInvalidParameter,
		"Throttling", "Throttling.User", "Throttling.Api",
		"InvalidSecurityToken.Expired", "InvalidSecurityToken.MismatchWithAccessKey", "InvalidSecurityToken.Malformed",
	} {
		if got := metrics.Outcome(code); got != code {
			t.Errorf("metrics.Outcome(%q) = %q, want the code itself", code, got)
		}
	}
}
