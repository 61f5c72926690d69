package alisdk_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
)

// endpointCanary stands for a password typed into an endpoint URL. '_' and
// '!' cannot occur in a URL scheme, the one part of the input an error may
// name, so the canary showing up in an error means the input was quoted.
const endpointCanary = "Pa55_w0rd!canary"

func FuzzParseEndpoint(f *testing.F) {
	for _, u := range []string{
		"https://ecs-vpc.cn-hangzhou.aliyuncs.com", "http://127.0.0.1:8080", "https://ecs.cn-shanghai.aliyuncs.com/",
		"HTTP://[::1]:8080", "http://localhost", "https://[fe80::1%25eth0]:443",
		"", "ecs.cn-hangzhou.aliyuncs.com", "127.0.0.1:8080", "ftp://ecs.cn-hangzhou.aliyuncs.com",
		"https://ecs.cn-hangzhou.aliyuncs.com/ecs", "https://ecs.cn-hangzhou.aliyuncs.com?a=b", "https://h?",
		"https://ecs.cn-hangzhou.aliyuncs.com#top", "https://LTAIkey:p4ssw0rd@ecs.cn-hangzhou.aliyuncs.com",
		"https://@h", "https://", "https:ecs.cn-hangzhou.aliyuncs.com", "https:///", "http://:8080", "//h",
		"http://h:port", "http://%zz", "http://h\x7f", "http://h/%2F", "https://h/#", "http://a%25b",
	} {
		f.Add(u, uint(0))
		f.Add(u, uint(len(u)/2))
	}
	f.Fuzz(func(t *testing.T, u string, at uint) {
		checkEndpoint(t, u)
		i := int(at % uint(len(u)+1))
		canaried := u[:i] + endpointCanary + u[i:]
		if _, _, err := alisdk.ParseEndpoint(canaried); err != nil && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(endpointCanary)) {
			t.Fatalf("ParseEndpoint(%q): error %q quotes the input", canaried, err)
		}
		checkEndpoint(t, canaried)
	})
}

// checkEndpoint holds an accepted endpoint to the contract: scheme://host
// and at most a "/" after it, nothing silently dropped, and a host the SDK
// can put back into a URL and dial.
func checkEndpoint(t *testing.T, u string) {
	t.Helper()
	host, protocol, err := alisdk.ParseEndpoint(u)
	if err != nil {
		return
	}
	if protocol != "http" && protocol != "https" {
		t.Fatalf("ParseEndpoint(%q) protocol = %q", u, protocol)
	}
	prefix := protocol + "://"
	if len(u) < len(prefix) || !strings.EqualFold(u[:len(prefix)], prefix) {
		t.Fatalf("ParseEndpoint(%q) = %q, %q, but the input does not start with %s", u, host, protocol, prefix)
	}
	// An empty fragment carries nothing, so "#" may end the URL too.
	if rest := strings.TrimSuffix(strings.TrimSuffix(u[len(prefix):], "#"), "/"); strings.ContainsAny(rest, "/?#@") {
		t.Fatalf("ParseEndpoint(%q) = %q, %q, dropping a path, query, fragment or user info", u, host, protocol)
	}
	p, err := url.Parse(prefix + host)
	if err != nil || p.Host != host || p.Hostname() == "" {
		t.Fatalf("ParseEndpoint(%q) host %q is no host name the SDK can dial (reparsed: %v)", u, host, err)
	}
}
