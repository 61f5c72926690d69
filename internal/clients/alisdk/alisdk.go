// Package alisdk holds what every client of this provider does the same way
// when it drives an Alibaba Cloud SDK (darabonba-openapi over tea): which
// endpoints it may call, the bounded HTTP client every call goes through
// (transport.go), how calls in flight are kept apart on SDK clients, and
// credentials handed to the SDK per call.
package alisdk

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	credential "github.com/aliyun/credentials-go/credentials"
)

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
		return "", "", errors.New("the endpoint must not have a path: Alibaba Cloud's RPC APIs are served at /")
	case p.RawQuery != "" || p.ForceQuery || p.Fragment != "" || strings.Contains(u, "#"):
		return "", "", errors.New("the endpoint must not have a query or a fragment")
	case !validPort(p.Port()):
		return "", "", errors.New("the endpoint's port must be a number from 1 to 65535")
	}
	return p.Host, p.Scheme, nil
}

// CheckEndpoint parses an endpoint URL as ParseEndpoint does and refuses what
// would expose a request: plain http leaves the signed request and any STS
// token readable, and a replayable signature alterable, by anyone on the
// path. Only loopback, which never leaves the machine, is exempt unless
// allowPlainHTTP says the network is trusted. A CA bundle with plain http is
// refused because it would suggest a verification that never happens. An
// empty URL means the SDK's default host over https.
func CheckEndpoint(u string, allowPlainHTTP bool, caBundle []byte) (host, protocol string, err error) {
	if len(caBundle) > 0 && !x509.NewCertPool().AppendCertsFromPEM(caBundle) {
		return "", "", errors.New("the CA bundle holds no PEM certificate: want one or more -----BEGIN CERTIFICATE----- blocks")
	}
	if u == "" {
		return "", "https", nil
	}
	host, protocol, err = ParseEndpoint(u)
	if err != nil {
		return "", "", err
	}
	if protocol == "http" && !allowPlainHTTP && !isLoopback(host) {
		return "", "", errors.New("the endpoint uses plain http to a host that is not loopback, which would send requests and STS tokens in clear: " +
			"use https, or allow plain http explicitly (allowPlainHTTP) if the network is trusted")
	}
	if protocol == "http" && len(caBundle) > 0 {
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

// Milliseconds is how the SDK takes timeouts. It rounds up because the SDK
// reads 0 as "no timeout"; d == 0 means def.
func Milliseconds(d, def time.Duration) int {
	if d == 0 {
		d = def
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

// Calls in parallel through one SDK client race: the SDK client clears its
// debug RPC headers on every call, and a call's credentials and context are
// set on the SDK client it runs on. So each call in flight takes a slot of
// its own (TakeSlot) and runs on an SDK client for that slot: no SDK client
// is ever used by two calls at once, and a client holds at most as many SDK
// clients as it ever had calls in flight. The slots are shared by every
// client of the process (ECS and STS alike).
var slots = &slotPool{}

// TakeSlot returns a number no other call in flight holds, reusing the
// numbers of finished calls. The caller gives it back with GiveSlot once its
// SDK call has returned.
func TakeSlot() int { return slots.take() }

// GiveSlot returns a slot taken by TakeSlot.
func GiveSlot(slot int) { slots.give(slot) }

type slotPool struct {
	mu   sync.Mutex
	free []int
	next int
}

func (p *slotPool) take() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	p.next++
	return p.next - 1
}

func (p *slotPool) give(s int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, s)
}

// Credential is what an SDK client signs its next request with. darabonba
// asks its client's Credential for the keys on every request, so setting it
// on an SDK client that no other call uses makes these keys that call's.
// Unlike credentials-go's builders it never looks anywhere else: an empty
// field stays empty rather than being filled from ALIBABA_CLOUD_* variables,
// profiles or the instance metadata, which in a multi-tenant provider would
// be another tenant's identity.
func Credential(accessKeyID, accessKeySecret, securityToken string) credential.Credential {
	typ := "access_key"
	if securityToken != "" {
		typ = "sts"
	}
	return &fixedCredential{m: credential.CredentialModel{
		AccessKeyId:     tea.String(accessKeyID),
		AccessKeySecret: tea.String(accessKeySecret),
		SecurityToken:   tea.String(securityToken),
		Type:            tea.String(typ),
	}}
}

type fixedCredential struct{ m credential.CredentialModel }

// String keeps the secret and the token out of any %v of an SDK client.
func (f *fixedCredential) String() string {
	return fmt.Sprintf("{AccessKeyID: %s, AccessKeySecret: REDACTED, SecurityToken: REDACTED}", tea.StringValue(f.m.AccessKeyId))
}

// GoString does for %#v what String does for %v.
func (f *fixedCredential) GoString() string { return f.String() }

func (f *fixedCredential) GetCredential() (*credential.CredentialModel, error) {
	m := f.m
	return &m, nil
}

//nolint:revive // credentials-go's interface names it so.
func (f *fixedCredential) GetAccessKeyId() (*string, error)     { return f.m.AccessKeyId, nil }
func (f *fixedCredential) GetAccessKeySecret() (*string, error) { return f.m.AccessKeySecret, nil }
func (f *fixedCredential) GetSecurityToken() (*string, error)   { return f.m.SecurityToken, nil }
func (f *fixedCredential) GetBearerToken() *string              { return tea.String("") }
func (f *fixedCredential) GetType() *string                     { return f.m.Type }

// SDKClients holds one SDK client per call slot, each made on first use
// from one configuration, and the HTTP client all of them call through, so
// that no SDK client serves two calls at once and no call uses tea's
// process-wide HTTP pool. T is the product's SDK client type.
type SDKClients[T any] struct {
	config  openapi.Config
	newSDK  func(*openapi.Config) (T, error)
	base    func(T) *openapi.Client
	product string
	http    *HTTP

	mu      sync.Mutex
	clients map[int]T
}

// NewSDKClients returns the SDK clients of config, made by newSDK, calling
// through an HTTP client configured by o; base gives the openapi client each
// product's SDK client embeds. It builds the first SDK client, so that a
// configuration the SDK refuses fails here rather than on the first call.
func NewSDKClients[T any](config openapi.Config, o HTTPOptions, newSDK func(*openapi.Config) (T, error), base func(T) *openapi.Client) (*SDKClients[T], error) {
	h, err := NewHTTP(o)
	if err != nil {
		return nil, fmt.Errorf("cannot create the %s client: %w", o.Product, err)
	}
	// Set on every SDK client, so that not even a call made outside Call
	// goes through tea's pool.
	config.HttpClient = h.For(context.Background())
	s := &SDKClients[T]{config: config, newSDK: newSDK, base: base, product: o.Product, http: h, clients: map[int]T{}}
	if _, err := s.sdk(0); err != nil {
		return nil, err
	}
	return s, nil
}

// sdk returns the SDK client of a call slot.
func (s *SDKClients[T]) sdk(slot int) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sdk, ok := s.clients[slot]; ok {
		return sdk, nil
	}
	cfg := s.config
	sdk, err := s.newSDK(&cfg)
	if err != nil {
		// The SDK's configuration errors name no credential.
		var zero T
		return zero, fmt.Errorf("cannot create the %s client: %w", s.product, err)
	}
	s.clients[slot] = sdk
	return sdk, nil
}

// Endpoint is the host the SDK clients call, as the SDK resolved it.
func (s *SDKClients[T]) Endpoint() string {
	sdk, err := s.sdk(0)
	if err != nil {
		return ""
	}
	return tea.StringValue(s.base(sdk).Endpoint)
}

// Close closes the idle connections of the HTTP client; calls in flight
// end by their deadlines.
func (s *SDKClients[T]) Close() { s.http.Close() }

// Call runs fn on an SDK client of a call slot of its own, signed with cred
// (nil: anonymous), its HTTP calls bound to ctx: when ctx ends, so does the
// call, with no goroutine or socket left behind.
func Call[T, R any](ctx context.Context, s *SDKClients[T], cred credential.Credential, fn func(T) (R, error)) (R, error) {
	slot := TakeSlot()
	defer GiveSlot(slot)
	sdk, err := s.sdk(slot)
	if err != nil {
		var zero R
		return zero, err
	}
	base := s.base(sdk)
	// The slot is this call's alone until it returns, so no other call
	// reads or writes this SDK client's Credential or HttpClient meanwhile.
	base.Credential = cred
	base.HttpClient = s.http.For(ctx)
	return fn(sdk)
}

// TransportAdvice explains a call to product at host that got no answer,
// cause being what the SDK returned; field names the configuration field
// that sets the endpoint.
func TransportAdvice(product, host, field string, cause error) string {
	var refused *RefusedAnswer
	if errors.As(cause, &refused) {
		return fmt.Sprintf("%s at %s %s (check the %s); will retry", product, host, refused.Why, field)
	}
	var unknownCA x509.UnknownAuthorityError
	var badCert *tls.CertificateVerificationError
	if errors.As(cause, &unknownCA) || errors.As(cause, &badCert) {
		return fmt.Sprintf("%s at %s presented a certificate that is not trusted (%v): check the %s, "+
			"or trust the authority that signs it with the configuration's tls.caBundleSecretRef", product, host, errors.Unwrap(cause), field)
	}
	var u *url.Error
	if errors.As(cause, &u) {
		what := "was unreachable"
		if u.Timeout() {
			what = "did not answer in time"
		}
		// url.Error's own text quotes the request URL, which for an RPC
		// call holds the signature and any security token; its cause
		// does not.
		return fmt.Sprintf("%s at %s %s (%v); will retry", product, host, what, u.Err)
	}
	return fmt.Sprintf("%s at %s did not answer as %s does (is the %s right, or is a proxy in the way?); will retry", product, host, product, field)
}
