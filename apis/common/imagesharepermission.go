package common

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageSharePermissionParameters name one share: a custom image, in one
// region, shared with one account. Nothing can change once set: to share
// another image or with another account, create another resource.
type ImageSharePermissionParameters struct {
	// Region of the image, such as cn-hangzhou. Image sharing is regional.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z]{2,}(-[a-z0-9]+)+$')",message="region must be an Alibaba Cloud region ID such as cn-hangzhou or ap-southeast-1"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="region is immutable: create a new ImageSharePermission instead"
	Region string `json:"region"`

	// ImageID of the custom image to share, such as m-bp1g7004ksh0oeuco4y5.
	// It must be an image of the account whose credentials the provider uses.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^m-[a-zA-Z0-9]+$')",message="imageId must be a custom image ID such as m-bp1g7004ksh0oeuco4y5"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="imageId is immutable: create a new ImageSharePermission instead"
	ImageID string `json:"imageId"`

	// AccountID is the numeric ID (UID) of the Alibaba Cloud account to share
	// the image with, such as 1234567890123456.
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+$')",message="accountId must be the numeric ID of an Alibaba Cloud account, such as 1234567890123456"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="accountId is immutable: create a new ImageSharePermission instead"
	AccountID string `json:"accountId"`
}

// ExternalName is the share's ID in ECS terms, <image_id>:<account_id>, as
// Terraform's alicloud_image_share_permission names it.
func (p ImageSharePermissionParameters) ExternalName() string {
	return p.ImageID + ":" + p.AccountID
}

// ParseExternalName splits <image_id>:<account_id>. ok is false when name
// is not of that form.
func ParseExternalName(name string) (imageID, accountID string, ok bool) {
	imageID, accountID, ok = strings.Cut(name, ":")
	return imageID, accountID, ok && imageID != "" && accountID != "" && !strings.Contains(accountID, ":")
}

// ImageSharePermissionObservation is the share as ECS reports it.
type ImageSharePermissionObservation struct {
	// ID of the share: <image_id>:<account_id>.
	ID string `json:"id,omitempty"`
	// Region of the image.
	Region string `json:"region,omitempty"`
	// ImageID of the shared image.
	ImageID string `json:"imageId,omitempty"`
	// AccountID the image is shared with.
	AccountID string `json:"accountId,omitempty"`
	// SharedTime is when ECS recorded the share.
	SharedTime *metav1.Time `json:"sharedTime,omitempty"`
	// Adopted is true when the share was already in ECS when this resource
	// first looked for it: the provider took it over rather than made it.
	// A share that was removed outside the provider and shared again by it
	// is no longer adopted.
	// +optional
	Adopted bool `json:"adopted,omitempty"`
}
