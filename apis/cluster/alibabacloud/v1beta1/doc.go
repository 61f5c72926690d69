// Package v1beta1 holds the cluster-scoped provider configuration kinds of
// the alibabacloud.crossplane.io group: ProviderConfig and its usage.
// Cluster-scoped managed resources use them.
// +kubebuilder:object:generate=true
// +groupName=alibabacloud.crossplane.io
// +versionName=v1beta1
package v1beta1
