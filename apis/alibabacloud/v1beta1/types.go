package v1beta1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProviderConfigSpec says how to reach ECS: with which credentials, at which
// endpoint, within which timeouts. Every provider configuration kind, in
// either scope, shares it.
// +kubebuilder:validation:XValidation:rule="!has(self.endpoint) || !self.endpoint.startsWith('http://') || self.endpoint.matches('^http://(localhost|127[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}|[[]::1[]])(:[0-9]+)?/?$') || (has(self.allowPlainHTTP) && self.allowPlainHTTP)",message="endpoint uses plain http to a host that is not loopback, which would send requests and STS tokens in clear: use https, or set allowPlainHTTP: true if the network is trusted"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || !has(self.endpoint) || self.endpoint.startsWith('https://')",message="tls applies only to an https endpoint: remove tls or use an https:// endpoint"
type ProviderConfigSpec struct {
	// Credentials of the Alibaba Cloud account (or RAM user) that owns the
	// images to share. It needs ecs:DescribeImageSharePermission and
	// ecs:ModifyImageSharePermission.
	Credentials ProviderCredentials `json:"credentials"`

	// Endpoint overrides the ECS endpoint, as a URL with scheme and host, such
	// as https://ecs-vpc.cn-hangzhou.aliyuncs.com (a VPC endpoint) or
	// http://127.0.0.1:8080 (a local ECS simulator). When empty, the public
	// endpoint of each resource's region is used. Plain http sends requests,
	// and any STS security token, in clear: it is accepted only for a
	// loopback host (localhost, 127.0.0.0/8, [::1]) unless allowPlainHTTP is
	// set.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^/?#@ ]+/?$')",message="endpoint must be a URL with an http or https scheme and a host, and nothing else, e.g. https://ecs-vpc.cn-hangzhou.aliyuncs.com"
	Endpoint *string `json:"endpoint,omitempty"`

	// AllowPlainHTTP permits an http:// endpoint whose host is not loopback.
	// Requests, and any STS security token, then cross the network in clear,
	// readable and alterable by anyone on the path: set it only for a
	// network you trust entirely, such as a test cluster's.
	// +optional
	AllowPlainHTTP bool `json:"allowPlainHTTP,omitempty"`

	// TLS verifies the ECS endpoint against a private certificate authority,
	// e.g. for a private endpoint or a TLS-inspecting proxy.
	// +optional
	TLS *TLS `json:"tls,omitempty"`

	// Timeouts bound every ECS call.
	// +optional
	Timeouts *Timeouts `json:"timeouts,omitempty"`
}

// TLS configures how the ECS endpoint's certificate is verified. It is always
// verified: there is no way to skip verification.
type TLS struct {
	// CABundleSecretRef is a key of a Secret that holds the PEM certificates
	// of the authorities that sign the endpoint's certificate. They replace
	// the system's roots for this configuration's calls. A namespaced
	// ProviderConfig may only use a Secret in its own namespace.
	CABundleSecretRef xpv2.SecretKeySelector `json:"caBundleSecretRef"`
}

// Timeouts of ECS calls.
type Timeouts struct {
	// Connect bounds establishing a connection to ECS. Defaults to 5s.
	// +optional
	Connect *metav1.Duration `json:"connect,omitempty"`
	// Read bounds a whole ECS call, from sending the request to reading the
	// answer. Defaults to 20s.
	// +optional
	Read *metav1.Duration `json:"read,omitempty"`
}

// ProviderCredentials say where the credentials document is. It is JSON:
// {"accessKeyId": "...", "accessKeySecret": "...", "securityToken": "..."}
// (securityToken only for STS credentials). The keys provider-upjet-alibabacloud
// uses, access_key, secret_key and security_token, are accepted too.
// +kubebuilder:validation:XValidation:rule="self.source != 'Secret' || has(self.secretRef)",message="credentials.secretRef is required when the source is Secret"
// +kubebuilder:validation:XValidation:rule="self.source != 'Environment' || has(self.env)",message="credentials.env is required when the source is Environment"
// +kubebuilder:validation:XValidation:rule="self.source != 'Filesystem' || has(self.fs)",message="credentials.fs is required when the source is Filesystem"
type ProviderCredentials struct {
	// Source of the credentials document: a key of a Secret, an environment
	// variable of the provider's process, or a file in its filesystem.
	// +kubebuilder:validation:Enum=Secret;Environment;Filesystem
	Source xpv2.CredentialsSource `json:"source"`

	xpv2.CommonCredentialSelectors `json:",inline"`
}

