package ecssim

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Role is a RAM role. Who may assume it is its trust policy, spelt out as
// the fields a test needs rather than as policy JSON.
type Role struct {
	// Account owns the role; it must be among the accounts.
	Account string `json:"account"`
	// Name is the role name; its ARN is RoleARN(Account, Name).
	Name string `json:"name"`
	// MaxSessionDuration is the longest session, in seconds, AssumeRole may
	// ask for: 3600..43200, 0 meaning 3600 as on RAM.
	MaxSessionDuration int `json:"maxSessionDuration,omitempty"`
	// TrustedAccounts' RAM users and role sessions may assume the role.
	TrustedAccounts []string `json:"trustedAccounts,omitempty"`
	// TrustedRoles are role ARNs whose sessions may assume the role: the
	// hops of a chain.
	TrustedRoles []string `json:"trustedRoles,omitempty"`
	// TrustedOIDC lets AssumeRoleWithOIDC assume the role.
	TrustedOIDC *OIDCTrust `json:"trustedOIDC,omitempty"`
	// TrustedServices are cloud services that may carry the role; an
	// Instance's role must trust "ecs.aliyuncs.com".
	TrustedServices []string `json:"trustedServices,omitempty"`
	// ExternalID, when set, must be sent by AssumeRole exactly.
	ExternalID string `json:"externalId,omitempty"`
	// AllowedActions are what the role's sessions may call ("AssumeRole"
	// included, for chains); empty allows every action.
	AllowedActions []string `json:"allowedActions,omitempty"`
}

// OIDCTrust is the federated part of a role's trust policy.
type OIDCTrust struct {
	// Provider is an OIDC provider's ARN.
	Provider string `json:"provider"`
	// Subjects are the token subjects (such as
	// "system:serviceaccount:<namespace>:<name>") trusted; empty trusts any.
	Subjects []string `json:"subjects,omitempty"`
}

// OIDCProvider is a RAM OIDC identity provider.
type OIDCProvider struct {
	// Account owns the provider; its ARN is OIDCProviderARN(Account, Name).
	Account string `json:"account"`
	Name    string `json:"name"`
	// Issuer is what the iss claim of its tokens must say: an https URL.
	Issuer string `json:"issuer"`
	// ClientIDs are the audiences accepted; default DefaultOIDCClientID.
	ClientIDs []string `json:"clientIds,omitempty"`
}

// DefaultOIDCClientID is the audience RRSA tokens carry and the client ID a
// provider accepts when it names none.
const DefaultOIDCClientID = "sts.aliyuncs.com"

// Instance is the ECS instance behind the metadata surface.
type Instance struct {
	// ID defaults to DefaultInstanceID.
	ID string `json:"id,omitempty"`
	// RoleARN is the instance's RAM role; the role must trust
	// ecs.aliyuncs.com.
	RoleARN string `json:"roleArn"`
}

// DefaultInstanceID is the id of an Instance that names none.
const DefaultInstanceID = "i-sim0001"

// ecsService is the service principal an instance role must trust.
const ecsService = "ecs.aliyuncs.com"

// STSOptions tune the sessions STS and the metadata surface issue.
type STSOptions struct {
	// SessionLifetime, when set, caps the lifetime of every session issued
	// from now on (the Expiration in the answer says so), so that tests can
	// drive credential refresh in seconds.
	SessionLifetime Duration `json:"sessionLifetime,omitzero"`
}

// Validate reports settings that make no sense.
func (o STSOptions) Validate() error {
	if o.SessionLifetime.Duration < 0 {
		return fmt.Errorf("sts.sessionLifetime must not be negative")
	}
	return nil
}

// RoleARN is the ARN of account's role name. RAM writes role names in ARNs
// in lower case, and so matches ARNs whatever their case.
func RoleARN(account, name string) string {
	return "acs:ram::" + account + ":role/" + strings.ToLower(name)
}

// OIDCProviderARN is the ARN of account's OIDC provider name.
func OIDCProviderARN(account, name string) string {
	return "acs:ram::" + account + ":oidc-provider/" + name
}

// Session durations RAM allows, in seconds.
const (
	minSessionSeconds     = 900
	defaultSessionSeconds = 3600
	maxSessionSeconds     = 43200
)

var (
	// RAM's naming rules for users, roles and OIDC providers.
	userNamePattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)
	roleNamePattern = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	oidcNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	// externalIDPattern and the length bounds are STS's rule for ExternalId.
	externalIDPattern = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
)

const minExternalIDLen, maxExternalIDLen = 2, 1224

func (k AccessKey) validate() error {
	switch {
	case k.ID == "" || k.Secret == "":
		return fmt.Errorf("every access key needs an id and a secret")
	case k.Root && k.User != "":
		return fmt.Errorf("access key %q: a root key belongs to no RAM user; drop user or root", k.ID)
	case k.User != "" && !userNamePattern.MatchString(k.User):
		return fmt.Errorf("access key %q: user %q is not a RAM user name (1-64 of A-Z a-z 0-9 . _ @ -)", k.ID, k.User)
	}
	return nil
}

