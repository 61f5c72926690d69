// Package apis contains the Kubernetes API of the provider: namespaced kinds
// in the *.m.crossplane.io groups and cluster-scoped kinds beside them.
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	clusteralibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/alibabacloud/v1beta1"
	clusterecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/cluster/ecs/v1beta1"
	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
)

var builder = runtime.SchemeBuilder{
	alibabacloudv1beta1.SchemeBuilder.AddToScheme,
	ecsv1beta1.SchemeBuilder.AddToScheme,
	clusteralibabacloudv1beta1.SchemeBuilder.AddToScheme,
	clusterecsv1beta1.SchemeBuilder.AddToScheme,
}

// AddToScheme adds every kind of the provider to a scheme.
func AddToScheme(s *runtime.Scheme) error { return builder.AddToScheme(s) }