// A ProviderConfigStatus is the observed state of a provider configuration.
type ProviderConfigStatus struct {
	xpv2.ProviderConfigStatus `json:",inline"`
}

// A ProviderConfig configures how namespaced Alibaba Cloud managed resources
// in its own namespace reach ECS. Whoever can write it is a tenant of that
// namespace, so it may only read Secrets in the same namespace, and never
// the provider pod's own environment, files or identity: those are for a
// ClusterProviderConfig, which only cluster administrators write.
// +kubebuilder:object:root=true
// +kubebuilder:validation:XValidation:rule="self.spec.credentials.source == 'Secret'",message="a namespaced ProviderConfig may only use credentials.source Secret, with a Secret in its own namespace: the Environment and Filesystem sources read the provider pod's own environment and files, which only a ClusterProviderConfig may use"
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="SECRET-NAME",type="string",JSONPath=".spec.credentials.secretRef.name",priority=1
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,alibabacloud}
type ProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProviderConfigSpec   `json:"spec"`
	Status ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderConfigList contains a list of ProviderConfig.
type ProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfig `json:"items"`
}

// A ClusterProviderConfig configures how namespaced Alibaba Cloud managed
// resources in any namespace reach ECS. Its credentials Secret may be in any
// namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="SECRET-NAME",type="string",JSONPath=".spec.credentials.secretRef.name",priority=1
// +kubebuilder:resource:scope=Cluster,categories={crossplane,provider,alibabacloud}
type ClusterProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProviderConfigSpec   `json:"spec"`
	Status ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterProviderConfigList contains a list of ClusterProviderConfig.
type ClusterProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProviderConfig `json:"items"`
}

// A ProviderConfigUsage records that a managed resource uses a
// ProviderConfig or ClusterProviderConfig, so that a configuration in use is
// not deleted.
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="CONFIG-NAME",type="string",JSONPath=".providerConfigRef.name"
// +kubebuilder:printcolumn:name="RESOURCE-KIND",type="string",JSONPath=".resourceRef.kind"
// +kubebuilder:printcolumn:name="RESOURCE-NAME",type="string",JSONPath=".resourceRef.name"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,alibabacloud}
type ProviderConfigUsage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	xpv2.TypedProviderConfigUsage `json:",inline"`
}

// +kubebuilder:object:root=true

// ProviderConfigUsageList contains a list of ProviderConfigUsage.
type ProviderConfigUsageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfigUsage `json:"items"`
}

// A ClusterProviderConfigUsage is the cluster-scoped usage kind Crossplane's
// package manager expects beside the other three configuration kinds. This
// provider records every usage, of either configuration kind, as a
// namespaced ProviderConfigUsage beside the managed resource.
// +kubebuilder:object:root=true
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="CONFIG-NAME",type="string",JSONPath=".providerConfigRef.name"
// +kubebuilder:printcolumn:name="RESOURCE-KIND",type="string",JSONPath=".resourceRef.kind"
// +kubebuilder:printcolumn:name="RESOURCE-NAME",type="string",JSONPath=".resourceRef.name"
// +kubebuilder:resource:scope=Cluster,categories={crossplane,provider,alibabacloud}
type ClusterProviderConfigUsage struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	xpv2.TypedProviderConfigUsage `json:",inline"`
}

// +kubebuilder:object:root=true

// ClusterProviderConfigUsageList contains a list of ClusterProviderConfigUsage.
type ClusterProviderConfigUsageList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterProviderConfigUsage `json:"items"`
}
