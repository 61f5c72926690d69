// Package v1beta1 holds the namespaced ECS managed resources of the
// ecs.alibabacloud.m.crossplane.io group.
// +kubebuilder:object:generate=true
// +groupName=ecs.alibabacloud.m.crossplane.io
// +versionName=v1beta1
package v1beta1
