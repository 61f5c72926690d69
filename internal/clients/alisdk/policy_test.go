package alisdk_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
)

func TestEndpointPolicy(t *testing.T) {
	cases := []struct {
		reason string
		policy string
		host   string
		want   bool
	}{
		{reason: "the default admits a public endpoint", policy: alisdk.DefaultTenantEndpoints, host: "ecs.cn-hangzhou.aliyuncs.com", want: true},
		{reason: "the default admits a VPC endpoint on any port", policy: alisdk.DefaultTenantEndpoints, host: "sts-vpc.cn-hangzhou.aliyuncs.com:443", want: true},
		{reason: "names are compared case-insensitively, a trailing dot aside", policy: alisdk.DefaultTenantEndpoints, host: "ECS.aliyuncs.com.", want: true},
		{reason: "the domain itself is not under it", policy: alisdk.DefaultTenantEndpoints, host: "aliyuncs.com", want: false},
		{reason: "a look-alike suffix is not the domain", policy: alisdk.DefaultTenantEndpoints, host: "evilaliyuncs.com", want: false},
		{reason: "a name that merely contains the domain is not under it", policy: alisdk.DefaultTenantEndpoints, host: "ecs.aliyuncs.com.evil.example", want: false},
		{reason: "the default refuses loopback", policy: alisdk.DefaultTenantEndpoints, host: "127.0.0.1:8080", want: false},
		{reason: "the default refuses the metadata address", policy: alisdk.DefaultTenantEndpoints, host: "100.100.100.200", want: false},
		{reason: "an IP pattern admits that address on any port", policy: "127.0.0.1", host: "127.0.0.1:8080", want: true},
		{reason: "an IPv6 pattern admits the same address however written", policy: "[::1]:9000", host: "[0:0:0:0:0:0:0:1]:9000", want: true},
		{reason: "a port pattern admits that port only", policy: "127.0.0.1:8080", host: "127.0.0.1:9090", want: false},
		{reason: "a port pattern refuses the scheme's default port", policy: "ecs.internal:8443", host: "ecs.internal", want: false},
		{reason: "one of several patterns admits", policy: "*.aliyuncs.com, ecs.internal.example", host: "ecs.internal.example", want: true},
	}
	for _, tc := range cases {
		p, err := alisdk.ParseEndpointPolicy(tc.policy)
		if err != nil {
			t.Fatalf("%s\nParseEndpointPolicy(%q): %v", tc.reason, tc.policy, err)
		}
		if diff := cmp.Diff(tc.want, p.Admits(tc.host)); diff != "" {
			t.Errorf("%s\n%q admits %q: -want, +got:\n%s", tc.reason, tc.policy, tc.host, diff)
		}
	}
}

func TestEndpointPolicyRefusesBadPatterns(t *testing.T) {
	for _, tc := range []struct{ reason, policy string }{
		{"an empty policy would admit nothing, which is surely a mistake", " , "},
		{"a bare wildcard would admit every host", "*"},
		{"a wildcard inside a name is not supported", "ecs.*.aliyuncs.com"},
		{"a URL is not a host", "https://ecs.aliyuncs.com"},
		{"a port must be a number", "ecs.aliyuncs.com:http"},
	} {
		if _, err := alisdk.ParseEndpointPolicy(tc.policy); err == nil {
			t.Errorf("%s: ParseEndpointPolicy(%q) accepted it", tc.reason, tc.policy)
		}
	}
}
