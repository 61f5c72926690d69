// Package v1beta1 holds the namespaced provider configuration kinds of the
// alibabacloud.m.crossplane.io group: ProviderConfig, ClusterProviderConfig
// and their usages. Namespaced managed resources use them.
// +kubebuilder:object:generate=true
// +groupName=alibabacloud.m.crossplane.io
// +versionName=v1beta1
package v1beta1
