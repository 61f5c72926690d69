package ecssim

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Image families: a family's versions are images that name it, and its
// newest Available one is what instances launched "from the family" get.
// ECS resolves a family among the images the caller can see: its own,
// those shared with it, and public ones.

// creationTimeLayout is how ECS writes an image's CreationTime.
const creationTimeLayout = "2006-01-02T15:04:05Z"

// newerThan orders a family's versions: the later CreationTime, then the
// later put.
func (im *image) newerThan(other *image) bool {
	if !im.CreationTime.Equal(other.CreationTime) {
		return im.CreationTime.After(other.CreationTime)
	}
	return im.seq > other.seq
}

// visibleTo reports whether account sees the image: it owns it, the image
// is public, or a share visible now names the account.
func (im *image) visibleTo(account string, now time.Time, lag time.Duration) bool {
	return im.Owner == account || im.IsPublic ||
		slices.ContainsFunc(im.visibleShares(now, lag), func(sh *share) bool { return sh.account == account })
}

// newestOfFamily is the newest Available version of family in region that
// account sees, or nil.
func (s *Simulator) newestOfFamily(region, family, account string, now time.Time) *image {
	var newest *image
	lag := s.faults.cfg.VisibilityLag.Duration
	for k, im := range s.images {
		if k.region != region || im.Family != family || im.Status != StatusAvailable || !im.visibleTo(account, now, lag) {
			continue
		}
		if newest == nil || im.newerThan(newest) {
			newest = im
		}
	}
	return newest
}

type familyImage struct {
	ImageID         string `json:"ImageId,omitempty"`
	ImageName       string `json:"ImageName,omitempty"`
	ImageFamily     string `json:"ImageFamily,omitempty"`
	ImageOwnerAlias string `json:"ImageOwnerAlias,omitempty"`
	Status          string `json:"Status,omitempty"`
	CreationTime    string `json:"CreationTime,omitempty"`
}

type describeImageFromFamilyResponse struct {
	requestMeta
	Image familyImage `json:"Image"`
}

// describeImageFromFamily answers the newest Available image of the family
// the caller sees. A family with none answers an empty Image, not an error:
// the documentation names no error for it, and an empty answer is what a
// caller must handle either way.
func (s *Simulator) describeImageFromFamily(c call) (answer, *APIError) {
	region, family := c.params.Get("RegionId"), c.params.Get("ImageFamily")
	switch {
	case region == "":
		return nil, errMissing("RegionId")
	case family == "":
		return nil, errMissing("ImageFamily")
	case !familyPattern.MatchString(family) || hasReservedPrefix(family):
		return nil, errInvalidParam("ImageFamily")
	}
	resp := &describeImageFromFamilyResponse{}
	if im := s.newestOfFamily(region, family, c.account, c.now); im != nil {
		alias := "self"
		if im.Owner != c.account {
			alias = "others"
		}
		resp.Image = familyImage{ImageID: im.ID, ImageName: im.Name, ImageFamily: im.Family, ImageOwnerAlias: alias,
			Status: im.Status, CreationTime: im.CreationTime.UTC().Format(creationTimeLayout)}
	}
	return resp, nil
}

// PublishVersion puts im as the family's newest version in region, as an
// image pipeline building a new golden image would: Available, created
// now, or a second after the family's newest version if the clock has not
// passed it. Its owner defaults to that of the family's newest version.
// It returns the image as stored.
func (s *Simulator) PublishVersion(region, family string, im Image) (Image, error) {
	im.Region, im.Family, im.Status = region, family, StatusAvailable
	s.mu.Lock()
	defer s.mu.Unlock()
	var newest *image
	for k, v := range s.images {
		if k.region == region && v.Family == family && (newest == nil || v.newerThan(newest)) {
			newest = v
		}
	}
	if im.Owner == "" && newest != nil {
		im.Owner = newest.Owner
	}
	if err := im.validate(); err != nil {
		return Image{}, err
	}
	if !s.accounts[im.Owner] {
		return Image{}, fmt.Errorf("owner %q is not a known account: name one, or publish into a family that has versions", im.Owner)
	}
	if s.images[imageKey{region, im.ID}] != nil {
		return Image{}, fmt.Errorf("image %s already exists in %s", im.ID, region)
	}
	im.CreationTime = s.clock().UTC().Truncate(time.Second)
	if newest != nil && !im.CreationTime.After(newest.CreationTime) {
		im.CreationTime = newest.CreationTime.Add(time.Second)
	}
	s.putImage(im, s.clock())
	return s.images[imageKey{region, im.ID}].Image, nil
}

// checkEncrypted refuses to share an encrypted image as ECS does: never
// one encrypted with the service key; one encrypted with a CMK only where
// encrypted images can be shared and only to accounts that the owner's
// ShareEncryptedImageRole trusts (as <account>@ecs.aliyuncs.com), since
// ECS assumes that role to let each account use the key. Removing shares
// is never refused.
func (s *Simulator) checkEncrypted(im *image, adds []string) *APIError {
	if im.Encryption == "" || len(adds) == 0 {
		return nil
	}
	if im.Encryption == EncryptionServiceKey {
		return apiErr(http.StatusForbidden, CodeServiceKeyEncrypted,
			"The image is encrypted with the service key and cannot be shared. Copy it with CopyImage, encrypting the copy with a customer-managed KMS key, and share the copy.")
	}
	if regions := s.seed.Limits.EncryptedShareRegions; len(regions) > 0 && !slices.Contains(regions, im.Region) {
		return apiErr(http.StatusForbidden, CodeEncryptedSnapshot,
			"Encrypted images cannot be shared in region %s.", im.Region)
	}
	role, ok := s.roles[RoleARN(im.Owner, ShareEncryptedImageRole)]
	if !ok {
		return apiErr(http.StatusForbidden, CodeAssumeRoleError,
			"Requires a RAM role of %s before sharing encrypted image.", ShareEncryptedImageRole)
	}
	for _, a := range adds {
		if !slices.Contains(role.TrustedServices, a+"@"+ecsService) {
			return apiErr(http.StatusForbidden, CodeAssumeRoleError,
				"The RAM role %s cannot be assumed for account %s: its trust policy must name %s@%s.", ShareEncryptedImageRole, a, a, ecsService)
		}
	}
	return nil
}
