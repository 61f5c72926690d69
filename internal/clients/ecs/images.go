package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	ecssdk "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"
)

// Image is one of the caller's own images, such as a version of an image
// family, as DescribeImages reports it.
type Image struct {
	ID     string
	Name   string
	Family string
	// Status is ECS's: Available, Deprecated, Creating, Waiting,
	// UnAvailable or CreateFailed.
	Status string
	// CreationTime is when the image was created, in UTC; zero if ECS did
	// not say, or said it in a form not understood.
	CreationTime time.Time
	// SelfShared is whether ECS says the image is shared with any account
	// (IsSelfShared).
	SelfShared bool
}

// ImageFilter picks the caller's own images: those of IDs, or of Family,
// or, with neither, all of them.
type ImageFilter struct {
	IDs    []string
	Family string
}

// MaxOwnImages is the most images ListOwnImages reads: an account's custom
// images in one region are far fewer (ECS's quota starts at 100), and a
// listing that is not is not read without bound.
const MaxOwnImages = 10000

// ImageStatusAvailable is the status of an image that can be launched and
// shared; ECS refuses to share an image in any other.
const ImageStatusAvailable = "Available"

// MaxFamilyVersions is the most images ListFamily reads of one family. A
// family is not something to page through at every poll without bound:
// past this, ListFamily fails with ErrFamilyTooLarge.
const MaxFamilyVersions = 5000

// ErrFamilyTooLarge is wrapped by ListFamily's error for a family of more
// than MaxFamilyVersions images. Trying again will not help until images
// leave the family.
var ErrFamilyTooLarge = fmt.Errorf("image family has more than %d images", MaxFamilyVersions)

const (
	// allImageStatuses asks DescribeImages for images of every status: it
	// answers only Available ones when Status is not given.
	allImageStatuses = "Creating,Waiting,Available,UnAvailable,CreateFailed,Deprecated"
	// ownerSelf is the ImageOwnerAlias of the caller's own images.
	ownerSelf = "self"
)

// creationTimeLayouts read ECS's CreationTime, "2006-01-02T15:04:05Z", and
// would still read it with fractions or an offset (RFC 3339), or without
// seconds, as some ECS APIs write times.
var creationTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04Z07:00"}

func (c *client) ListFamily(ctx context.Context, family string) ([]Image, error) {
	if family == "" {
		return nil, errors.New("ListFamily needs an image family name")
	}
	images, err := c.describeOwn(ctx, ImageFilter{Family: family}, nil, MaxFamilyVersions, func(why string) error {
		return tooLarge(family, c.region, why)
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(images, func(a, b Image) int {
		if n := b.CreationTime.Compare(a.CreationTime); n != 0 {
			return n
		}
		return strings.Compare(a.ID, b.ID)
	})
	return images, nil
}

func (c *client) ListOwnImages(ctx context.Context, f ImageFilter) ([]Image, error) {
	tooMany := func(why string) error {
		return fmt.Errorf("%s in %s: more than %d images of the account's own (%s): name the images or a family", ActionDescribeImages, c.region, MaxOwnImages, why)
	}
	if len(f.IDs) == 0 {
		images, err := c.describeOwn(ctx, f, nil, MaxOwnImages, tooMany)
		slices.SortFunc(images, func(a, b Image) int { return strings.Compare(a.ID, b.ID) })
		return images, err
	}
	// DescribeImages takes up to 100 IDs a call.
	var images []Image
	for ids := range slices.Chunk(f.IDs, pageSize) {
		got, err := c.describeOwn(ctx, f, ids, MaxOwnImages, tooMany)
		if err != nil {
			return nil, err
		}
		images = append(images, got...)
	}
	slices.SortFunc(images, func(a, b Image) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(images, func(a, b Image) bool { return a.ID == b.ID }), nil
}

// describeOwn pages through DescribeImages for the caller's own images of
// every status that f's family and ids (either may be empty) pick, up to
// limit; past it, tooMany says why.
func (c *client) describeOwn(ctx context.Context, f ImageFilter, ids []string, limit int, tooMany func(why string) error) ([]Image, error) {
	var images []Image
	seen := map[string]bool{}
	maxPages := (limit + pageSize - 1) / pageSize
	for page := int32(1); ; page++ {
		body, err := call(ctx, c, ActionDescribeImages, func(sdk *ecssdk.Client) (*ecssdk.DescribeImagesResponseBody, error) {
			req := &ecssdk.DescribeImagesRequest{
				RegionId:        tea.String(c.region),
				ImageOwnerAlias: tea.String(ownerSelf),
				Status:          tea.String(allImageStatuses),
				PageNumber:      tea.Int32(page),
				PageSize:        tea.Int32(pageSize),
			}
			if f.Family != "" {
				req.ImageFamily = tea.String(f.Family)
			}
			if len(ids) > 0 {
				req.ImageId = tea.String(strings.Join(ids, ","))
			}
			resp, err := sdk.DescribeImages(req)
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		})
		if err != nil {
			return nil, err
		}
		if body != nil && body.TotalCount != nil && int64(*body.TotalCount) > int64(limit) {
			return nil, tooMany(fmt.Sprintf("ECS counts %d", *body.TotalCount))
		}
		var listed []*ecssdk.DescribeImagesResponseBodyImagesImage
		if body != nil && body.Images != nil {
			listed = body.Images.Image
		}
		images = appendImages(images, seen, f.Family, listed)
		if len(listed) < pageSize || (body.TotalCount != nil && int64(page)*pageSize >= int64(*body.TotalCount)) {
			return images, nil
		}
		if int(page) == maxPages {
			return nil, tooMany(fmt.Sprintf("%d pages of %d were full", maxPages, pageSize))
		}
	}
}

// appendImages appends the images among listed that seen does not hold
// yet, and marks them seen; with a family, only that family's.
func appendImages(images []Image, seen map[string]bool, family string, listed []*ecssdk.DescribeImagesResponseBodyImagesImage) []Image {
	for _, im := range listed {
		if im == nil {
			continue
		}
		id := tea.StringValue(im.ImageId)
		if id == "" || seen[id] {
			// An image created while the pages are read shifts the rest by
			// one, so the next page repeats an image.
			continue
		}
		// ECS filters by family and owner; an answer that did not is not
		// trusted to, so that no other family's image, nor another
		// account's, is ever taken for a version of this one.
		f, owner := tea.StringValue(im.ImageFamily), tea.StringValue(im.ImageOwnerAlias)
		if (family != "" && f != "" && f != family) || (owner != "" && owner != ownerSelf) {
			continue
		}
		if family != "" {
			f = family
		}
		seen[id] = true
		images = append(images, Image{
			ID: id, Name: tea.StringValue(im.ImageName), Family: f, Status: tea.StringValue(im.Status),
			CreationTime: creationTime(im.CreationTime), SelfShared: strings.EqualFold(tea.StringValue(im.IsSelfShared), "true"),
		})
	}
	return images
}

// tooLarge is ListFamily's error for a family past MaxFamilyVersions.
func tooLarge(family, region, why string) error {
	return fmt.Errorf("%s of family %q in %s: %w (%s); delete its old images, or move them to another family (ModifyImageAttribute)",
		ActionDescribeImages, family, region, ErrFamilyTooLarge, why)
}

// creationTime parses ECS's CreationTime. Like SharedTime it is reported as
// zero, not as a failed read, when missing or in an unexpected form: such
// an image sorts as the oldest.
func creationTime(s *string) time.Time {
	v := tea.StringValue(s)
	if v == "" {
		return time.Time{}
	}
	for _, layout := range creationTimeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