// validateIdentities checks roles, OIDC providers and the instance against
// each other and the accounts.
func (c Config) validateIdentities(accounts map[string]bool) error {
	providers, err := validateProviders(c.OIDCProviders, accounts)
	if err != nil {
		return err
	}
	roles := map[string]Role{}
	for _, r := range c.Roles {
		arn := RoleARN(r.Account, r.Name)
		if roles[arn].Name != "" {
			return fmt.Errorf("role %s listed twice", arn)
		}
		if err := r.validate(accounts, providers); err != nil {
			return fmt.Errorf("role %s: %w", arn, err)
		}
		roles[arn] = r
	}
	for _, r := range c.Roles {
		for _, t := range r.TrustedRoles {
			if roles[strings.ToLower(t)].Name == "" {
				return fmt.Errorf("role %s: trusted role %q is not among roles", RoleARN(r.Account, r.Name), t)
			}
		}
	}
	if in := c.Instance; in != nil {
		r, ok := roles[strings.ToLower(in.RoleARN)]
		switch {
		case !ok:
			return fmt.Errorf("instance: roleArn %q is not among roles", in.RoleARN)
		case !slices.Contains(r.TrustedServices, ecsService):
			return fmt.Errorf("instance: role %s must trust %s (trustedServices) to be an instance role", in.RoleARN, ecsService)
		}
	}
	return c.STS.Validate()
}

// validateProviders checks the OIDC providers and returns their ARNs.
func validateProviders(ps []OIDCProvider, accounts map[string]bool) (map[string]bool, error) {
	providers := map[string]bool{}
	for _, p := range ps {
		arn := OIDCProviderARN(p.Account, p.Name)
		switch {
		case !accounts[p.Account]:
			return nil, fmt.Errorf("oidc provider %q: account %q is not among accounts", p.Name, p.Account)
		case !oidcNamePattern.MatchString(p.Name):
			return nil, fmt.Errorf("oidc provider %q: name must be 1-128 of A-Z a-z 0-9 . _ -", p.Name)
		case providers[arn]:
			return nil, fmt.Errorf("oidc provider %s listed twice", arn)
		case slices.Contains(p.ClientIDs, ""):
			return nil, fmt.Errorf("oidc provider %s: client ids must not be empty", arn)
		}
		if u, err := url.Parse(p.Issuer); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("oidc provider %s: issuer %q must be an https URL", arn, p.Issuer)
		}
		providers[arn] = true
	}
	return providers, nil
}

// validate checks one role on its own; trusted roles need all of them.
func (r Role) validate(accounts, providers map[string]bool) error {
	switch {
	case !accounts[r.Account]:
		return fmt.Errorf("account %q is not among accounts", r.Account)
	case !roleNamePattern.MatchString(r.Name):
		return fmt.Errorf("name %q must be 1-64 of A-Z a-z 0-9 . -", r.Name)
	case r.MaxSessionDuration != 0 && (r.MaxSessionDuration < defaultSessionSeconds || r.MaxSessionDuration > maxSessionSeconds):
		return fmt.Errorf("maxSessionDuration %d must be 0 or %d..%d seconds", r.MaxSessionDuration, defaultSessionSeconds, maxSessionSeconds)
	case r.ExternalID != "" && (len(r.ExternalID) < minExternalIDLen || len(r.ExternalID) > maxExternalIDLen ||
		!externalIDPattern.MatchString(r.ExternalID)):
		return fmt.Errorf("externalId must be 2-1224 of A-Z a-z 0-9 _ + = , . @ : / -")
	case slices.Contains(r.TrustedServices, ""):
		return fmt.Errorf("trusted services must not be empty")
	case r.TrustedOIDC != nil && !providers[r.TrustedOIDC.Provider]:
		return fmt.Errorf("trustedOIDC.provider %q is not among oidcProviders", r.TrustedOIDC.Provider)
	}
	for _, a := range r.TrustedAccounts {
		if !accountIDPattern.MatchString(a) {
			return fmt.Errorf("trusted account %q is not a numeric UID", a)
		}
	}
	return nil
}

// sessionSeconds is the longest session a role allows.
func (r Role) sessionSeconds() int {
	if r.MaxSessionDuration == 0 {
		return defaultSessionSeconds
	}
	return r.MaxSessionDuration
}

// expiry is when a session issued at now for d ends: no later than the
// SessionLifetime cap, and to the second, as the wire says it.
func (o STSOptions) expiry(now time.Time, d time.Duration) time.Time {
	if l := o.SessionLifetime.Duration; l > 0 {
		d = min(d, l)
	}
	return now.Add(d).UTC().Truncate(time.Second)
}
