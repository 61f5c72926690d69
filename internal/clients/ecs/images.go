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

// Image is one version of an image family as DescribeImages reports it.
type Image struct {
	ID     string
	Family string
	// Status is ECS's: Available, Deprecated, Creating, Waiting,
	// UnAvailable or CreateFailed.
	Status string
	// CreationTime is when the image was created, in UTC; zero if ECS did
	// not say, or said it in a form not understood.
	CreationTime time.Time
}

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
	// maxFamilyPages is how many pages of the largest size hold
	// MaxFamilyVersions.
	maxFamilyPages = MaxFamilyVersions / pageSize
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
	var images []Image
	seen := map[string]bool{}
	for page := int32(1); ; page++ {
		body, err := call(ctx, c, ActionDescribeImages, func(sdk *ecssdk.Client) (*ecssdk.DescribeImagesResponseBody, error) {
			resp, err := sdk.DescribeImages(&ecssdk.DescribeImagesRequest{
				RegionId:        tea.String(c.region),
				ImageFamily:     tea.String(family),
				ImageOwnerAlias: tea.String(ownerSelf),
				Status:          tea.String(allImageStatuses),
				PageNumber:      tea.Int32(page),
				PageSize:        tea.Int32(pageSize),
			})
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		})
		if err != nil {
			return nil, err
		}
		if body != nil && body.TotalCount != nil && int64(*body.TotalCount) > MaxFamilyVersions {
			return nil, tooLarge(family, c.region, fmt.Sprintf("ECS counts %d", *body.TotalCount))
		}
		var listed []*ecssdk.DescribeImagesResponseBodyImagesImage
		if body != nil && body.Images != nil {
			listed = body.Images.Image
		}
		images = appendVersions(images, seen, family, listed)
		if len(listed) < pageSize || (body.TotalCount != nil && int64(page)*pageSize >= int64(*body.TotalCount)) {
			break
		}
		if page == maxFamilyPages {
			return nil, tooLarge(family, c.region, fmt.Sprintf("%d pages of %d were full", maxFamilyPages, pageSize))
		}
	}
	slices.SortFunc(images, func(a, b Image) int {
		if n := b.CreationTime.Compare(a.CreationTime); n != 0 {
			return n
		}
		return strings.Compare(a.ID, b.ID)
	})
	return images, nil
}

// appendVersions appends the family's versions among listed that seen does
// not hold yet, and marks them seen.
func appendVersions(images []Image, seen map[string]bool, family string, listed []*ecssdk.DescribeImagesResponseBodyImagesImage) []Image {
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
		if (f != "" && f != family) || (owner != "" && owner != ownerSelf) {
			continue
		}
		seen[id] = true
		images = append(images, Image{ID: id, Family: family, Status: tea.StringValue(im.Status), CreationTime: creationTime(im.CreationTime)})
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
