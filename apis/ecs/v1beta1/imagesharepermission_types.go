package v1beta1

import (
	"strings"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
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
}

// An ImageSharePermissionSpec defines the desired share.
type ImageSharePermissionSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	// ForProvider names the share: which image, in which region, with which account.
	ForProvider ImageSharePermissionParameters `json:"forProvider"`
}

// An ImageSharePermissionStatus is the observed share.
type ImageSharePermissionStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	// AtProvider is the share as ECS last reported it.
	AtProvider ImageSharePermissionObservation `json:"atProvider,omitempty"`
}

// An ImageSharePermission shares one custom ECS image with one Alibaba Cloud
// account in one region. Its external name is <image_id>:<account_id>; set
// that annotation yourself to adopt an existing share.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="REGION",type="string",JSONPath=".spec.forProvider.region"
// +kubebuilder:printcolumn:name="IMAGE",type="string",JSONPath=".spec.forProvider.imageId"
// +kubebuilder:printcolumn:name="ACCOUNT",type="string",JSONPath=".spec.forProvider.accountId"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,alibabacloud}
type ImageSharePermission struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageSharePermissionSpec   `json:"spec"`
	Status ImageSharePermissionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageSharePermissionList contains a list of ImageSharePermission.
type ImageSharePermissionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageSharePermission `json:"items"`
}

// GetParameters returns what the resource asks for; both scopes offer it so
// one controller serves them.
func (mg *ImageSharePermission) GetParameters() ImageSharePermissionParameters {
	return mg.Spec.ForProvider
}

// SetObservation records what ECS reports.
func (mg *ImageSharePermission) SetObservation(o ImageSharePermissionObservation) {
	mg.Status.AtProvider = o
}
