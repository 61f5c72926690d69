package v1beta1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
)

// An ImageSharePermissionSpec defines the desired share.
type ImageSharePermissionSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	// ForProvider names the share: which image, in which region, with which account.
	ForProvider common.ImageSharePermissionParameters `json:"forProvider"`
}

// An ImageSharePermissionStatus is the observed share.
type ImageSharePermissionStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	// AtProvider is the share as ECS last reported it.
	AtProvider common.ImageSharePermissionObservation `json:"atProvider,omitempty"`
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
func (mg *ImageSharePermission) GetParameters() common.ImageSharePermissionParameters {
	return mg.Spec.ForProvider
}

// GetObservation returns what ECS last reported.
func (mg *ImageSharePermission) GetObservation() common.ImageSharePermissionObservation {
	return mg.Status.AtProvider
}

// SetObservation records what ECS reports.
func (mg *ImageSharePermission) SetObservation(o common.ImageSharePermissionObservation) {
	mg.Status.AtProvider = o
}
