package ecssim_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// accountIDs makes n distinct 16-digit account ids.
func accountIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("5%015d", i+1)
	}
	return out
}

// withShares is testConfig with imageID shared with exactly the given
// accounts and room for all of them.
func withShares(accounts []string) ecssim.Config {
	cfg := testConfig()
	cfg.AcceptAnyAccount = true
	cfg.Images[0].SharedWith = accounts
	cfg.Images[0].MaxShares = max(len(accounts), 1)
	return cfg
}

func TestDescribePagination(t *testing.T) {
	for _, n := range []int{0, 1, 10, 100, 101} {
		t.Run(fmt.Sprintf("%d accounts", n), func(t *testing.T) {
			want := accountIDs(n)
			_, srv := simtest.Serve(t, withShares(want))
			c := ownerClient(t, srv)

			// Page through at the largest page size, as the provider does.
			var got []string
			for page := int32(1); ; page++ {
				b, err := describe(c, imageID, page, 100)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				if tea.Int32Value(b.TotalCount) != int32(n) || tea.Int32Value(b.PageNumber) != page || tea.Int32Value(b.PageSize) != 100 {
					t.Fatalf("page %d: TotalCount=%d PageNumber=%d PageSize=%d, want %d %d 100",
						page, tea.Int32Value(b.TotalCount), tea.Int32Value(b.PageNumber), tea.Int32Value(b.PageSize), n, page)
				}
				ids := sharedIDs(b)
				got = append(got, ids...)
				if len(ids) < 100 {
					break
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("accounts over all pages = %d in order %v..., want %d in share order", len(got), head(got), n)
			}

			// The default page is the first 10.
			b, err := describe(c, imageID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if d := sharedIDs(b); !slices.Equal(d, want[:min(n, 10)]) || tea.Int32Value(b.PageSize) != 10 {
				t.Errorf("default page = %v (PageSize %d), want the first %d", d, tea.Int32Value(b.PageSize), min(n, 10))
			}
			for _, a := range b.Accounts.Account {
				if len(tea.StringValue(a.SharedTime)) != len("2006-01-02T15:04:05Z") {
					t.Errorf("SharedTime %q is not ISO 8601 UTC to the second", tea.StringValue(a.SharedTime))
				}
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func TestDescribePageParameters(t *testing.T) {
	_, srv := simtest.Serve(t, withShares(accountIDs(3)))
	c := ownerClient(t, srv)
	cases := []struct {
		name             string
		number, size     *int32
		wantCode         string
		wantFirst, wantN int
	}{
		{name: "page past the end is empty", number: tea.Int32(5), size: tea.Int32(1), wantN: 0},
		{name: "second page of one", number: tea.Int32(2), size: tea.Int32(1), wantFirst: 1, wantN: 1},
		{name: "page size 1", size: tea.Int32(1), wantN: 1},
		{name: "page size 100", size: tea.Int32(100), wantN: 3},
		{name: "page size 0", size: tea.Int32(0), wantCode: ecssim.CodeInvalidParameter},
		{name: "page size 101", size: tea.Int32(101), wantCode: ecssim.CodeInvalidParameter},
		{name: "page number 0", number: tea.Int32(0), wantCode: ecssim.CodeInvalidParameter},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.DescribeImageSharePermission(&ecs.DescribeImageSharePermissionRequest{
				RegionId: tea.String(region), ImageId: tea.String(imageID), PageNumber: tc.number, PageSize: tc.size,
			})
			if got := code(t, err); got != tc.wantCode {
				t.Fatalf("code = %q, want %q", got, tc.wantCode)
			}
			if err != nil {
				if sc := httpStatus(t, err); sc != 400 {
					t.Errorf("status = %d, want 400", sc)
				}
				return
			}
			ids := sharedIDs(resp.Body)
			if len(ids) != tc.wantN || (tc.wantN > 0 && ids[0] != accountIDs(3)[tc.wantFirst]) {
				t.Errorf("accounts = %v, want %d starting at #%d", ids, tc.wantN, tc.wantFirst)
			}
		})
	}
}

func TestModify(t *testing.T) {
	twelve := accountIDs(12)
	cases := []struct {
		name        string
		cfg         func(*ecssim.Config)
		client      string // account key to call with; owner by default
		image       string
		add, remove []string
		wantCode    string
		wantStatus  int
		wantShares  []string // imageID's true shares afterwards
	}{
		{name: "add", add: []string{stranger}, wantShares: []string{friend, stranger}},
		{name: "remove", remove: []string{friend}, wantShares: nil},
		{name: "remove and add in one call", add: []string{stranger}, remove: []string{friend}, wantShares: []string{stranger}},
		{name: "adding an existing share is a no-op", add: []string{friend}, wantShares: []string{friend}},
		{name: "removing an absent share is a no-op", remove: []string{stranger}, wantShares: []string{friend}},
		{
			name: "entries after the tenth are ignored", cfg: func(c *ecssim.Config) { c.AcceptAnyAccount = true },
			add: twelve, wantShares: append([]string{friend}, twelve[:10]...),
		},
		{name: "own account", add: []string{owner}, wantCode: ecssim.CodeAccountForbidden, wantStatus: 404, wantShares: []string{friend}},
		{name: "unknown account", add: []string{"4444444444444444"}, wantCode: ecssim.CodeAccountNotFound, wantStatus: 404, wantShares: []string{friend}},
		{name: "malformed account", add: []string{"not-a-uid"}, wantCode: ecssim.CodeAccountNotFound, wantStatus: 404, wantShares: []string{friend}},
		{name: "one bad account changes nothing", add: []string{stranger, "4444444444444444"}, wantCode: ecssim.CodeAccountNotFound, wantStatus: 404, wantShares: []string{friend}},
		{name: "another tenant's image", image: foreignID, add: []string{stranger}, wantCode: ecssim.CodeImageNotFound, wantStatus: 404, wantShares: []string{friend}},
		{name: "missing image", image: "m-nothere", add: []string{stranger}, wantCode: ecssim.CodeImageNotFound, wantStatus: 404, wantShares: []string{friend}},
		{name: "deprecated image", image: "m-deprecated", add: []string{stranger}, wantCode: ecssim.CodeInvalidImageStatus, wantStatus: 403, wantShares: []string{friend}},
		{name: "unsharing a deprecated image is allowed", image: "m-deprecated", remove: []string{stranger}, wantShares: []string{friend}},
		{
			name: "quota: the share that reaches the limit", cfg: func(c *ecssim.Config) { c.Limits.MaxSharesPerImage = 2 },
			add: []string{stranger}, wantShares: []string{friend, stranger},
		},
		{
			name: "quota: one past the limit", cfg: func(c *ecssim.Config) { c.Limits.MaxSharesPerImage = 1 },
			add: []string{stranger}, wantCode: ecssim.CodeQuotaShareImageUser, wantStatus: 403, wantShares: []string{friend},
		},
		{
			name: "quota: swapping at the limit", cfg: func(c *ecssim.Config) { c.Limits.MaxSharesPerImage = 1 },
			add: []string{stranger}, remove: []string{friend}, wantShares: []string{stranger},
		},
		{
			name: "quota: a per-image raise wins", cfg: func(c *ecssim.Config) { c.Limits.MaxSharesPerImage = 1; c.Images[0].MaxShares = 2 },
			add: []string{stranger}, wantShares: []string{friend, stranger},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			sim, srv := simtest.Serve(t, cfg)
			image := tc.image
			if image == "" {
				image = imageID
			}
			err := modify(ownerClient(t, srv), image, tc.add, tc.remove)
			if got := code(t, err); got != tc.wantCode {
				t.Fatalf("code = %q, want %q (%v)", got, tc.wantCode, err)
			}
			if err != nil {
				if sc := httpStatus(t, err); sc != tc.wantStatus {
					t.Errorf("status = %d, want %d", sc, tc.wantStatus)
				}
			}
			got, _ := sim.SharedWith(region, imageID)
			if !slices.Equal(got, tc.wantShares) {
				t.Errorf("shares = %v, want %v", got, tc.wantShares)
			}
		})
	}
}

// TestQuotaDefault fills an image to ECS's default limit of 50 one call at a
// time (ten accounts a call) and checks the 51st is refused.
func TestQuotaDefault(t *testing.T) {
	cfg := testConfig()
	cfg.AcceptAnyAccount = true
	cfg.Images[0].SharedWith = nil
	_, srv := simtest.Serve(t, cfg)
	c := ownerClient(t, srv)
	accounts := accountIDs(51)
	for i := 0; i < 50; i += 10 {
		if err := modify(c, imageID, accounts[i:i+10], nil); err != nil {
			t.Fatalf("accounts %d..%d: %v", i+1, i+10, err)
		}
	}
	if got := code(t, modify(c, imageID, accounts[50:], nil)); got != ecssim.CodeQuotaShareImageUser {
		t.Fatalf("51st share: code %q, want %s", got, ecssim.CodeQuotaShareImageUser)
	}
	b, err := describe(c, imageID, 1, 100)
	if err != nil || tea.Int32Value(b.TotalCount) != ecssim.DefaultMaxSharesPerImage {
		t.Fatalf("TotalCount = %d, %v; want %d", tea.Int32Value(b.TotalCount), err, ecssim.DefaultMaxSharesPerImage)
	}
}

func TestMissingParameters(t *testing.T) {
	_, srv := simtest.Serve(t, testConfig())
	c := ownerClient(t, srv)
	cases := map[string]func() error{
		"describe without ImageId": func() error {
			_, err := c.DescribeImageSharePermission(&ecs.DescribeImageSharePermissionRequest{RegionId: tea.String(region)})
			return err
		},
		"describe without RegionId": func() error {
			_, err := c.DescribeImageSharePermission(&ecs.DescribeImageSharePermissionRequest{ImageId: tea.String(imageID)})
			return err
		},
		"modify without ImageId": func() error {
			_, err := c.ModifyImageSharePermission(&ecs.ModifyImageSharePermissionRequest{RegionId: tea.String(region)})
			return err
		},
		"images without RegionId": func() error {
			_, err := c.DescribeImages(&ecs.DescribeImagesRequest{ImageId: tea.String(imageID)})
			return err
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			if got := code(t, call()); got != ecssim.CodeMissingParameter {
				t.Errorf("code = %q, want %s", got, ecssim.CodeMissingParameter)
			}
		})
	}
}

func TestIsPublic(t *testing.T) {
	_, srv := simtest.Serve(t, testConfig())
	c := ownerClient(t, srv)
	for _, public := range []bool{true, false} {
		if _, err := c.ModifyImageSharePermission(&ecs.ModifyImageSharePermissionRequest{
			RegionId: tea.String(region), ImageId: tea.String(imageID), IsPublic: tea.Bool(public),
		}); err != nil {
			t.Fatal(err)
		}
		b, err := describe(c, imageID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var groups []string
		if b.ShareGroups != nil {
			for _, g := range b.ShareGroups.ShareGroup {
				groups = append(groups, tea.StringValue(g.Group))
			}
		}
		if want := map[bool][]string{true: {"all"}}[public]; !slices.Equal(groups, want) {
			t.Errorf("IsPublic=%v: share groups %v, want %v", public, groups, want)
		}
	}
}

func TestDescribeImages(t *testing.T) {
	cfg := testConfig()
	// Another tenant's image shared with the owner shows as "others".
	cfg.Images = append(cfg.Images, ecssim.Image{ID: "m-sharedin", Region: region, Owner: other, SharedWith: []string{owner}})
	_, srv := simtest.Serve(t, cfg)
	c := ownerClient(t, srv)
	allStatuses := "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"
	cases := []struct {
		name, ids, alias, status string
		want                     []string // "id/alias/status/selfShared"
	}{
		{name: "own shared image", ids: imageID, alias: "self", want: []string{"m-test0001/self/Available/True"}},
		{name: "deprecated hidden by default", ids: "m-deprecated", alias: "self"},
		{name: "deprecated with explicit status", ids: "m-deprecated", alias: "self", status: allStatuses, want: []string{"m-deprecated/self/Deprecated/False"}},
		{name: "another tenant's unshared image is invisible", ids: foreignID, status: allStatuses},
		{name: "image shared with the caller", ids: "m-sharedin", alias: "others", want: []string{"m-sharedin/others/Available/False"}},
		{name: "not self", ids: "m-sharedin", alias: "self"},
		{name: "several ids", ids: imageID + ",m-sharedin", want: []string{"m-sharedin/others/Available/False", "m-test0001/self/Available/True"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &ecs.DescribeImagesRequest{RegionId: tea.String(region), ImageId: tea.String(tc.ids)}
			if tc.alias != "" {
				req.ImageOwnerAlias = tea.String(tc.alias)
			}
			if tc.status != "" {
				req.Status = tea.String(tc.status)
			}
			resp, err := c.DescribeImages(req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, im := range resp.Body.Images.Image {
				got = append(got, fmt.Sprintf("%s/%s/%s/%s", tea.StringValue(im.ImageId), tea.StringValue(im.ImageOwnerAlias),
					tea.StringValue(im.Status), tea.StringValue(im.IsSelfShared)))
			}
			if !slices.Equal(got, tc.want) || tea.Int32Value(resp.Body.TotalCount) != int32(len(tc.want)) {
				t.Errorf("images = %v (TotalCount %d), want %v", got, tea.Int32Value(resp.Body.TotalCount), tc.want)
			}
		})
	}
}

// TestConcurrentCalls shares one image with many accounts from many
// goroutines at once; run under -race it also proves the locking.
func TestConcurrentCalls(t *testing.T) {
	cfg := testConfig()
	cfg.AcceptAnyAccount = true
	cfg.Images[0].SharedWith = nil
	cfg.Images[0].MaxShares = 200
	sim, srv := simtest.Serve(t, cfg)
	accounts := accountIDs(40)
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(accounts))
	for i, a := range accounts {
		wg.Go(func() {
			c := v4ClientWith(t, srv, ownerKey, ownerSec, "", 5000+i)
			errs <- modify(c, imageID, []string{a}, nil)
			_, err := describe(c, imageID, 1, 100)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, _ := sim.SharedWith(region, imageID)
	slices.Sort(got)
	if !slices.Equal(got, accounts) {
		t.Errorf("shared with %d accounts, want %d", len(got), len(accounts))
	}
	if n := sim.Calls("ModifyImageSharePermission"); n != uint64(len(accounts)) {
		t.Errorf("counted %d Modify calls, want %d", n, len(accounts))
	}
}
