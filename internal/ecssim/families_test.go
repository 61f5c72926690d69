package ecssim_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const family = "golden-ubuntu"

// familyConfig is testConfig with three versions of a family: the newest
// deprecated, the one before it Available.
func familyConfig() ecssim.Config {
	cfg := testConfig()
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	cfg.Images = append(cfg.Images,
		ecssim.Image{ID: "m-golden01", Region: region, Owner: owner, Family: family, CreationTime: day(1)},
		ecssim.Image{ID: "m-golden02", Region: region, Owner: owner, Family: family, CreationTime: day(8)},
		ecssim.Image{ID: "m-golden03", Region: region, Owner: owner, Family: family, CreationTime: day(15), Status: "Deprecated"},
		ecssim.Image{ID: "m-other01", Region: region, Owner: owner, Family: "other-family", CreationTime: day(20)},
	)
	return cfg
}

// fromFamily is what DescribeImageFromFamily answers the client:
// "id/alias/status", or "" for an empty Image.
func fromFamily(t *testing.T, c *ecs.Client, family string) (string, error) {
	t.Helper()
	resp, err := c.DescribeImageFromFamily(&ecs.DescribeImageFromFamilyRequest{RegionId: tea.String(region), ImageFamily: tea.String(family)})
	if err != nil {
		return "", err
	}
	im := resp.Body.Image
	if im == nil || tea.StringValue(im.ImageId) == "" {
		return "", nil
	}
	if got := tea.StringValue(im.ImageFamily); got != family {
		t.Errorf("DescribeImageFromFamily(%s) answered an image of family %q", family, got)
	}
	return fmt.Sprintf("%s/%s/%s", tea.StringValue(im.ImageId), tea.StringValue(im.ImageOwnerAlias), tea.StringValue(im.Status)), nil
}

