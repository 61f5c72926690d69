// Package sts is the provider's client for Alibaba Cloud's Security Token
// Service: it turns a RAM user's or a session's keys (AssumeRole), or a
// Kubernetes service account token (AssumeRoleWithOIDC), into an STS
// session, and tells who a set of keys is (GetCallerIdentity). It drives the
// official SDK with credentials given per call, so it never reads the
// process environment or any credentials chain: in a provider that serves
// many tenants, the pod's own identity must never stand in for a tenant's.
package sts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	stssdk "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	credential "github.com/aliyun/credentials-go/credentials"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

// Defaults, as credentials-go uses for STS.
const (
	DefaultEndpoint       = "https://sts.aliyuncs.com"
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 10 * time.Second
	// DefaultSessionName names sessions whose configuration names none, so
	// that ActionTrail shows which tool assumed the role.
	DefaultSessionName = "crossplane-provider-alibabacloud-ecs"
)

// STS's actions.
const (
	ActionAssumeRole         = "AssumeRole"
	ActionAssumeRoleWithOIDC = "AssumeRoleWithOIDC"
	ActionGetCallerIdentity  = "GetCallerIdentity"
)

// Limits STS documents; checked here so that a mistake is named before a
// call is spent on it.
const (
	minDuration = 900 * time.Second
	maxDuration = 43200 * time.Second
)

