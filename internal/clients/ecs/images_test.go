package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

const (
	golden = "golden"
	silver = "silver"
)

// familyEpoch is when the test families' first versions were made.
var familyEpoch = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

// withImages adds images to the simulator's.
func withImages(images ...ecssim.Image) func(*ecssim.Config) {
	return func(cfg *ecssim.Config) { cfg.Images = append(cfg.Images, images...) }
}

// version is an image of owner's in family, made minutes after familyEpoch.
func version(id, family, status string, minutes int) ecssim.Image {
	return ecssim.Image{ID: id, Region: region, Owner: owner, Family: family, Status: status,
		CreationTime: familyEpoch.Add(time.Duration(minutes) * time.Minute)}
}

// want is the Image ListFamily reports of v.
func want(v ecssim.Image) ecs.Image {
	return ecs.Image{ID: v.ID, Family: v.Family, Status: cmpOr(v.Status, ecs.ImageStatusAvailable), CreationTime: v.CreationTime}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// manyVersions makes n Available versions of family whose IDs do not follow
// their creation times (DescribeImages pages by ID), and what ListFamily
// should answer of them: newest first. n must not be a multiple of 7919.
func manyVersions(family string, n int) ([]ecssim.Image, []ecs.Image) {
	images := make([]ecssim.Image, n)
	newestFirst := make([]ecs.Image, n)
	for i := range images {
		rank := i * 7919 % n // a permutation of 0..n-1: 7919 is prime
		images[i] = version(fmt.Sprintf("m-%s%05d", family, i), family, "", rank)
		newestFirst[n-1-rank] = want(images[i])
	}
	return images, newestFirst
}

func TestListFamily(t *testing.T) {
	// Versions of golden of every status, and images that are not its
	// versions: another family, another region, another account's (shared
	// with the owner, so that DescribeImages would list it without
	// ImageOwnerAlias=self).
	mixed := []ecssim.Image{
		version("m-g1", golden, "", 0),
		version("m-g2", golden, "Deprecated", 60),
		version("m-g3", golden, "Creating", 120),
		version("m-g4", golden, "", 180),
		// Made in the same second as m-g4: ties go by ID.
		version("m-g0", golden, "CreateFailed", 180),
		version("m-g5", golden, "UnAvailable", 30),
		version("m-g6", golden, "Waiting", 240),
		version("m-s1", silver, "", 300),
		{ID: "m-g-shanghai", Region: "cn-shanghai", Owner: owner, Family: golden, CreationTime: familyEpoch.Add(time.Hour * 9)},
		{ID: "m-g-theirs", Region: region, Owner: other, Family: golden, CreationTime: familyEpoch.Add(time.Hour * 10), SharedWith: []string{owner}},
		{ID: "m-theirs-only", Region: region, Owner: other, Family: "theirs", CreationTime: familyEpoch, SharedWith: []string{owner}},
	}
	mixedWant := []ecs.Image{want(mixed[6]), want(mixed[4]), want(mixed[3]), want(mixed[2]), want(mixed[1]), want(mixed[5]), want(mixed[0])}
	many, manyWant := manyVersions(golden, 250)
	// 150 versions of another account's family, all shared with the owner.
	theirs, _ := manyVersions("theirs", 150)
	for i := range theirs {
		theirs[i].Owner, theirs[i].SharedWith = other, []string{owner}
	}
	exactly200, exactly200Want := manyVersions(golden, 200)
	most, mostWant := manyVersions(golden, ecs.MaxFamilyVersions)

	cases := []struct {
		name      string
		reason    string
		edit      func(*ecssim.Config)
		creds     *credentials.Credentials // default ownerCreds
		family    string
		want      []ecs.Image
		wantCalls uint64
	}{
		{
			name: "versions of every status", reason: "every version of the owner's in the family and region, whatever its status, newest first, ties by ID",
			edit: withImages(mixed...), family: golden, want: mixedWant, wantCalls: 1,
		},
		{
			name: "with STS credentials", reason: "STS credentials read the family as well",
			edit: withImages(mixed...), creds: &stsCreds, family: golden, want: mixedWant, wantCalls: 1,
		},
		{
			name: "another family", reason: "only the family asked for is listed",
			edit: withImages(mixed...), family: silver, want: []ecs.Image{want(mixed[7])}, wantCalls: 1,
		},
		{
			name: "a family with no versions", reason: "a family with no images is empty, not an error",
			edit: withImages(mixed...), family: "bronze", wantCalls: 1,
		},
		{
			name: "another account's family", reason: "images of another account, though shared with the caller, are not the caller's versions",
			edit: withImages(mixed...), family: "theirs", wantCalls: 1,
		},
		{
			name: "another account's versions shared with the caller", reason: "ECS is asked for the caller's own images only: one page answers none of the 150 others",
			edit: withImages(theirs...), family: "theirs", wantCalls: 1,
		},
		{
			name: "250 versions", reason: "every page is read, and the versions are ordered by time, not as ECS pages them",
			edit: withImages(many...), family: golden, want: manyWant, wantCalls: 3,
		},
		{
			name: "exactly 200 versions", reason: "a full last page ends the list by TotalCount, without asking for an empty page",
			edit: withImages(exactly200...), family: golden, want: exactly200Want, wantCalls: 2,
		},
		{
			name: "exactly MaxFamilyVersions", reason: "a family of the most versions ListFamily reads is read whole",
			edit: withImages(most...), family: golden, want: mostWant, wantCalls: ecs.MaxFamilyVersions / 100,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			sim, srv := simtest.Serve(t, cfg)
			creds := ownerCreds
			if tc.creds != nil {
				creds = *tc.creds
			}
			got, err := newClient(t, srv.URL, creds).ListFamily(context.Background(), tc.family)
			if err != nil {
				t.Fatalf("ListFamily: %v", err)
			}
			if diff := gocmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: ListFamily (-want +got):\n%s", tc.reason, diff)
			}
			assertUTC(t, got)
			if calls := sim.Calls(ecs.ActionDescribeImages); calls != tc.wantCalls {
				t.Errorf("DescribeImages called %d times, want %d", calls, tc.wantCalls)
			}
		})
	}
}