// TestImageFamilies resolves a family through the real SDK as its owner
// and as another account, before and after a share and a new version.
func TestImageFamilies(t *testing.T) {
	sim, srv := simtest.Serve(t, familyConfig())
	owned, outsider := ownerClient(t, srv), v4Client(t, srv, otherKey, otherSec, "")
	check := func(reason string, c *ecs.Client, want string) {
		t.Helper()
		got, err := fromFamily(t, c, family)
		if err != nil {
			t.Fatalf("%s: %v", reason, err)
		}
		if got != want {
			t.Errorf("%s: DescribeImageFromFamily answered %q, want %q", reason, got, want)
		}
	}

	check("the newest version is deprecated: the one before it", owned, "m-golden02/self/Available")
	check("another account sees none of the family", outsider, "")
	if err := modify(owned, "m-golden02", []string{other}, nil); err != nil {
		t.Fatal(err)
	}
	check("shared with another account, the version is its family's newest for it", outsider, "m-golden02/others/Available")

	published, err := sim.PublishVersion(region, family, ecssim.Image{ID: "m-golden04"})
	if err != nil {
		t.Fatal(err)
	}
	if published.Owner != owner || !published.CreationTime.After(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("published %+v: want the family's owner and a creation time after its newest version", published)
	}
	check("a published version is the newest", owned, "m-golden04/self/Available")
	check("until it is shared, another account still gets the version shared with it", outsider, "m-golden02/others/Available")

	var stored ecssim.Image
	if code := control(t, srv.URL, "POST", "families/"+region+"/"+family+"/versions", `{"id": "m-golden05", "name": "golden-ubuntu-2026-12"}`, &stored); code != 200 {
		t.Fatalf("POST families/.../versions: %d", code)
	}
	if stored.ID != "m-golden05" || stored.Family != family || stored.Owner != owner {
		t.Errorf("the control API published %+v", stored)
	}
	check("a version published through the control API is the newest", owned, "m-golden05/self/Available")
	if code := control(t, srv.URL, "POST", "families/"+region+"/empty-family/versions", `{"id": "m-orphan01"}`, nil); code != 400 {
		t.Errorf("publishing into a family with no versions and no owner: %d, want 400", code)
	}

	resp, err := owned.DescribeImages(&ecs.DescribeImagesRequest{RegionId: tea.String(region), ImageFamily: tea.String(family),
		Status: tea.String("Available,Deprecated")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	var created []time.Time
	for _, im := range resp.Body.Images.Image {
		listed = append(listed, tea.StringValue(im.ImageId)+"/"+tea.StringValue(im.ImageFamily))
		at, err := time.Parse("2006-01-02T15:04:05Z", tea.StringValue(im.CreationTime))
		if err != nil {
			t.Errorf("%s: CreationTime: %v", tea.StringValue(im.ImageId), err)
		}
		created = append(created, at)
	}
	want := []string{"m-golden01/" + family, "m-golden02/" + family, "m-golden03/" + family, "m-golden04/" + family, "m-golden05/" + family}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("DescribeImages filtered by family: -want, +got:\n%s", diff)
	}
	if !slices.IsSortedFunc(created, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Errorf("the family's versions, by id, were not created in order: %v", created)
	}
}

func TestImageFromFamilyParameters(t *testing.T) {
	_, srv := simtest.Serve(t, familyConfig())
	c := ownerClient(t, srv)
	for _, tc := range []struct{ reason, family, want string }{
		{reason: "no family", family: "", want: ecssim.CodeMissingParameter},
		{reason: "one character", family: "g", want: ecssim.CodeInvalidParameter},
		{reason: "not starting with a letter", family: "1golden", want: ecssim.CodeInvalidParameter},
		{reason: "a reserved prefix", family: "aliyun-golden", want: ecssim.CodeInvalidParameter},
		{reason: "a family nobody has: an empty answer", family: "no-such-family"},
	} {
		_, err := fromFamily(t, c, tc.family)
		if got := code(t, err); got != tc.want {
			t.Errorf("%s: DescribeImageFromFamily(%q) answered %q, want %q", tc.reason, tc.family, got, tc.want)
		}
	}
}

// TestEncryptedImages shares encrypted images as ECS allows and refuses:
// never one encrypted with the service key, and one encrypted with a CMK
// only to accounts the owner's share role trusts, only where encrypted
// images can be shared. Unsharing is never refused.
func TestEncryptedImages(t *testing.T) {
	const elsewhere = "cn-beijing"
	cfg := testConfig()
	cfg.Images = append(cfg.Images,
		ecssim.Image{ID: "m-cmk00001", Region: region, Owner: owner, Encryption: ecssim.EncryptionCMK},
		ecssim.Image{ID: "m-service01", Region: region, Owner: owner, Encryption: ecssim.EncryptionServiceKey, SharedWith: []string{stranger}},
		ecssim.Image{ID: "m-cmk00002", Region: elsewhere, Owner: owner, Encryption: ecssim.EncryptionCMK},
	)
	cfg.Limits.EncryptedShareRegions = []string{region}
	withRole := cfg
	withRole.Roles = []ecssim.Role{{Account: owner, Name: ecssim.ShareEncryptedImageRole, TrustedServices: []string{friend + "@ecs.aliyuncs.com"}}}

	cases := []struct {
		reason         string
		cfg            ecssim.Config
		image, region  string
		add, remove    []string
		want, wantText string
	}{
		{reason: "a service-key image is never shared", cfg: withRole, image: "m-service01", region: region, add: []string{friend},
			want: ecssim.CodeServiceKeyEncrypted, wantText: "CopyImage"},
		{reason: "a service-key image can be unshared", cfg: withRole, image: "m-service01", region: region, remove: []string{stranger}},
		{reason: "a CMK image without the share role", cfg: cfg, image: "m-cmk00001", region: region, add: []string{friend},
			want: ecssim.CodeAssumeRoleError, wantText: ecssim.ShareEncryptedImageRole},
		{reason: "a CMK image to an account the role trusts", cfg: withRole, image: "m-cmk00001", region: region, add: []string{friend}},
		{reason: "a CMK image to an account the role does not trust", cfg: withRole, image: "m-cmk00001", region: region, add: []string{friend, stranger},
			want: ecssim.CodeAssumeRoleError, wantText: stranger + "@ecs.aliyuncs.com"},
		{reason: "a CMK image where encrypted images cannot be shared", cfg: withRole, image: "m-cmk00002", region: elsewhere, add: []string{friend},
			want: ecssim.CodeEncryptedSnapshot},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			sim, srv := simtest.Serve(t, tc.cfg)
			before, err := sim.SharedWith(tc.region, tc.image)
			if err != nil {
				t.Fatal(err)
			}
			req := &ecs.ModifyImageSharePermissionRequest{RegionId: tea.String(tc.region), ImageId: tea.String(tc.image)}
			if len(tc.add) > 0 {
				req.AddAccount = tea.StringSlice(tc.add)
			}
			if len(tc.remove) > 0 {
				req.RemoveAccount = tea.StringSlice(tc.remove)
			}
			_, err = ownerClient(t, srv).ModifyImageSharePermission(req)
			if got := code(t, err); got != tc.want {
				t.Fatalf("%s: %q (%v), want %q", tc.reason, got, err, tc.want)
			}
			after, _ := sim.SharedWith(tc.region, tc.image)
			if err != nil {
				if !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("%s: the error %q does not say %q", tc.reason, err, tc.wantText)
				}
				if !slices.Equal(before, after) {
					t.Errorf("%s: a refused call changed the shares from %v to %v", tc.reason, before, after)
				}
				return
			}
			wantAfter := slices.DeleteFunc(append(slices.Clone(before), tc.add...), func(a string) bool { return slices.Contains(tc.remove, a) })
			slices.Sort(after)
			slices.Sort(wantAfter)
			if !slices.Equal(after, wantAfter) {
				t.Errorf("%s: shared with %v, want %v", tc.reason, after, wantAfter)
			}
		})
	}

	// DescribeImages tells an encrypted image by its disks.
	_, srv := simtest.Serve(t, cfg)
	resp, err := ownerClient(t, srv).DescribeImages(&ecs.DescribeImagesRequest{RegionId: tea.String(region), ImageId: tea.String("m-cmk00001," + imageID)})
	if err != nil {
		t.Fatal(err)
	}
	encrypted := map[string]string{}
	for _, im := range resp.Body.Images.Image {
		for _, d := range im.DiskDeviceMappings.DiskDeviceMapping {
			encrypted[tea.StringValue(im.ImageId)] += tea.StringValue(d.Encrypted)
		}
	}
	if diff := cmp.Diff(map[string]string{"m-cmk00001": "true", imageID: "false"}, encrypted); diff != "" {
		t.Errorf("DescribeImages' disks' Encrypted: -want, +got:\n%s", diff)
	}
}

// TestImageStateValidation refuses families and encryptions ECS would not
// have, naming the image.
func TestImageStateValidation(t *testing.T) {
	for _, tc := range []struct {
		reason  string
		im      ecssim.Image
		wantErr string
	}{
		{reason: "a family with a space", im: ecssim.Image{Family: "golden ubuntu"}, wantErr: "family"},
		{reason: "a family with a reserved prefix", im: ecssim.Image{Family: "acs:golden"}, wantErr: "family"},
		{reason: "an unknown encryption", im: ecssim.Image{Encryption: "aes"}, wantErr: "encryption"},
	} {
		cfg := testConfig()
		tc.im.ID, tc.im.Region, tc.im.Owner = "m-invalid01", region, owner
		cfg.Images = append(cfg.Images, tc.im)
		_, err := ecssim.New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "m-invalid01") {
			t.Errorf("%s: Load gave %v, want an error naming m-invalid01 and %q", tc.reason, err, tc.wantErr)
		}
	}
}
