package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/metadata"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/sessions"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/sts"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/controller/clientcache"
)

// What ACK's pod identity webhook injects into a pod whose service account
// has an RRSA role. Source RRSA, and nothing else, falls back to them.
const (
	envRoleARN         = "ALIBABA_CLOUD_ROLE_ARN"
	envOIDCProviderARN = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
	envOIDCTokenFile   = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"
	envSTSEndpoint     = "ALIBABA_CLOUD_STS_ENDPOINT"
)

// Session defaults, as Terraform's and credentials-go's, but with a session
// name that says who acted in ActionTrail.
const (
	defaultSessionName = "crossplane-provider-alibabacloud-ecs"
	defaultDuration    = time.Hour
	// sessionsIdleAfter is how long a configuration's sessions outlive its
	// last use. Resources reconcile at least once per poll.
	sessionsIdleAfter = 30 * time.Minute
)

// The CRD checks these too; the environment is checked here.
var (
	roleARNPattern     = regexp.MustCompile(`^acs:ram::[0-9]{1,20}:role/[A-Za-z0-9._-]{1,64}$`)
	providerARNPattern = regexp.MustCompile(`^acs:ram::[0-9]{1,20}:oidc-provider/[A-Za-z0-9._-]{1,128}$`)
)

// CredentialOptions are the provider-wide settings of the credential
// sources, which only the provider's operator chooses.
type CredentialOptions struct {
	// LookupEnv reads the provider's environment, for source RRSA's
	// defaults only; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// MetadataEndpoint is the ECS instance metadata service that source
	// ECSRole asks; empty means the real one.
	MetadataEndpoint string
	// UserAgent is appended to every STS call's User-Agent, as ECS calls
	// carry it, so that ActionTrail tells which replica called.
	UserAgent string
}

// credentialSources keeps one self-renewing credential source per
// configuration and content, so that all of a configuration's resources,
// and its identity check, share its STS sessions: one AssumeRole per hop
// per session, not one per reconcile.
type credentialSources struct {
	lookupEnv        func(string) (string, bool)
	metadataEndpoint string
	userAgent        string
	cache            *clientcache.Cache[ecs.CredentialSource]
}

func newCredentialSources(o CredentialOptions) *credentialSources {
	lookupEnv := o.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	return &credentialSources{
		lookupEnv:        lookupEnv,
		metadataEndpoint: o.MetadataEndpoint,
		userAgent:        o.UserAgent,
		cache:            clientcache.New[ecs.CredentialSource](sessionsIdleAfter),
	}
}

// plan is everything a configuration's credential source is built from,
// with every default applied. Its fingerprint keys the cache, so a changed
// ProviderConfig, Secret or environment gets new sessions by itself; it
// holds no secret, only a hash of the fixed keys.
type plan struct {
	Source   string
	Static   string
	RRSA     *sessions.OIDCTokenFile
	ECSRole  *string
	Metadata string
	Chain    []sts.AssumeRoleInput
	STS      stsEndpoint

	static    ecs.Credentials
	caBundle  []byte
	userAgent string
}

// stsEndpoint is sts.Endpoint with the CA bundle by its hash.
type stsEndpoint struct {
	URL            string
	AllowPlainHTTP bool
	CA             string
	Connect        time.Duration
	Read           time.Duration
}

// fingerprint hashes the plan's exported fields as fmt prints them. The
// unexported ones are left out: the fixed keys and the CA bundle count by
// their hashes (Static, STS.CA), and fmt would print the keys in clear,
// since it cannot call their redacting String method on an unexported
// field.
func (p plan) fingerprint() string {
	p.static, p.caBundle, p.userAgent = ecs.Credentials{}, nil, ""
	return hash(fmt.Sprintf("%+v", p))
}

// get returns the credential source of a configuration, named name, whose
// fixed keys (if its source is a credentials document) are static.
func (c *credentialSources) get(name string, spec common.ProviderConfigSpec, static ecs.Credentials, t transport) (ecs.CredentialSource, error) {
	p, err := c.plan(spec, static, t)
	if err != nil {
		return nil, err
	}
	return c.cache.Get(name+"/"+p.fingerprint(), p.build)
}

func (c *credentialSources) plan(spec common.ProviderConfigSpec, static ecs.Credentials, t transport) (plan, error) {
	p := plan{Source: string(spec.Credentials.Source), static: static, caBundle: t.caBundle, userAgent: c.userAgent}
	p.STS = stsEndpoint{URL: sts.DefaultEndpoint, AllowPlainHTTP: spec.AllowPlainHTTP, Connect: t.connect, Read: t.read}
	if len(t.caBundle) > 0 {
		p.STS.CA = hash(string(t.caBundle))
	}
	switch spec.Credentials.Source {
	case common.CredentialsSourceRRSA:
		in, err := c.rrsa(spec.Credentials.RRSA)
		if err != nil {
			return plan{}, err
		}
		p.RRSA = &in
		if spec.STSEndpoint == nil {
			p.STS.URL = cmp.Or(c.injectedSTSEndpoint(), p.STS.URL)
		}
	case common.CredentialsSourceECSRole:
		role := ""
		if r := spec.Credentials.ECSRole; r != nil && r.RoleName != nil {
			role = *r.RoleName
		}
		p.ECSRole = &role
		p.Metadata = c.metadataEndpoint
	default:
		p.Static = hash(static.AccessKeyID + "\x00" + static.AccessKeySecret + "\x00" + static.SecurityToken)
	}
	if spec.STSEndpoint != nil {
		p.STS.URL = *spec.STSEndpoint
	}
	for _, h := range spec.AssumeRoleChain {
		in := sts.AssumeRoleInput{RoleARN: h.RoleARN, SessionName: defaultSessionName, Duration: defaultDuration}
		if h.ExternalID != nil {
			in.ExternalID = *h.ExternalID
		}
		if h.SessionName != nil {
			in.SessionName = *h.SessionName
		}
		if h.DurationSeconds != nil {
			in.Duration = time.Duration(*h.DurationSeconds) * time.Second
		}
		if h.Policy != nil {
			in.Policy = *h.Policy
		}
		p.Chain = append(p.Chain, in)
	}
	return p, nil
}