var sessionNamePattern = regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`)

// Client calls STS. It is safe for concurrent use: as ecs's, each call in
// flight runs on an SDK client of its own call slot, with that call's
// credentials set on it.
type Client struct {
	sdks *alisdk.SDKClients[*stssdk.Client]
	// host is the endpoint named in errors.
	host string
}

// New returns a Client for e. It makes no call.
func New(e credentials.STSEndpoint) (*Client, error) {
	if e.ConnectTimeout < 0 || e.ReadTimeout < 0 {
		return nil, errors.New("invalid STS endpoint: timeouts must not be negative")
	}
	u := e.URL
	if u == "" {
		u = DefaultEndpoint
	}
	host, protocol, err := alisdk.CheckEndpoint(u, e.AllowPlainHTTP, e.CABundle)
	if err != nil {
		return nil, fmt.Errorf("invalid STS endpoint: %w", err)
	}
	// No AccessKey here: darabonba-openapi (v2.1.13) then leaves the SDK
	// client without a Credential rather than building credentials-go's
	// default chain, and each call sets its own.
	cfg := openapi.Config{
		Endpoint:       tea.String(host),
		Protocol:       tea.String(protocol),
		ConnectTimeout: tea.Int(alisdk.Milliseconds(e.ConnectTimeout, DefaultConnectTimeout)),
		ReadTimeout:    tea.Int(alisdk.Milliseconds(e.ReadTimeout, DefaultReadTimeout)),
	}
	if e.UserAgent != "" {
		cfg.UserAgent = tea.String(e.UserAgent)
	}
	sdks, err := alisdk.NewSDKClients(cfg, alisdk.HTTPOptions{
		Product: "STS", CABundle: e.CABundle,
		ConnectTimeout: cmp.Or(e.ConnectTimeout, DefaultConnectTimeout), ReadTimeout: cmp.Or(e.ReadTimeout, DefaultReadTimeout),
	}, stssdk.NewClient, func(c *stssdk.Client) *openapi.Client { return &c.Client })
	if err != nil {
		return nil, err
	}
	return &Client{sdks: sdks, host: host}, nil
}

// Close closes the client's idle connections. Calls still in flight end by
// their deadlines; the client is not used after.
func (c *Client) Close() { c.sdks.Close() }

// AssumeRole returns a session of in.RoleARN, signed by caller.
func (c *Client) AssumeRole(ctx context.Context, caller credentials.Credentials, in credentials.AssumeRoleInput) (credentials.Session, error) {
	name := in.SessionName
	if name == "" {
		name = DefaultSessionName
	}
	if err := checkRole(ActionAssumeRole, in.RoleARN, name, in.Duration); err != nil {
		return credentials.Session{}, err
	}
	if caller.AccessKeyID == "" || caller.AccessKeySecret == "" {
		return credentials.Session{}, &Error{Action: ActionAssumeRole, Message: "no caller credentials to sign with"}
	}
	req := &stssdk.AssumeRoleRequest{RoleArn: tea.String(in.RoleARN), RoleSessionName: tea.String(name)}
	if in.ExternalID != "" {
		req.ExternalId = tea.String(in.ExternalID)
	}
	if in.Policy != "" {
		req.Policy = tea.String(in.Policy)
	}
	if in.Duration != 0 {
		req.DurationSeconds = tea.Int64(int64(in.Duration / time.Second))
	}
	secrets := []string{caller.AccessKeySecret, caller.SecurityToken}
	body, err := call(ctx, c, ActionAssumeRole, &caller, secrets, func(sdk *stssdk.Client) (*stssdk.AssumeRoleResponseBody, error) {
		resp, err := sdk.AssumeRole(req)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
	if err != nil {
		return credentials.Session{}, err
	}
	var creds credentialsBody
	var arn string
	if body != nil {
		if body.Credentials != nil {
			creds = credentialsBody{body.Credentials.AccessKeyId, body.Credentials.AccessKeySecret, body.Credentials.SecurityToken, body.Credentials.Expiration}
		}
		if body.AssumedRoleUser != nil {
			arn = alisdk.Clip(tea.StringValue(body.AssumedRoleUser.Arn), maxARN)
		}
	}
	return creds.session(ActionAssumeRole, arn)
}

// AssumeRoleWithOIDC exchanges an OIDC token for a session of in.RoleARN.
// The call is anonymous: the token is the proof.
func (c *Client) AssumeRoleWithOIDC(ctx context.Context, in credentials.OIDCInput) (credentials.Session, error) {
	name := in.SessionName
	if name == "" {
		name = DefaultSessionName
	}
	if err := checkRole(ActionAssumeRoleWithOIDC, in.RoleARN, name, in.Duration); err != nil {
		return credentials.Session{}, err
	}
	switch {
	case in.ProviderARN == "":
		return credentials.Session{}, &Error{Action: ActionAssumeRoleWithOIDC, Message: "no OIDC provider ARN: want acs:ram::<account>:oidc-provider/<name>"}
	case in.Token == "":
		return credentials.Session{}, &Error{Action: ActionAssumeRoleWithOIDC, Message: "the OIDC token is empty: check that the token file is the projected service account token"}
	}
	req := &stssdk.AssumeRoleWithOIDCRequest{
		RoleArn: tea.String(in.RoleARN), OIDCProviderArn: tea.String(in.ProviderARN),
		OIDCToken: tea.String(in.Token), RoleSessionName: tea.String(name),
	}
	if in.Policy != "" {
		req.Policy = tea.String(in.Policy)
	}
	if in.Duration != 0 {
		req.DurationSeconds = tea.Int64(int64(in.Duration / time.Second))
	}
	body, err := call(ctx, c, ActionAssumeRoleWithOIDC, nil, []string{in.Token}, func(sdk *stssdk.Client) (*stssdk.AssumeRoleWithOIDCResponseBody, error) {
		resp, err := sdk.AssumeRoleWithOIDC(req)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
	if err != nil {
		return credentials.Session{}, err
	}
	var creds credentialsBody
	var arn string
	if body != nil {
		if body.Credentials != nil {
			creds = credentialsBody{body.Credentials.AccessKeyId, body.Credentials.AccessKeySecret, body.Credentials.SecurityToken, body.Credentials.Expiration}
		}
		if body.AssumedRoleUser != nil {
			arn = alisdk.Clip(tea.StringValue(body.AssumedRoleUser.Arn), maxARN)
		}
	}
	return creds.session(ActionAssumeRoleWithOIDC, arn)
}

// GetCallerIdentity tells who caller is. It needs no RAM permission, so it
// checks any credentials before they are used for anything else.
func (c *Client) GetCallerIdentity(ctx context.Context, caller credentials.Credentials) (credentials.Identity, error) {
	if caller.AccessKeyID == "" || caller.AccessKeySecret == "" {
		return credentials.Identity{}, &Error{Action: ActionGetCallerIdentity, Message: "no caller credentials to sign with"}
	}
	secrets := []string{caller.AccessKeySecret, caller.SecurityToken}
	body, err := call(ctx, c, ActionGetCallerIdentity, &caller, secrets, func(sdk *stssdk.Client) (*stssdk.GetCallerIdentityResponseBody, error) {
		resp, err := sdk.GetCallerIdentity()
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	})
	if err != nil {
		return credentials.Identity{}, err
	}
	if body == nil || tea.StringValue(body.Arn) == "" || tea.StringValue(body.AccountId) == "" {
		return credentials.Identity{}, &Error{Action: ActionGetCallerIdentity, Message: "STS answered without an Arn or AccountId"}
	}
	// These go into the configuration's status, and the account into the
	// pacer's key: bounded, whatever the endpoint answered.
	return credentials.Identity{
		Type: alisdk.Clip(tea.StringValue(body.IdentityType), maxCode), AccountID: alisdk.Clip(tea.StringValue(body.AccountId), maxCode),
		ARN: alisdk.Clip(tea.StringValue(body.Arn), maxARN), PrincipalID: alisdk.Clip(tea.StringValue(body.PrincipalId), maxARN),
	}, nil
}

// checkRole names a parameter STS would refuse, before a call is spent.
func checkRole(action, roleARN, sessionName string, d time.Duration) error {
	switch {
	case roleARN == "":
		return &Error{Action: action, Message: "no role ARN: want acs:ram::<account>:role/<name>"}
	case !sessionNamePattern.MatchString(sessionName):
		return &Error{Action: action, Message: fmt.Sprintf("the session name %q is not 2 to 64 of A-Z, a-z, 0-9, '.', '@', '_' and '-'", sessionName)}
	case d != 0 && (d < minDuration || d > maxDuration):
		return &Error{Action: action, Message: fmt.Sprintf("the session duration %s is not from %s to %s (and at most the role's maximum)", d, minDuration, maxDuration)}
	}
	return nil
}

// credentialsBody is the Credentials of an AssumeRole or
// AssumeRoleWithOIDC answer.
type credentialsBody struct {
	id, secret, token, expiration *string
}

// session checks the answer strictly: a session without every part, or
// with an Expiration that is not a time, would fail later and obscurely.
func (b credentialsBody) session(action, arn string) (credentials.Session, error) {
	var missing []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"AccessKeyId", b.id}, {"AccessKeySecret", b.secret}, {"SecurityToken", b.token}, {"Expiration", b.expiration}} {
		if tea.StringValue(f.v) == "" {
			missing = append(missing, "Credentials."+f.name)
		}
	}
	if len(missing) > 0 {
		return credentials.Session{}, &Error{Action: action, Message: "STS answered without " + strings.Join(missing, ", ")}
	}
	exp, err := time.Parse(time.RFC3339, tea.StringValue(b.expiration))
	if err != nil {
		return credentials.Session{}, &Error{Action: action, Message: fmt.Sprintf("STS answered an Expiration %q that is not a time like 2006-01-02T15:04:05Z", tea.StringValue(b.expiration))}
	}
	return credentials.Session{
		Credentials: credentials.Credentials{AccessKeyID: tea.StringValue(b.id), AccessKeySecret: tea.StringValue(b.secret), SecurityToken: tea.StringValue(b.token)},
		Expiration:  exp.UTC(),
		ARN:         arn,
	}, nil
}

// call runs one SDK call, signed with caller or anonymous when caller is
// nil, bounded by ctx: when ctx ends, so does the call's HTTP request.
// secrets are removed from any message STS echoes.
func call[T any](ctx context.Context, c *Client, action string, caller *credentials.Credentials, secrets []string, fn func(*stssdk.Client) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("STS %s not called: %w", action, err)
	}
	// An anonymous call signs nothing: darabonba signs nothing for
	// AssumeRoleWithOIDC, and a nil Credential keeps it so should it try.
	var cred credential.Credential
	if caller != nil {
		cred = alisdk.Credential(caller.AccessKeyID, caller.AccessKeySecret, caller.SecurityToken)
	}
	v, err := alisdk.Call(ctx, c.sdks, cred, fn)
	switch {
	case err != nil && ctx.Err() != nil:
		return zero, fmt.Errorf("STS %s abandoned: %w", action, ctx.Err())
	case err != nil:
		return zero, c.classify(action, err, secrets)
	}
	return v, nil
}
