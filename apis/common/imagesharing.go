package common

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageSharingParameters say which image, or which image family, is shared
// with which accounts, in one region.
// +kubebuilder:validation:XValidation:rule="has(self.imageId) != has(self.imageFamily)",message="set exactly one of imageId and imageFamily"
// +kubebuilder:validation:XValidation:rule="!has(self.keepPreviousVersions) || self.keepPreviousVersions == 0 || has(self.imageFamily)",message="keepPreviousVersions applies only to an imageFamily"
// +kubebuilder:validation:XValidation:rule="has(self.imageId) == has(oldSelf.imageId) && has(self.imageFamily) == has(oldSelf.imageFamily)",message="imageId and imageFamily are immutable: create a new ImageSharing instead"
type ImageSharingParameters struct {
	// Region of the image, such as cn-hangzhou. Image sharing is regional.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z]{2,}(-[a-z0-9]+)+$')",message="region must be an Alibaba Cloud region ID such as cn-hangzhou or ap-southeast-1"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="region is immutable: create a new ImageSharing instead"
	Region string `json:"region"`

	// ImageID of the custom image to share, such as m-bp1g7004ksh0oeuco4y5.
	// It must be an image of the account whose credentials the provider
	// uses. Set exactly one of imageId and imageFamily.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^m-[a-zA-Z0-9]+$')",message="imageId must be a custom image ID such as m-bp1g7004ksh0oeuco4y5"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="imageId is immutable: create a new ImageSharing instead"
	ImageID string `json:"imageId,omitempty"`

	// ImageFamily to follow, such as golden-base. Its newest Available image
	// (as DescribeImageFromFamily and instances launched from the family
	// see it) is shared with every account, within one poll of becoming the
	// newest; older versions beyond keepPreviousVersions are unshared.
	// Only the images of the account whose credentials the provider uses
	// count. Set exactly one of imageId and imageFamily.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z][a-zA-Z0-9:_-]+$') && !self.startsWith('aliyun') && !self.startsWith('acs:')",message="imageFamily must be an ECS image family name: 2 to 128 letters, digits, colons, underscores and hyphens, starting with a letter, not with aliyun or acs:"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="imageFamily is immutable: create a new ImageSharing instead"
	ImageFamily string `json:"imageFamily,omitempty"`

	// Accounts are the numeric IDs (UIDs) of the Alibaba Cloud accounts to
	// share with, such as 1234567890123456. An account removed from the
	// list is unshared.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:items:MaxLength=20
	// +kubebuilder:validation:XValidation:rule="self.all(a, a.matches('^[0-9]+$'))",message="accounts must be numeric IDs of Alibaba Cloud accounts, such as 1234567890123456"
	Accounts []string `json:"accounts,omitempty"`

	// KeepPreviousVersions is how many versions of the family before its
	// newest Available one stay shared with the accounts, newest first; 0,
	// the default, shares only the newest. Versions beyond them are
	// unshared. Only with imageFamily.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	KeepPreviousVersions int32 `json:"keepPreviousVersions,omitempty"`

	// Exclusive makes the list authoritative: accounts not listed are
	// unshared from every image this ImageSharing manages, except those
	// another ImageSharePermission or ImageSharing of this provider
	// manages. Off by default, because it removes shares that someone else
	// made.
	// +optional
	Exclusive bool `json:"exclusive,omitempty"`
}

// ExternalName is what an ImageSharing manages: the image ID, or
// family/<region>/<family>; image IDs are unique across regions, family
// names only within one.
func (p ImageSharingParameters) ExternalName() string {
	if p.ImageFamily != "" {
		return imageFamilyPrefix + p.Region + "/" + p.ImageFamily
	}
	return p.ImageID
}

const imageFamilyPrefix = "family/"

// ValidImageSharingExternalName reports whether name has the form of an
// ImageSharing's external name: an image ID or family/<region>/<family>.
func ValidImageSharingExternalName(name string) bool {
	if rest, ok := strings.CutPrefix(name, imageFamilyPrefix); ok {
		region, family, ok := strings.Cut(rest, "/")
		return ok && region != "" && family != "" && !strings.Contains(family, "/")
	}
	return strings.HasPrefix(name, "m-") && len(name) > 2 && !strings.ContainsAny(name, "/:")
}

// ImageSharingObservation is the sharing of the images an ImageSharing
// manages, as ECS last reported it.
type ImageSharingObservation struct {
	// Images are the images the accounts are to have: the image, or the
	// family's kept versions, newest first.
	// +optional
	// +listType=atomic
	Images []SharedImage `json:"images,omitempty"`
	// RetiredImages are the family's former versions, no longer kept, that
	// some of the listed accounts (or, if exclusive, any account) still
	// have: the next reconcile unshares them.
	// +optional
	// +listType=atomic
	RetiredImages []string `json:"retiredImages,omitempty"`
	// RemovedAccounts are accounts removed from the list that an image
	// this ImageSharing manages is still shared with: the next reconcile
	// unshares them.
	// +optional
	// +listType=atomic
	RemovedAccounts []string `json:"removedAccounts,omitempty"`
}

// SharedImage is one image and who has it.
type SharedImage struct {
	// ImageID of the image.
	ImageID string `json:"imageId"`
	// CreationTime of the image, for a family's version.
	// +optional
	CreationTime *metav1.Time `json:"creationTime,omitempty"`
	// SharedAccounts are the listed accounts the image is shared with.
	// +optional
	// +listType=atomic
	SharedAccounts []string `json:"sharedAccounts,omitempty"`
	// MissingAccounts are the listed accounts it is not yet shared with.
	// +optional
	// +listType=atomic
	MissingAccounts []string `json:"missingAccounts,omitempty"`
	// UnlistedAccounts are the accounts it is shared with that are not
	// listed: someone else's shares, left alone unless exclusive.
	// +optional
	// +listType=atomic
	UnlistedAccounts []string `json:"unlistedAccounts,omitempty"`
	// AdoptedAccounts are the listed accounts that already had the image
	// when this ImageSharing first saw it, or first listed them: their
	// shares were taken over, not made. An account whose share was removed outside the provider
	// and shared again by it is no longer among them.
	// +optional
	// +listType=atomic
	AdoptedAccounts []string `json:"adoptedAccounts,omitempty"`
	// HeldAccounts are the unlisted accounts an exclusive ImageSharing
	// leaves shared because another ImageSharePermission or ImageSharing
	// of this provider manages their share of the image.
	// +optional
	// +listType=atomic
	HeldAccounts []string `json:"heldAccounts,omitempty"`
}