// rrsa fills source RRSA's settings from the pod's environment where the
// configuration leaves them out, and checks what the environment gave.
func (c *credentialSources) rrsa(r *common.RRSACredentials) (sessions.OIDCTokenFile, error) {
	if r == nil {
		r = &common.RRSACredentials{}
	}
	pick := func(field *string, env string) string {
		if field != nil {
			return *field
		}
		v, _ := c.lookupEnv(env)
		return strings.TrimSpace(v)
	}
	in := sessions.OIDCTokenFile{
		RoleARN:     pick(r.RoleARN, envRoleARN),
		ProviderARN: pick(r.OIDCProviderARN, envOIDCProviderARN),
		TokenFile:   pick(r.OIDCTokenFile, envOIDCTokenFile),
		SessionName: defaultSessionName,
		Duration:    defaultDuration,
	}
	if r.SessionName != nil {
		in.SessionName = *r.SessionName
	}
	if r.DurationSeconds != nil {
		in.Duration = time.Duration(*r.DurationSeconds) * time.Second
	}
	const hint = "or give the provider's pod an RRSA identity (ACK's pod identity webhook sets %s)"
	switch {
	case in.RoleARN == "":
		return in, fmt.Errorf("source RRSA needs a role: set credentials.rrsa.roleARN, "+hint, envRoleARN)
	case !roleARNPattern.MatchString(in.RoleARN):
		return in, fmt.Errorf("source RRSA: the role %q (from %s) is not a role ARN such as acs:ram::1234567890123456:role/image-sharer", in.RoleARN, envRoleARN)
	case in.ProviderARN == "":
		return in, fmt.Errorf("source RRSA needs the cluster's OIDC provider: set credentials.rrsa.oidcProviderARN, "+hint, envOIDCProviderARN)
	case !providerARNPattern.MatchString(in.ProviderARN):
		return in, fmt.Errorf("source RRSA: %q (from %s) is not an OIDC provider ARN such as acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1234", in.ProviderARN, envOIDCProviderARN)
	case in.TokenFile == "":
		return in, fmt.Errorf("source RRSA needs the service account token: set credentials.rrsa.oidcTokenFile, "+hint, envOIDCTokenFile)
	case !strings.HasPrefix(in.TokenFile, "/"):
		return in, fmt.Errorf("source RRSA: the token file %q (from %s) is not an absolute path", in.TokenFile, envOIDCTokenFile)
	}
	return in, nil
}

// injectedSTSEndpoint is the STS endpoint ACK's pod identity webhook
// injected, if any, as a URL.
func (c *credentialSources) injectedSTSEndpoint() string {
	endpoint, _ := c.lookupEnv(envSTSEndpoint)
	if endpoint = strings.TrimSpace(endpoint); endpoint != "" && !strings.Contains(endpoint, "://") {
		// The webhook injects a bare host, e.g. sts-vpc.cn-hangzhou.aliyuncs.com.
		endpoint = "https://" + endpoint
	}
	return endpoint
}

// build makes the source a plan describes: the base identity, then each
// hop of the chain signed by the one before.
func (p plan) build() (ecs.CredentialSource, error) {
	var client *sts.Client
	if p.RRSA != nil || len(p.Chain) > 0 {
		var err error
		if client, err = p.stsClient(); err != nil {
			return nil, err
		}
	}
	var src sessions.Source
	switch {
	case p.RRSA != nil:
		src = sessions.OIDC(client, *p.RRSA)
	case p.ECSRole != nil:
		md, err := metadata.New(p.Metadata, 0)
		if err != nil {
			return nil, err
		}
		src = sessions.ECSRole(md, *p.ECSRole)
	default:
		src = sessions.Static(p.static)
	}
	for _, hop := range p.Chain {
		src = sessions.AssumeRole(client, src, hop)
	}
	return src, nil
}

func (p plan) stsClient() (*sts.Client, error) {
	c, err := sts.New(sts.Endpoint{URL: p.STS.URL, AllowPlainHTTP: p.STS.AllowPlainHTTP, CABundle: p.caBundle,
		ConnectTimeout: p.STS.Connect, ReadTimeout: p.STS.Read, UserAgent: p.userAgent})
	if err != nil {
		return nil, fmt.Errorf("stsEndpoint: %w", err)
	}
	return c, nil
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
