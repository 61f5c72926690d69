package config

import (
	"cmp"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/common"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/metadata"
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
	// UserAgent is appended to every ECS and STS call's User-Agent, so
	// that ActionTrail tells which replica called.
	UserAgent string
	// TenantEndpoints lists the hosts namespaced ProviderConfigs may send
	// requests to, and RRSA its token; the zero value admits Alibaba
	// Cloud's endpoints only (alisdk.DefaultTenantEndpoints).
	TenantEndpoints alisdk.EndpointPolicy
}

// credentialSources keeps what each configuration's plan builds, its
// self-renewing credential source and STS client, so that all of a
// configuration's resources, and its identity check, share its STS
// sessions: one AssumeRole per hop per session, not one per reconcile.
type credentialSources struct {
	lookupEnv        func(string) (string, bool)
	metadataEndpoint string
	userAgent        string
	// clients are the STS and metadata clients plans build on.
	clients credentials.Clients
	cache   *clientcache.Cache[*credentials.Built]
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
		clients: credentials.Clients{
			NewSTS:      func(e credentials.STSEndpoint) (credentials.STS, error) { return sts.New(e) },
			NewMetadata: func(endpoint string) (credentials.Metadata, error) { return metadata.New(endpoint, 0) },
		},
		cache: clientcache.New(sessionsIdleAfter, (*credentials.Built).Close),
	}
}

// get returns what the plan builds, built once per fingerprint, which is
// the plan's (passed in, since the caller keys more by it).
func (c *credentialSources) get(fingerprint string, p credentials.Plan) (*credentials.Built, error) {
	return c.cache.Get(fingerprint, func() (*credentials.Built, error) { return p.Build(c.clients) })
}

// plan turns a configuration, owned by the object of UID owner, into the
// plan of its credentials; static are its fixed keys, if its source is a
// credentials document.
func (c *credentialSources) plan(owner string, spec common.ProviderConfigSpec, static credentials.Credentials, t transport) (credentials.Plan, error) {
	p := credentials.Plan{Owner: owner, Kind: credentials.BaseStatic, Static: static}
	p.STS = credentials.STSEndpoint{URL: sts.DefaultEndpoint, AllowPlainHTTP: spec.AllowPlainHTTP, CABundle: t.caBundle,
		ConnectTimeout: t.connect, ReadTimeout: t.read, UserAgent: c.userAgent}
	switch spec.Credentials.Source { //nolint:exhaustive // Secret, Environment and Filesystem are the static keys the plan starts from.
	case common.CredentialsSourceRRSA:
		in, err := c.rrsa(spec.Credentials.RRSA)
		if err != nil {
			return credentials.Plan{}, err
		}
		p.Kind, p.Static, p.RRSA = credentials.BaseRRSA, credentials.Credentials{}, in
		if spec.STSEndpoint == nil {
			p.STS.URL = cmp.Or(c.injectedSTSEndpoint(), p.STS.URL)
		}
	case common.CredentialsSourceECSRole:
		p.Kind, p.Static, p.Metadata = credentials.BaseECSRole, credentials.Credentials{}, c.metadataEndpoint
		if r := spec.Credentials.ECSRole; r != nil && r.RoleName != nil {
			p.ECSRole = *r.RoleName
		}
	}
	if spec.STSEndpoint != nil {
		p.STS.URL = *spec.STSEndpoint
	}
	for _, h := range spec.AssumeRoleChain {
		in := credentials.AssumeRoleInput{RoleARN: h.RoleARN, SessionName: defaultSessionName, Duration: defaultDuration}
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
func (c *credentialSources) rrsa(r *common.RRSACredentials) (credentials.OIDCTokenFile, error) {
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
	in := credentials.OIDCTokenFile{
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
