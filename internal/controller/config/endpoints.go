package config

import (
	"fmt"

	alibabacloudv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/alibabacloud/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/sts"
)

// endpointRules keeps requests where the operator allows them. A tenant's
// ProviderConfig names its endpoints, so without a rule it could point the
// provider at any host the provider's pod can reach: its own loopback, the
// cluster's services, the metadata address, or a server of the tenant's
// own that answers to hurt. The operator's ClusterProviderConfigs and
// cluster-scoped ProviderConfigs are not restricted, except that the
// provider's service account token (RRSA) only ever goes where a tenant's
// requests may.
type endpointRules struct {
	// policy is the operator's --tenant-endpoints.
	policy alisdk.EndpointPolicy
}

// newEndpointRules applies policy, or alisdk.DefaultTenantEndpoints if it
// is the zero value.
func newEndpointRules(policy alisdk.EndpointPolicy) endpointRules {
	if policy.String() == "" {
		p, err := alisdk.ParseEndpointPolicy(alisdk.DefaultTenantEndpoints)
		if err != nil {
			panic(err) // The default is a constant that parses.
		}
		policy = p
	}
	return endpointRules{policy: policy}
}

// tenant checks both endpoints of a namespaced ProviderConfig; region is
// the ECS region to be called, "" when ECS is not.
func (e endpointRules) tenant(pc *alibabacloudv1beta1.ProviderConfig, region string) error {
	where := fmt.Sprintf("ProviderConfig %s/%s", pc.Namespace, pc.Name)
	if u := pc.Spec.Endpoint; u != nil && *u != "" {
		if err := e.check(where, "spec.endpoint", *u); err != nil {
			return err
		}
	} else if region != "" {
		// The SDK's default for the region; checked too, so that a policy
		// without Alibaba Cloud's hosts admits only what it lists.
		if err := e.check(where, "the default ECS endpoint", "https://ecs."+region+".aliyuncs.com"); err != nil {
			return err
		}
	}
	stsURL := sts.DefaultEndpoint
	if u := pc.Spec.STSEndpoint; u != nil && *u != "" {
		stsURL = *u
	}
	return e.check(where, "spec.stsEndpoint", stsURL)
}

// rrsa checks where an RRSA exchange would send the service account token.
func (e endpointRules) rrsa(stsURL string) error {
	return e.check("source RRSA", "the STS endpoint it sends the service account token to", stsURL)
}

func (e endpointRules) check(where, field, u string) error {
	host, _, err := alisdk.ParseEndpoint(u)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", where, field, err)
	}
	if e.policy.Admits(host) {
		return nil
	}
	return fmt.Errorf("%s: %s's host %s is not one the provider's operator admits (--tenant-endpoints=%s): "+
		"use an Alibaba Cloud endpoint such as https://ecs-vpc.cn-hangzhou.aliyuncs.com, or ask the operator to add the host to --tenant-endpoints",
		where, field, alisdk.Clip(host, 100), e.policy)
}
