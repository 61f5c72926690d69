package credentials

import (
	"context"
	"fmt"
	"time"
)

// STS is what the sources and a plan's identity check ask of an STS client;
// sts.Client is one.
type STS interface {
	// AssumeRole returns a session of in.RoleARN, signed by caller.
	AssumeRole(ctx context.Context, caller Credentials, in AssumeRoleInput) (Session, error)
	// AssumeRoleWithOIDC exchanges an OIDC token for a session of
	// in.RoleARN.
	AssumeRoleWithOIDC(ctx context.Context, in OIDCInput) (Session, error)
	// GetCallerIdentity tells who caller is.
	GetCallerIdentity(ctx context.Context, caller Credentials) (Identity, error)
	// Close frees the client's connections.
	Close()
}

// Metadata is what source ECSRole asks of the ECS instance metadata
// service's client; metadata.Client is one.
type Metadata interface {
	// Credentials returns the session of roleName, or of the role attached
	// to the instance when roleName is empty.
	Credentials(ctx context.Context, roleName string) (Session, error)
	// Close frees the client's connections.
	Close()
}

// Clients make the STS and metadata clients a plan's sources call. Whoever
// builds a plan gives the concrete clients' constructors, so that this
// package imports neither client.
type Clients struct {
	// NewSTS returns a client of the STS endpoint.
	NewSTS func(STSEndpoint) (STS, error)
	// NewMetadata returns a client of the metadata service at endpoint,
	// empty meaning the instance's own.
	NewMetadata func(endpoint string) (Metadata, error)
}

// STSEndpoint is where and how STS is called.
type STSEndpoint struct {
	// URL like "https://sts-vpc.cn-hangzhou.aliyuncs.com" or
	// "http://127.0.0.1:8080"; empty means the STS client's default,
	// sts.DefaultEndpoint. Plain http is refused unless the host is
	// loopback or AllowPlainHTTP is set, as for ECS.
	URL            string
	AllowPlainHTTP bool
	// CABundle, PEM certificates, replaces the system's roots for https.
	CABundle []byte
	// ConnectTimeout and ReadTimeout bound every call; 0 means the default.
	ConnectTimeout, ReadTimeout time.Duration
	// UserAgent is appended to the SDK's User-Agent, so that STS's records
	// (ActionTrail) tell which provider, and which replica, called.
	UserAgent string
}

// AssumeRoleInput is one AssumeRole call's parameters.
type AssumeRoleInput struct {
	RoleARN string
	// SessionName is 2 to 64 of [A-Za-z0-9.@_-]; empty means the STS
	// client's default, sts.DefaultSessionName.
	SessionName string
	ExternalID  string
	// Policy, JSON, narrows the session below the role's permissions.
	Policy string
	// Duration is 900s to the role's maximum (at most 12h); 0 means STS's
	// default, one hour.
	Duration time.Duration
}

// OIDCInput is one AssumeRoleWithOIDC call's parameters.
type OIDCInput struct {
	RoleARN, ProviderARN string
	// Token is the OIDC token (a JWT) itself.
	Token       string
	SessionName string
	Policy      string
	Duration    time.Duration
}

// String hides the token.
func (in OIDCInput) String() string {
	return fmt.Sprintf("{RoleARN: %s, ProviderARN: %s, Token: %s, SessionName: %s, Duration: %s}",
		in.RoleARN, in.ProviderARN, redactedText, in.SessionName, in.Duration)
}

// GoString does for %#v what String does for %v.
func (in OIDCInput) GoString() string { return "credentials.OIDCInput" + in.String() }

// Identity is who a set of credentials is.
type Identity struct {
	// Type is Account, RAMUser or AssumedRoleUser.
	Type, AccountID, ARN, PrincipalID string
}
