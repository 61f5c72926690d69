// Package v1beta1 holds the cluster-scoped ECS managed resources of the
// ecs.alibabacloud.crossplane.io group, for Crossplane v1 style compositions.
// +kubebuilder:object:generate=true
// +groupName=ecs.alibabacloud.crossplane.io
// +versionName=v1beta1
package v1beta1
