package importer

import (
	"context"
	"fmt"
	"slices"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
)

// Lister reads what an import needs of ECS in one region: an ecs.Client.
type Lister interface {
	ListOwnImages(ctx context.Context, f ecs.ImageFilter) ([]ecs.Image, error)
	ListShares(ctx context.Context, imageID string) ([]ecs.Share, error)
}

// FromECS reads the shares of the caller's own images in region that f
// picks: of each image ECS says is shared (IsSelfShared), and of every
// image f names by ID, whatever ECS says, since the user asked for it. An
// image named that is not the caller's, or not in region, is an error:
// the import would otherwise silently leave its shares out.
func FromECS(ctx context.Context, l Lister, region string, f ecs.ImageFilter) ([]Share, error) {
	images, err := l.ListOwnImages(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, id := range f.IDs {
		if !slices.ContainsFunc(images, func(im ecs.Image) bool { return im.ID == id }) {
			return nil, fmt.Errorf("image %s is not an image of the account's own in %s: check its ID and region", id, region)
		}
	}
	var out []Share
	for _, im := range images {
		if !im.SelfShared && len(f.IDs) == 0 {
			continue
		}
		shares, err := l.ListShares(ctx, im.ID)
		if err != nil {
			return nil, fmt.Errorf("cannot read the shares of image %s: %w", im.ID, err)
		}
		for _, s := range shares {
			out = append(out, Share{Region: region, ImageID: im.ID, AccountID: s.AccountID})
		}
	}
	return out, nil
}
