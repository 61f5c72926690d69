package ecssim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// stsVersion is the only STS API version served.
const stsVersion = "2015-04-01"

var stsActions = map[string]action{
	"AssumeRole":         (*Simulator).assumeRole,
	"AssumeRoleWithOIDC": (*Simulator).assumeRoleWithOIDC,
	"GetCallerIdentity":  (*Simulator).getCallerIdentity,
}

// session is what STS knows of a key it issued.
type session struct {
	roleARN string
	name    string // RoleSessionName
	issued  time.Time
	// lifetime is the session's length as issued, before any
	// ExpireSessions shortened it.
	lifetime time.Duration
}

// sessionRetention is how long an expired session is remembered, so that
// its late callers hear InvalidSecurityToken.Expired rather than an unknown
// key; after that it is forgotten so a long run does not grow.
const sessionRetention = time.Hour

var (
	roleSessionNamePattern = regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`)
	maxPolicyLen           = 2048
)

// issue creates a session of role: a key on the role's account that
// carries a token, stops at its expiry and may call what the role allows.
// The caller holds s.mu.
func (s *Simulator) issue(role Role, name string, d time.Duration, now time.Time) credential {
	for id, c := range s.keys {
		if c.session != nil && now.Sub(*c.key.Expiration) > sessionRetention {
			delete(s.keys, id)
		}
	}
	exp := s.sts.expiry(now, d)
	c := credential{
		account: role.Account,
		key: AccessKey{
			ID:             "STS." + rand.Text(),
			Secret:         rand.Text(),
			SecurityToken:  "CAIS" + randomToken(96),
			Expiration:     &exp,
			AllowedActions: slices.Clone(role.AllowedActions),
		},
		session: &session{roleARN: RoleARN(role.Account, role.Name), name: name, issued: now, lifetime: exp.Sub(now)},
	}
	s.keys[c.key.ID] = c
	return c
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails.
	return base64.RawURLEncoding.EncodeToString(b)
}

// roleName is the (lower-case) role part of a role ARN.
func roleName(arn string) string {
	_, name, _ := strings.Cut(arn, ":role/")
	return name
}

// principal is the ARN a credential authenticates as.
func (c credential) principal() string {
	switch {
	case c.session != nil:
		return "acs:ram::" + c.account + ":assumed-role/" + roleName(c.session.roleARN) + "/" + c.session.name
	case c.key.Root:
		return "acs:ram::" + c.account + ":root"
	}
	return "acs:ram::" + c.account + ":user/" + c.user()
}

func (c credential) user() string {
	if c.key.User == "" {
		return DefaultUser
	}
	return c.key.User
}

// numericID is a stable, made-up RAM id for name: RAM ids are numbers that
// a caller cannot derive, so any stable number serves.
func numericID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("3%018d", h.Sum64()%1e18)
}

// authorizeSTS applies the caller's RAM policy: AssumeRole needs
// sts:AssumeRole (AliyunSTSAssumeRoleAccess); GetCallerIdentity needs none.
func authorizeSTS(c credential, action string) *APIError {
	if action == "AssumeRole" && !c.allows(action) {
		return errNotAuthorized()
	}
	return nil
}

func errNotAuthorized() *APIError {
	return apiErr(http.StatusForbidden, CodeNoPermission, "You are not authorized to do this action. You should be authorized by RAM.")
}

func errRoleNotExist(arn string) *APIError {
	return apiErr(http.StatusNotFound, CodeRoleNotExist, "The role not exists: %s.", arn)
}

// sessionRequest is what both AssumeRole actions ask for.
type sessionRequest struct {
	roleARN, name string
	// seconds is the DurationSeconds asked for, checked against the role
	// once the role is known.
	seconds int
}

// readSessionRequest reads and checks the parameters both AssumeRole
// actions share, in the order STS reports them. Policy is checked for its
// grammar only: the simulator does not narrow a session by it.
func readSessionRequest(p url.Values) (sessionRequest, *APIError) {
	in := sessionRequest{roleARN: p.Get("RoleArn"), name: p.Get("RoleSessionName"), seconds: defaultSessionSeconds}
	switch {
	case in.roleARN == "":
		return in, errMissing("RoleArn")
	case in.name == "":
		return in, errMissing("RoleSessionName")
	case !roleSessionNamePattern.MatchString(in.name):
		return in, apiErr(http.StatusBadRequest, CodeInvalidRoleSessionName,
			"The RoleSessionName must be 2 to 64 characters of letters, digits and . @ _ -.")
	}
	if p.Has("Policy") {
		policy := p.Get("Policy")
		var doc map[string]any
		if len(policy) == 0 || len(policy) > maxPolicyLen || json.Unmarshal([]byte(policy), &doc) != nil {
			return in, apiErr(http.StatusBadRequest, CodeInvalidPolicyGrammar,
				"The Policy must be a JSON policy document of 1 to %d characters.", maxPolicyLen)
		}
	}
	if v := p.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return in, apiErr(http.StatusBadRequest, CodeInvalidDurationSeconds, "The DurationSeconds must be a number of seconds.")
		}
		in.seconds = n
	}
	return in, nil
}

// duration checks the session length asked for against the role.
func (in sessionRequest) duration(role Role) (time.Duration, *APIError) {
	if in.seconds < minSessionSeconds || in.seconds > role.sessionSeconds() {
		return 0, apiErr(http.StatusBadRequest, CodeInvalidDurationSeconds,
			"The DurationSeconds must be between %d and %d seconds, the role's maximum session duration.",
			minSessionSeconds, role.sessionSeconds())
	}
	return time.Duration(in.seconds) * time.Second, nil
}

// role finds a role by ARN, in any case.
func (s *Simulator) role(arn string) (Role, *APIError) {
	r, ok := s.roles[strings.ToLower(arn)]
	if !ok {
		return Role{}, errRoleNotExist(arn)
	}
	return r, nil
}

// trusts reports whether the role's trust policy names the caller: its
// account, or, for a role session, its role. The role's own account is not
// trusted unless listed, as with a RAM trust policy.
func (r Role) trusts(c credential) bool {
	if slices.Contains(r.TrustedAccounts, c.account) {
		return true
	}
	return c.session != nil && slices.ContainsFunc(r.TrustedRoles, func(t string) bool { return strings.EqualFold(t, c.session.roleARN) })
}

type assumedRoleUser struct {
	Arn           string `json:"Arn"`
	AssumedRoleID string `json:"AssumedRoleId"`
}

type stsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	SecurityToken   string `json:"SecurityToken"`
	Expiration      string `json:"Expiration"`
}

type assumeRoleResponse struct {
	requestMeta
	AssumedRoleUser assumedRoleUser `json:"AssumedRoleUser"`
	Credentials     stsCredentials  `json:"Credentials"`
}

// newAssumeRoleResponse describes an issued session. AssumedRoleUser.Arn
// has the role/<role>/<session> form of STS's documented answer;
// GetCallerIdentity names the same session assumed-role/<role>/<session>.
func newAssumeRoleResponse(c credential) assumeRoleResponse {
	return assumeRoleResponse{
		AssumedRoleUser: assumedRoleUser{
			Arn:           c.session.roleARN + "/" + c.session.name,
			AssumedRoleID: numericID(c.session.roleARN) + ":" + c.session.name,
		},
		Credentials: stsCredentials{
			AccessKeyID: c.key.ID, AccessKeySecret: c.key.Secret, SecurityToken: c.key.SecurityToken,
			Expiration: c.key.Expiration.Format(timeLayout),
		},
	}
}

func (s *Simulator) assumeRole(c call) (answer, *APIError) {
	in, err := readSessionRequest(c.params)
	if err != nil {
		return nil, err
	}
	role, err := s.role(in.roleARN)
	if err != nil {
		return nil, err
	}
	if c.caller.key.Root {
		return nil, apiErr(http.StatusForbidden, CodeNoPermission, "Roles may not be assumed by root accounts.")
	}
	if !role.trusts(c.caller) {
		return nil, errNotAuthorized()
	}
	if role.ExternalID != "" && c.params.Get("ExternalId") != role.ExternalID {
		return nil, apiErr(http.StatusForbidden, CodeNoPermission,
			"The ExternalId does not match the trust policy of role %s.", RoleARN(role.Account, role.Name))
	}
	d, err := in.duration(role)
	if err != nil {
		return nil, err
	}
	resp := newAssumeRoleResponse(s.issue(role, in.name, d, c.now))
	return &resp, nil
}

type oidcTokenInfo struct {
	Subject          string `json:"Subject"`
	Issuer           string `json:"Issuer"`
	ClientIDs        string `json:"ClientIds"`
	IssuanceTime     string `json:"IssuanceTime"`
	ExpirationTime   string `json:"ExpirationTime"`
	VerificationInfo string `json:"VerificationInfo"`
}

type assumeRoleWithOIDCResponse struct {
	assumeRoleResponse
	OIDCTokenInfo oidcTokenInfo `json:"OIDCTokenInfo"`
}

// assumeRoleWithOIDC trades an OIDC token for a session: provider, then
// token, then role and its trust, as STS reports them.
func (s *Simulator) assumeRoleWithOIDC(c call) (answer, *APIError) {
	providerARN := c.params.Get("OIDCProviderArn")
	if providerARN == "" {
		return nil, errMissing("OIDCProviderArn")
	}
	in, err := readSessionRequest(c.params)
	if err != nil {
		return nil, err
	}
	p := s.providers[providerARN]
	if p == nil {
		return nil, apiErr(http.StatusUnauthorized, CodeNoSuchOIDCProvider, "No such OIDC Provider registered.")
	}
	claims, err := p.verify(c.params.Get("OIDCToken"), c.now)
	if err != nil {
		return nil, err
	}
	role, err := s.role(in.roleARN)
	if err != nil {
		return nil, err
	}
	if t := role.TrustedOIDC; t == nil || t.Provider != providerARN || (len(t.Subjects) > 0 && !slices.Contains(t.Subjects, claims.Subject)) {
		return nil, apiErr(http.StatusForbidden, CodeNoPermission,
			"You are not authorized to do this action: the trust policy of role %s does not name this OIDC provider and subject.",
			RoleARN(role.Account, role.Name))
	}
	d, err := in.duration(role)
	if err != nil {
		return nil, err
	}
	return &assumeRoleWithOIDCResponse{
		assumeRoleResponse: newAssumeRoleResponse(s.issue(role, in.name, d, c.now)),
		OIDCTokenInfo: oidcTokenInfo{
			Subject: claims.Subject, Issuer: claims.Issuer, ClientIDs: strings.Join(claims.Audience, ","),
			IssuanceTime:     time.Unix(claims.IssuedAt, 0).UTC().Format(timeLayout),
			ExpirationTime:   time.Unix(claims.Expiry, 0).UTC().Format(timeLayout),
			VerificationInfo: "Success",
		},
	}, nil
}

type callerIdentityResponse struct {
	requestMeta
	IdentityType string `json:"IdentityType"`
	AccountID    string `json:"AccountId"`
	Arn          string `json:"Arn"`
	PrincipalID  string `json:"PrincipalId"`
	UserID       string `json:"UserId,omitempty"`
	RoleID       string `json:"RoleId,omitempty"`
}

func (s *Simulator) getCallerIdentity(c call) (answer, *APIError) {
	who := c.caller
	resp := &callerIdentityResponse{AccountID: who.account, Arn: who.principal()}
	switch {
	case who.session != nil:
		resp.IdentityType = "AssumedRoleUser"
		resp.RoleID = numericID(who.session.roleARN)
		resp.PrincipalID = resp.RoleID + ":" + who.session.name
	case who.key.Root:
		resp.IdentityType = "Account"
		resp.UserID, resp.PrincipalID = who.account, who.account
	default:
		resp.IdentityType = "RAMUser"
		resp.UserID = numericID(resp.Arn)
		resp.PrincipalID = resp.UserID
	}
	return resp, nil
}

// loadIdentities replaces roles, OIDC providers, STS options and the
// metadata surface with cfg's. Every provider has a key already (addKeys).
// The caller holds s.mu.
func (s *Simulator) loadIdentities(cfg Config) {
	s.roles = map[string]Role{}
	for _, r := range cfg.Roles {
		s.roles[RoleARN(r.Account, r.Name)] = r
	}
	s.providers = map[string]*oidcProvider{}
	for _, p := range cfg.OIDCProviders {
		arn := OIDCProviderARN(p.Account, p.Name)
		s.providers[arn] = newOIDCProvider(p, s.oidcKeys[arn])
	}
	s.sts = cfg.STS
	s.metadata = newMetadataState(cfg.Instance)
}
