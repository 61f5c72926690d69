package ecs

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

// Defaults for the timeouts the SDK otherwise leaves unbounded.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 20 * time.Second
)

// Config is what New needs to reach ECS in one region as one account.
type Config struct {
	// Region, e.g. cn-hangzhou, is required. It is set on every request
	// because the SDK does not copy it from its own configuration.
	Region string
	// Endpoint is an optional URL such as
	// "https://ecs-vpc.cn-hangzhou.aliyuncs.com" or "http://127.0.0.1:8080";
	// empty means the SDK's default for Region. Plain http is refused unless
	// the host is loopback or AllowPlainHTTP is set.
	Endpoint string
	// AllowPlainHTTP permits plain http to a host that is not loopback.
	AllowPlainHTTP bool
	// CABundle, PEM certificates, replaces the system's roots for verifying
	// an https endpoint.
	CABundle    []byte
	Credentials Credentials
	// ConnectTimeout bounds establishing a connection; 0 means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// ReadTimeout bounds a whole call once connected; 0 means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// UserAgent is appended to the SDK's User-Agent, so that ECS's records
	// (ActionTrail) tell which provider, and which replica of it, called.
	UserAgent string

	// Pacer, if set, spaces the client's calls. It is shared by every client
	// of the same account and region.
	Pacer Pacer
	// Metrics, if set, records every call.
	Metrics *metrics.ECS
}

// regionPattern admits region ids only. Without an Endpoint the SDK builds
// the host name from the region, so anything else could point the signed
// request at another host.
var regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (c Config) validate() error {
	var errs []error
	switch {
	case c.Region == "":
		errs = append(errs, errors.New("the region is required, e.g. cn-hangzhou"))
	case !regionPattern.MatchString(c.Region):
		errs = append(errs, fmt.Errorf("the region %q is not a region id such as cn-hangzhou", c.Region))
	}
	if c.Credentials.AccessKeyID == "" || c.Credentials.AccessKeySecret == "" {
		errs = append(errs, errors.New("the credentials need both an AccessKey ID and an AccessKey secret"))
	}
	if c.ConnectTimeout < 0 || c.ReadTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if len(c.CABundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.CABundle) {
		errs = append(errs, errors.New("the CA bundle holds no PEM certificate: want one or more -----BEGIN CERTIFICATE----- blocks"))
	}
	return errors.Join(errs...)
}

// endpoint returns the host[:port] and protocol to call, and refuses what
// would expose a request: plain http leaves the signed request and any STS
// token readable, and a replayable signature alterable, by anyone on the
// path. Only loopback, which never leaves the machine, is exempt.
func (c Config) endpoint() (host, protocol string, err error) {
	if c.Endpoint == "" {
		return "", "https", nil
	}
	host, protocol, err = ParseEndpoint(c.Endpoint)
	if err != nil {
		return "", "", err
	}
	if protocol == "http" && !c.AllowPlainHTTP && !isLoopback(host) {
		return "", "", errors.New("the endpoint uses plain http to a host that is not loopback, which would send requests and STS tokens in clear: " +
			"use https, or allow plain http explicitly (allowPlainHTTP) if the network is trusted")
	}
	if protocol == "http" && len(c.CABundle) > 0 {
		return "", "", errors.New("a CA bundle applies only to an https endpoint: remove it or use https")
	}
	return host, protocol, nil
}

// validPort accepts no port, which means the scheme's, or 1..65535.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// isLoopback reports whether host[:port] names this machine: localhost or a
// loopback IP, never a name that merely resolves to one today.
func isLoopback(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// milliseconds is how the SDK takes timeouts. It rounds up because the SDK
// reads 0 as "no timeout".
func milliseconds(d, def time.Duration) int {
	if d == 0 {
		d = def
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// ParseEndpoint turns an endpoint URL into the host[:port] and protocol the
// SDK wants separately: given a scheme in its Endpoint the SDK dials a broken
// URL. Only http and https, with no path but "/", no query, fragment or user
// info, are accepted. Errors do not quote the URL, which might hold a
// password in its user info.
func ParseEndpoint(u string) (host, protocol string, err error) {
	const example = "e.g. https://ecs-vpc.cn-hangzhou.aliyuncs.com"
	if u == "" {
		return "", "", fmt.Errorf("the endpoint is empty: want a URL, %s", example)
	}
	p, err := url.Parse(u)
	switch {
	case err != nil || p.Opaque != "":
		return "", "", fmt.Errorf("the endpoint is not a URL: want scheme://host[:port], %s", example)
	case p.Scheme == "":
		return "", "", fmt.Errorf("the endpoint has no scheme: want http:// or https://, %s", example)
	case p.Scheme != "http" && p.Scheme != "https":
		return "", "", fmt.Errorf("the endpoint's scheme %q is not http or https", p.Scheme)
	case p.User != nil:
		return "", "", errors.New("the endpoint must not contain user info: credentials belong in the credentials Secret")
	case p.Hostname() == "": // ":8080" alone would dial this machine
		return "", "", fmt.Errorf("the endpoint has no host, %s", example)
	case strings.Contains(p.Host, "%"): // decoded from %25; the SDK cannot parse it back
		return "", "", errors.New("the endpoint's host must not contain a percent sign or an IPv6 zone")
	case p.Path != "" && p.Path != "/":
		return "", "", errors.New("the endpoint must not have a path: ECS is served at /")
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "" || strings.Contains(u, "#"):
		return "", "", errors.New("the endpoint must not have a query or a fragment")
	case !validPort(p.Port()):
		return "", "", errors.New("the endpoint's port must be a number from 1 to 65535")
	}
	return p.Host, p.Scheme, nil
}

// Fingerprint identifies what a client built from c would call ECS as and
// where: it differs whenever the credentials, the endpoint, the region, the
// CA bundle or the timeouts do, so a cache keyed by it never hands one
// configuration's client to another. It is a hash, so it names no secret.
// The per-process hooks (UserAgent, Pacer, Metrics) are not part of it.
func (c Config) Fingerprint() string {
	h := sha256.New()
	for _, f := range []string{
		c.Region, c.Endpoint, strconv.FormatBool(c.AllowPlainHTTP), string(c.CABundle),
		c.Credentials.AccessKeyID, c.Credentials.AccessKeySecret, c.Credentials.SecurityToken,
		c.ConnectTimeout.String(), c.ReadTimeout.String(),
	} {
		// Length-prefixed, so that no two field lists run together alike.
		_, _ = fmt.Fprintf(h, "%d:%s;", len(f), f) // A hash takes every write.
	}
	return hex.EncodeToString(h.Sum(nil))
}
