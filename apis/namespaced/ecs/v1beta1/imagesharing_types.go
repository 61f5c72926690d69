package v1beta1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
)

// An ImageSharingSpec defines the desired sharing of an image.
type ImageSharingSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	// ForProvider names the image or family, the region and the accounts.
	ForProvider common.ImageSharingParameters `json:"forProvider"`
}

// An ImageSharingStatus is the observed sharing.
type ImageSharingStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	// AtProvider is the sharing as ECS last reported it.
	AtProvider common.ImageSharingObservation `json:"atProvider,omitempty"`
}

// An ImageSharing shares one custom ECS image, or the newest versions of an
// image family, with a list of Alibaba Cloud accounts in one region. Its
// external name is the image ID, or family/<region>/<family>.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name"
// +kubebuilder:printcolumn:name="REGION",type="string",JSONPath=".spec.forProvider.region"
// +kubebuilder:printcolumn:name="IMAGE",type="string",JSONPath=".status.atProvider.images[0].imageId"
// +kubebuilder:printcolumn:name="EXCLUSIVE",type="boolean",JSONPath=".spec.forProvider.exclusive",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,alibabacloud}
type ImageSharing struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageSharingSpec   `json:"spec"`
	Status ImageSharingStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ImageSharingList contains a list of ImageSharing.
type ImageSharingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageSharing `json:"items"`
}

// GetParameters returns what the resource asks for; both scopes offer it so
// one controller serves them.
func (mg *ImageSharing) GetParameters() common.ImageSharingParameters {
	return mg.Spec.ForProvider
}

// GetObservation returns what ECS last reported: the images it names are
// those the resource manages, until it unshares them.
func (mg *ImageSharing) GetObservation() common.ImageSharingObservation {
	return mg.Status.AtProvider
}

// SetObservation records what ECS reports.
func (mg *ImageSharing) SetObservation(o common.ImageSharingObservation) {
	mg.Status.AtProvider = o
}