// TestListFamilyToleratesSparseAnswers feeds ListFamily answers with fields
// missing, malformed or not asked for, as a future ECS or a tenant's own
// endpoint might send.
func TestListFamilyToleratesSparseAnswers(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name   string
		reason string
		body   string
		want   []ecs.Image
	}{
		{name: "no fields at all", reason: "an empty answer is an empty family", body: `{}`},
		{name: "no Images", reason: "an answer without Images is an empty family", body: `{"RequestId":"x","TotalCount":0}`},
		{name: "null and empty Image entries", reason: "entries without an ImageId are skipped", body: `{"Images":{"Image":[null,{}]}}`},
		{
			name: "CreationTime as ECS writes it and otherwise", reason: "RFC 3339 with or without fractions and offsets, or without seconds, is read; any other form is zero and sorts last",
			body: `{"Images":{"Image":[
				{"ImageId":"m-a","ImageFamily":"golden","ImageOwnerAlias":"self","Status":"Available","CreationTime":"2026-01-02T15:04:05Z"},
				{"ImageId":"m-b","Status":"Deprecated","CreationTime":"2026-01-02T15:05Z"},
				{"ImageId":"m-c","ImageFamily":"golden","Status":"Available","CreationTime":"2026-01-02T23:06:05+08:00"},
				{"ImageId":"m-d","ImageFamily":"golden","Status":"Available","CreationTime":"2026-01-02T15:04:05.5Z"},
				{"ImageId":"m-f","ImageFamily":"golden","Status":"Available"},
				{"ImageId":"m-e","ImageFamily":"golden","Status":"Creating","CreationTime":"yesterday"}]}}`,
			want: []ecs.Image{
				{ID: "m-c", Family: golden, Status: "Available", CreationTime: at("2026-01-02T15:06:05Z")},
				{ID: "m-b", Family: golden, Status: "Deprecated", CreationTime: at("2026-01-02T15:05:00Z")},
				{ID: "m-d", Family: golden, Status: "Available", CreationTime: at("2026-01-02T15:04:05.5Z")},
				{ID: "m-a", Family: golden, Status: "Available", CreationTime: at("2026-01-02T15:04:05Z")},
				{ID: "m-e", Family: golden, Status: "Creating"},
				{ID: "m-f", Family: golden, Status: "Available"},
			},
		},
		{
			name: "images ECS should not have listed", reason: "another family's image, another account's and a repeated one are not versions",
			body: `{"Images":{"Image":[
				{"ImageId":"m-a","ImageFamily":"golden","ImageOwnerAlias":"self","Status":"Available","CreationTime":"2026-01-02T15:04:05Z"},
				{"ImageId":"m-a","ImageFamily":"golden","ImageOwnerAlias":"self","Status":"Deprecated","CreationTime":"2026-01-02T15:04:05Z"},
				{"ImageId":"m-x","ImageFamily":"silver","ImageOwnerAlias":"self","Status":"Available","CreationTime":"2026-01-02T15:04:05Z"},
				{"ImageId":"m-y","ImageFamily":"golden","ImageOwnerAlias":"others","Status":"Available","CreationTime":"2026-01-02T15:04:05Z"}]}}`,
			want: []ecs.Image{{ID: "m-a", Family: golden, Status: "Available", CreationTime: at("2026-01-02T15:04:05Z")}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := cannedECS(t, 200, "application/json;charset=utf-8", tc.body)
			got, err := newClient(t, srv.URL, ownerCreds).ListFamily(context.Background(), golden)
			if err != nil {
				t.Fatalf("ListFamily: %v", err)
			}
			if diff := gocmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: ListFamily (-want +got):\n%s", tc.reason, diff)
			}
			assertUTC(t, got)
		})
	}
}

