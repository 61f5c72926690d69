package v1beta1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
)

// A ProviderConfig configures how namespaced Alibaba Cloud managed resources
// in its own namespace reach ECS. Whoever can write it is a tenant of that
// namespace, so it may only read Secrets in the same namespace (and assume
// roles with them), and never the provider pod's own environment, files or
// identity (RRSA, ECSRole): those are for a ClusterProviderConfig, which
// only cluster administrators write.
// +kubebuilder:object:root=true
// +kubebuilder:validation:XValidation:rule="self.spec.credentials.source == 'Secret'",message="a namespaced ProviderConfig may only use credentials.source Secret, with a Secret in its own namespace, and an assumeRoleChain on top: the Environment, Filesystem, RRSA and ECSRole sources use the provider pod's own environment, files and identity, which only a ClusterProviderConfig may use"
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="SOURCE",type="string",JSONPath=".spec.credentials.source"
// +kubebuilder:printcolumn:name="IDENTITY",type="string",JSONPath=".status.identity.arn"
// +kubebuilder:printcolumn:name="SECRET-NAME",type="string",JSONPath=".spec.credentials.secretRef.name",priority=1
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,provider,alibabacloud}
type ProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   common.ProviderConfigSpec   `json:"spec"`
	Status common.ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderConfigList contains a list of ProviderConfig.
type ProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProviderConfig `json:"items"`
}

// A ClusterProviderConfig configures how namespaced Alibaba Cloud managed
// resources reach ECS, in every namespace its namespaceSelector admits (all,
// without one). Its credentials Secret may be in any namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="SOURCE",type="string",JSONPath=".spec.credentials.source"
// +kubebuilder:printcolumn:name="IDENTITY",type="string",JSONPath=".status.identity.arn"
// +kubebuilder:printcolumn:name="SECRET-NAME",type="string",JSONPath=".spec.credentials.secretRef.name",priority=1
// +kubebuilder:resource:scope=Cluster,categories={crossplane,provider,alibabacloud}
type ClusterProviderConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterProviderConfigSpec   `json:"spec"`
	Status common.ProviderConfigStatus `json:"status,omitempty"`
}

// ClusterProviderConfigSpec is how to reach ECS, as for every provider
// configuration kind, and which namespaces may use it. Only this kind has
// a namespaceSelector: a namespaced ProviderConfig serves its own namespace
// alone, and a cluster-scoped ProviderConfig serves cluster-scoped
// resources, which have no namespace.
type ClusterProviderConfigSpec struct {
	common.ProviderConfigSpec `json:",inline"`

	// NamespaceSelector selects the namespaces whose managed resources may
	// use this ClusterProviderConfig, by the namespaces' labels; the
	// provider refuses a resource in any other namespace. Without it every
	// namespace may, as before the field existed; an empty selector ({})
	// selects every namespace too. Set it on a ClusterProviderConfig with
	// credentials not every tenant may use, and let only cluster
	// administrators label namespaces. The label kubernetes.io/metadata.name,
	// which Kubernetes sets to each namespace's name, selects namespaces by
	// name. The provider needs get, list and watch on namespaces to check it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist'])",message="namespaceSelector.matchExpressions[].operator must be In, NotIn, Exists or DoesNotExist"
	// +kubebuilder:validation:XValidation:rule="!has(self.matchExpressions) || self.matchExpressions.all(e, !(e.operator in ['In', 'NotIn', 'Exists', 'DoesNotExist']) || (e.operator in ['In', 'NotIn']) == (has(e.values) && size(e.values) > 0))",message="namespaceSelector.matchExpressions[].values must be non-empty for the operators In and NotIn, and empty for Exists and DoesNotExist"
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
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
