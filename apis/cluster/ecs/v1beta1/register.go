package v1beta1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "ecs.alibabacloud.crossplane.io"
	Version = "v1beta1"
)

var (
	// SchemeGroupVersion is group version used to register these objects.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder is used to add go types to the GroupVersionKind scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// ImageSharePermission type metadata.
var (
	ImageSharePermissionKind             = reflect.TypeOf(ImageSharePermission{}).Name()
	ImageSharePermissionGroupKind        = schema.GroupKind{Group: Group, Kind: ImageSharePermissionKind}.String()
	ImageSharePermissionGroupVersionKind = SchemeGroupVersion.WithKind(ImageSharePermissionKind)
)

// ImageSharing type metadata.
var (
	ImageSharingKind             = reflect.TypeOf(ImageSharing{}).Name()
	ImageSharingGroupKind        = schema.GroupKind{Group: Group, Kind: ImageSharingKind}.String()
	ImageSharingGroupVersionKind = SchemeGroupVersion.WithKind(ImageSharingKind)
)

func init() {
	SchemeBuilder.Register(&ImageSharePermission{}, &ImageSharePermissionList{})
	SchemeBuilder.Register(&ImageSharing{}, &ImageSharingList{})
}