// assertUTC fails if an image's CreationTime is not in UTC.
func assertUTC(t *testing.T, images []ecs.Image) {
	t.Helper()
	for _, im := range images {
		if im.CreationTime.Location() != time.UTC {
			t.Errorf("%s: CreationTime %v is not in UTC", im.ID, im.CreationTime)
		}
	}
}

// endlessPages answers every DescribeImages with a full page of new images
// and no TotalCount, and counts the calls.
func endlessPages(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := calls.Add(1)
		images := make([]string, 100)
		for i := range images {
			images[i] = fmt.Sprintf(`{"ImageId":"m-%d-%d","ImageFamily":"golden","ImageOwnerAlias":"self","Status":"Available"}`, n, i)
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		_, _ = fmt.Fprintf(w, `{"RequestId":"x","Images":{"Image":[%s]}}`, strings.Join(images, ","))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestListFamilyErrors(t *testing.T) {
	versions150, _ := manyVersions(golden, 150)
	tooMany, _ := manyVersions(golden, ecs.MaxFamilyVersions+1)
	cases := []struct {
		name   string
		reason string
		edit   func(*ecssim.Config)
		// endless, if set, serves pages without end instead of the simulator.
		endless bool
		creds   *credentials.Credentials // default ownerCreds
		family  string
		// wantCode is the *ecs.Error's code; wantErr, if set, is what the
		// error must wrap instead.
		wantCode             string
		wantErr              error
		wantAdvice           string
		retryable, throttled bool
		wantCalls            int64
	}{
		{
			name: "no family", reason: "an empty family name is refused before any call, naming what is missing",
			family: "", wantErr: errAny, wantAdvice: "ListFamily needs an image family name",
		},
		{
			name: "ECS failing", reason: "a temporary failure of ECS is an *ecs.Error, retryable",
			edit:   func(c *ecssim.Config) { c.Faults = ecssim.Faults{ErrorRate: 1, ErrorCode: "ServiceUnavailable"} },
			family: golden, wantCode: "ServiceUnavailable", wantAdvice: "DescribeImages: ServiceUnavailable: ECS failed temporarily", retryable: true, wantCalls: 1,
		},
		{
			name: "throttled on the second page", reason: "DescribeImages throttled midway fails the whole listing, as a throttle of DescribeImages",
			edit: func(c *ecssim.Config) {
				withImages(versions150...)(c)
				c.Faults.RateLimits.PerAction = map[string]ecssim.Rate{ecs.ActionDescribeImages: {PerSecond: 0, Burst: 1}}
			},
			family: golden, wantCode: "Throttling.User", wantAdvice: "ECS throttled the account's DescribeImages calls",
			retryable: true, throttled: true, wantCalls: 2,
		},
		{
			name: "not permitted", reason: "a RAM user without ecs:DescribeImages is told which permission it lacks",
			creds: &readOnlyCreds, family: golden, wantCode: "Forbidden.RAM", wantAdvice: "lacks permission for ecs:DescribeImages", wantCalls: 1,
		},
		{
			name: "more than MaxFamilyVersions", reason: "a family ECS counts too large is refused after its first page",
			edit: withImages(tooMany...), family: golden, wantErr: ecs.ErrFamilyTooLarge, wantAdvice: "ECS counts 5001", wantCalls: 1,
		},
		{
			name: "pages without end", reason: "an answer that never ends is read no further than MaxFamilyVersions",
			endless: true, family: golden, wantErr: ecs.ErrFamilyTooLarge, wantAdvice: "50 pages of 100 were full", wantCalls: 50,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var (
				endpoint string
				calls    func() int64
			)
			if tc.endless {
				srv, n := endlessPages(t)
				endpoint, calls = srv.URL, n.Load
			} else {
				cfg := testConfig()
				if tc.edit != nil {
					tc.edit(&cfg)
				}
				sim, srv := simtest.Serve(t, cfg)
				endpoint = srv.URL
				calls = func() int64 { return int64(sim.Calls(ecs.ActionDescribeImages)) }
			}
			creds := ownerCreds
			if tc.creds != nil {
				creds = *tc.creds
			}
			// A bound on the pages that failed would page without end.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			got, err := newClient(t, endpoint, creds).ListFamily(ctx, tc.family)
			if err == nil {
				t.Fatalf("%s: ListFamily = %v, want an error", tc.reason, got)
			}
			if got != nil {
				t.Errorf("%s: ListFamily gave %d images with its error, want none", tc.reason, len(got))
			}
			switch {
			case errors.Is(tc.wantErr, errAny):
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("%s: error %v, want one wrapping %v", tc.reason, err, tc.wantErr)
				}
			default:
				var e *ecs.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %T %v, want an *ecs.Error", tc.reason, err, err)
				}
				if e.Code != tc.wantCode || e.Action != ecs.ActionDescribeImages {
					t.Errorf("%s: code %q of action %q, want %q of %q", tc.reason, e.Code, e.Action, tc.wantCode, ecs.ActionDescribeImages)
				}
			}
			if !strings.Contains(err.Error(), tc.wantAdvice) {
				t.Errorf("%s: error %q does not say %q", tc.reason, err, tc.wantAdvice)
			}
			if got := ecs.IsRetryable(err); got != tc.retryable {
				t.Errorf("%s: IsRetryable = %v, want %v", tc.reason, got, tc.retryable)
			}
			if got := ecs.IsThrottled(err); got != tc.throttled {
				t.Errorf("%s: IsThrottled = %v, want %v", tc.reason, got, tc.throttled)
			}
			if n := calls(); n != tc.wantCalls {
				t.Errorf("%s: DescribeImages called %d times, want %d", tc.reason, n, tc.wantCalls)
			}
			assertNoSecrets(t, err)
		})
	}
}

