package alisdk

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// DefaultTenantEndpoints admits Alibaba Cloud's own endpoints, public and
// VPC (ecs.cn-hangzhou.aliyuncs.com, ecs-vpc.cn-hangzhou.aliyuncs.com,
// sts.aliyuncs.com, sts-vpc.cn-hangzhou.aliyuncs.com), on any port.
const DefaultTenantEndpoints = "*.aliyuncs.com"

// EndpointPolicy lists the hosts a configuration that a tenant writes may
// send requests to. A pattern is a host name or IP literal, or "*." and a
// domain for any name under it, with ":port" to admit one port only
// (default: any). Names are matched as written, never resolved: the policy
// is about where the provider is asked to connect.
type EndpointPolicy struct {
	patterns []hostPattern
	text     string
}

type hostPattern struct {
	host string // lower case; "*.example.com" matches names under it
	port string // "" admits any port
}

var patternHost = regexp.MustCompile(`^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// ParseEndpointPolicy reads a comma-separated list of patterns.
func ParseEndpointPolicy(list string) (EndpointPolicy, error) {
	var p EndpointPolicy
	var texts []string
	for _, raw := range strings.Split(list, ",") {
		raw = strings.ToLower(strings.TrimSpace(raw))
		if raw == "" {
			continue
		}
		hp := hostPattern{host: raw}
		if h, port, err := net.SplitHostPort(raw); err == nil {
			if !validPort(port) || port == "" {
				return EndpointPolicy{}, fmt.Errorf("endpoint pattern %q: the port must be a number from 1 to 65535", raw)
			}
			hp = hostPattern{host: h, port: port}
		}
		if ip := net.ParseIP(strings.Trim(hp.host, "[]")); ip != nil {
			hp.host = ip.String()
		} else if !patternHost.MatchString(hp.host) {
			return EndpointPolicy{}, fmt.Errorf("endpoint pattern %q is not a host name, an IP address or *.domain, with an optional :port", raw)
		}
		p.patterns = append(p.patterns, hp)
		texts = append(texts, raw)
	}
	if len(p.patterns) == 0 {
		return EndpointPolicy{}, errors.New("the endpoint policy admits no host: list at least one pattern, e.g. " + DefaultTenantEndpoints)
	}
	p.text = strings.Join(texts, ",")
	return p, nil
}

// String is the policy as the flag sets it.
func (p EndpointPolicy) String() string { return p.text }

// Admits reports whether a request to hostport (host[:port], as
// ParseEndpoint returns it) is allowed; an empty port is the scheme's.
func (p EndpointPolicy) Admits(hostport string) bool {
	host, port := hostport, ""
	if h, pt, err := net.SplitHostPort(hostport); err == nil {
		host, port = h, pt
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	}
	for _, pat := range p.patterns {
		if pat.port != "" && pat.port != port {
			continue
		}
		if domain, ok := strings.CutPrefix(pat.host, "*."); ok {
			if strings.HasSuffix(host, "."+domain) {
				return true
			}
			continue
		}
		if host == pat.host {
			return true
		}
	}
	return false
}