// errAny stands for any error a case does not otherwise check.
var errAny = errors.New("any error")

// TestListFamilyPacedAndCounted checks that DescribeImages goes through the
// pacer and the metrics under its own action, not DescribeImageSharePermission's.
func TestListFamilyPacedAndCounted(t *testing.T) {
	const (
		calls     = "alibabacloud_ecs_api_calls_total"
		latency   = "alibabacloud_ecs_api_call_duration_seconds"
		throttles = "alibabacloud_ecs_api_throttles_total"
	)
	var (
		wait     = "Wait " + ecs.ActionDescribeImages
		done     = "Done " + ecs.ActionDescribeImages + " throttled=false"
		throttle = "Done " + ecs.ActionDescribeImages + " throttled=true"
	)
	versions150, _ := manyVersions(golden, 150)
	cases := []struct {
		name        string
		reason      string
		edit        func(*ecssim.Config)
		refuse      error
		wantPacer   []string
		wantMetrics map[string]float64
	}{
		{
			name: "two pages", reason: "each page's call waits for its turn, reports how it ended and is counted",
			edit:      withImages(versions150...),
			wantPacer: []string{wait, done, wait, done},
			wantMetrics: map[string]float64{
				calls + "{action=DescribeImages,outcome=Success}": 2,
				latency + "{action=DescribeImages} count":         2,
			},
		},
		{
			name: "throttled on the second page", reason: "a throttle of DescribeImages is reported and counted as one",
			edit: func(c *ecssim.Config) {
				withImages(versions150...)(c)
				c.Faults.RateLimits.PerAction = map[string]ecssim.Rate{ecs.ActionDescribeImages: {PerSecond: 0, Burst: 1}}
			},
			wantPacer: []string{wait, done, wait, throttle},
			wantMetrics: map[string]float64{
				calls + "{action=DescribeImages,outcome=Success}":         1,
				calls + "{action=DescribeImages,outcome=Throttling.User}": 1,
				throttles + "{action=DescribeImages}":                     1,
				latency + "{action=DescribeImages} count":                 2,
			},
		},
		{
			name: "a turn refused", reason: "a call the pacer refuses is not made, reported nor counted",
			refuse: context.DeadlineExceeded, wantPacer: []string{wait}, wantMetrics: map[string]float64{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			_, srv := simtest.Serve(t, cfg)
			m := metrics.New()
			reg := prometheus.NewRegistry()
			if err := m.Register(reg); err != nil {
				t.Fatalf("Register: %v", err)
			}
			pacer := &recordingPacer{refuse: tc.refuse}
			_, err := newClient(t, srv.URL, ownerCreds, func(c *ecs.Config) { c.Pacer, c.Metrics = pacer, m }).
				ListFamily(context.Background(), golden)
			if tc.refuse != nil && !errors.Is(err, tc.refuse) {
				t.Errorf("error %v, want one wrapping %v", err, tc.refuse)
			}
			if diff := gocmp.Diff(tc.wantPacer, pacer.told, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: the pacer was told (-want +got):\n%s", tc.reason, diff)
			}
			if diff := gocmp.Diff(tc.wantMetrics, counts(t, reg), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s: metrics (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestListOwnImages(t *testing.T) {
	// The test world's own images, beside: one named and shared in a
	// family, another account's shared with the owner, one in another
	// region, and 150 more of the owner's.
	extra := []ecssim.Image{
		{ID: "m-named001", Name: "golden-v1", Region: region, Owner: owner, Family: golden, CreationTime: familyEpoch, SharedWith: []string{friend}},
		{ID: "m-theirs01", Region: region, Owner: other, SharedWith: []string{owner}},
		{ID: "m-shanghai1", Region: "cn-shanghai", Owner: owner},
	}
	var ids []string
	for i := range 150 {
		id := fmt.Sprintf("m-many%05d", i)
		ids = append(ids, id)
		extra = append(extra, ecssim.Image{ID: id, Region: region, Owner: owner, CreationTime: familyEpoch})
	}
	named := ecs.Image{ID: "m-named001", Name: "golden-v1", Family: golden, Status: ecs.ImageStatusAvailable, CreationTime: familyEpoch, SelfShared: true}
	onlyIDs := func(images []ecs.Image) []string {
		out := make([]string, 0, len(images))
		for _, im := range images {
			out = append(out, im.ID)
		}
		return out
	}
	cases := []struct {
		name      string
		reason    string
		filter    ecs.ImageFilter
		check     func(t *testing.T, got []ecs.Image)
		wantCalls uint64
	}{
		{
			name: "every own image", reason: "all of the owner's images in the region, in ID order, and none of another account's or region's",
			check: func(t *testing.T, got []ecs.Image) {
				gotIDs := onlyIDs(got)
				if len(got) < 151 || !slices.IsSorted(gotIDs) || slices.Contains(gotIDs, "m-theirs01") || slices.Contains(gotIDs, "m-shanghai1") {
					t.Errorf("got %d images %v", len(got), gotIDs)
				}
				i := slices.Index(gotIDs, "m-named001")
				if i < 0 {
					t.Fatalf("m-named001 missing: %v", gotIDs)
				}
				if diff := gocmp.Diff(named, got[i]); diff != "" {
					t.Errorf("name, family and IsSelfShared are read (-want +got):\n%s", diff)
				}
			},
			wantCalls: 2,
		},
		{
			name: "by ID", reason: "only the images named, the caller's own: another account's is not listed, though shared with the caller",
			filter: ecs.ImageFilter{IDs: []string{"m-theirs01", "m-named001"}},
			check: func(t *testing.T, got []ecs.Image) {
				if diff := gocmp.Diff([]ecs.Image{named}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
			wantCalls: 1,
		},
		{
			name: "by 150 IDs", reason: "at most 100 IDs go in one call",
			filter: ecs.ImageFilter{IDs: ids},
			check: func(t *testing.T, got []ecs.Image) {
				if diff := gocmp.Diff(ids, onlyIDs(got)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
			wantCalls: 2,
		},
		{
			name: "by family", reason: "only the family's",
			filter: ecs.ImageFilter{Family: golden},
			check: func(t *testing.T, got []ecs.Image) {
				if diff := gocmp.Diff([]ecs.Image{named}, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			},
			wantCalls: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			withImages(extra...)(&cfg)
			sim, srv := simtest.Serve(t, cfg)
			got, err := newClient(t, srv.URL, ownerCreds).ListOwnImages(context.Background(), tc.filter)
			if err != nil {
				t.Fatalf("ListOwnImages: %v", err)
			}
			t.Log(tc.reason)
			tc.check(t, got)
			if calls := sim.Calls(ecs.ActionDescribeImages); calls != tc.wantCalls {
				t.Errorf("%s: DescribeImages called %d times, want %d", tc.reason, calls, tc.wantCalls)
			}
		})
	}
}
