package ecssim_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	sts "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// The STS tenants: the owner's RAM users and root key, roles in the owner's
// and the other account, an RRSA provider and an instance role.
const (
	rootKey     = "LTAItestOwnerRoot"
	rootSec     = "rootSecret"
	aliceKey    = "LTAItestAlice"
	aliceSec    = "aliceSecret"
	externalID  = "ext-id-0001"
	rrsaSubject = "system:serviceaccount:crossplane-system:provider"
	rrsaIssuer  = "https://oidc-ack-cn-hangzhou.example.com/c1"
)

var (
	sharerARN     = ecssim.RoleARN(owner, "Sharer")
	externalARN   = ecssim.RoleARN(owner, "external")
	untrustingARN = ecssim.RoleARN(owner, "untrusting")
	chainedARN    = ecssim.RoleARN(other, "chained")
	rrsaARN       = ecssim.RoleARN(owner, "rrsa")
	nodeARN       = ecssim.RoleARN(owner, "node")
	rrsaProvider  = ecssim.OIDCProviderARN(owner, "ack-rrsa-c1")
	otherProvider = ecssim.OIDCProviderARN(other, "other-idp")
)

func stsConfig() ecssim.Config {
	cfg := testConfig()
	for i := range cfg.Accounts {
		if cfg.Accounts[i].ID == owner {
			cfg.Accounts[i].AccessKeys = append(cfg.Accounts[i].AccessKeys,
				ecssim.AccessKey{ID: rootKey, Secret: rootSec, Root: true},
				ecssim.AccessKey{ID: aliceKey, Secret: aliceSec, User: "alice", AllowedActions: []string{"DescribeImages"}},
			)
		}
	}
	cfg.OIDCProviders = []ecssim.OIDCProvider{
		{Account: owner, Name: "ack-rrsa-c1", Issuer: rrsaIssuer},
		{Account: other, Name: "other-idp", Issuer: "https://idp.example.net"},
	}
	cfg.Roles = []ecssim.Role{
		{Account: owner, Name: "Sharer", TrustedAccounts: []string{owner}},
		{Account: owner, Name: "external", TrustedAccounts: []string{owner}, ExternalID: externalID},
		{Account: owner, Name: "untrusting", TrustedAccounts: []string{other}},
		{Account: other, Name: "chained", TrustedRoles: []string{sharerARN}, MaxSessionDuration: 7200},
		{Account: owner, Name: "rrsa", TrustedOIDC: &ecssim.OIDCTrust{Provider: rrsaProvider, Subjects: []string{rrsaSubject}}},
		{Account: owner, Name: "node", TrustedServices: []string{"ecs.aliyuncs.com"}, AllowedActions: []string{"DescribeImages"}},
	}
	cfg.Instance = &ecssim.Instance{RoleARN: nodeARN}
	return cfg
}

// stsClient is the real STS SDK. An empty keyID makes an anonymous client,
// as AssumeRoleWithOIDC needs; rpc makes it sign in the RPC style
// (HMAC-SHA1) instead of its default, ACS3.
func stsClient(t *testing.T, srv *httptest.Server, keyID, secret, token string, rpc bool) *sts.Client {
	t.Helper()
	cfg := &openapi.Config{
		Endpoint: tea.String(hostPort(srv)), Protocol: tea.String("http"),
		ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(2000),
	}
	if keyID != "" {
		cfg.AccessKeyId, cfg.AccessKeySecret = tea.String(keyID), tea.String(secret)
	}
	if token != "" {
		cfg.SecurityToken = tea.String(token)
	}
	if rpc {
		cfg.SignatureAlgorithm = tea.String("v2")
	}
	c, err := sts.NewClient(cfg)
	if err != nil {
		t.Fatalf("sts.NewClient: %v", err)
	}
	return c
}

// issued is a session's credentials as STS answered them.
type issued struct{ id, secret, token, expiration, arn string }

func assumeRole(c *sts.Client, role, session string, edit func(*sts.AssumeRoleRequest)) (issued, error) {
	req := &sts.AssumeRoleRequest{RoleArn: tea.String(role), RoleSessionName: tea.String(session)}
	if edit != nil {
		edit(req)
	}
	resp, err := c.AssumeRole(req)
	if err != nil {
		return issued{}, err
	}
	cr, u := resp.Body.Credentials, resp.Body.AssumedRoleUser
	return issued{tea.StringValue(cr.AccessKeyId), tea.StringValue(cr.AccessKeySecret), tea.StringValue(cr.SecurityToken),
		tea.StringValue(cr.Expiration), tea.StringValue(u.Arn)}, nil
}

// expiration is what STS says a session issued now for d ends at.
func expiration(now time.Time, d time.Duration) string {
	return now.Add(d).UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}

// errorHost is the HostId of an SDK error's body.
func errorHost(t *testing.T, err error) string {
	t.Helper()
	data := tea.StringValue(sdkError(t, err).Data)
	if strings.Contains(data, `"HostId":"sts.aliyuncs.com"`) {
		return "sts.aliyuncs.com"
	}
	return data
}

func TestAssumeRole(t *testing.T) {
	clock := simtest.NewClock()
	cfg := stsConfig()
	// A live STS key of the owner's, from credConfig, calls as a RAM user.
	cfg.Accounts[0].AccessKeys = append(cfg.Accounts[0].AccessKeys, credConfig(clock.Now()).Accounts[0].AccessKeys[1:]...)
	_, srv := simtest.Serve(t, cfg, ecssim.WithClock(clock.Now))

	type caller struct{ id, secret, token string }
	user, root, alice := caller{ownerKey, ownerSec, ""}, caller{rootKey, rootSec, ""}, caller{aliceKey, aliceSec, ""}
	cases := []struct {
		reason     string
		caller     caller
		rpc        bool
		role       string
		session    string
		edit       func(*sts.AssumeRoleRequest)
		wantCode   string
		wantStatus int
		wantLife   time.Duration
	}{
		{reason: "a trusted RAM user, ACS3-signed", caller: user, role: sharerARN, wantLife: time.Hour},
		{reason: "a trusted RAM user, RPC-signed", caller: user, rpc: true, role: sharerARN, wantLife: time.Hour},
		{reason: "an STS key of a trusted account", caller: caller{credSTSKey, credSTSSecret, credSTSToken}, role: sharerARN, wantLife: time.Hour},
		{reason: "the role ARN in another case", caller: user, role: strings.ToUpper(sharerARN[:9]) + sharerARN[9:], wantLife: time.Hour},
		{
			reason: "a duration and a policy", caller: user, role: sharerARN, wantLife: 900 * time.Second,
			edit: func(r *sts.AssumeRoleRequest) {
				r.DurationSeconds = tea.Int64(900)
				r.Policy = tea.String(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`)
			},
		},
		{
			reason: "the ExternalId the role wants", caller: user, role: externalARN, wantLife: time.Hour,
			edit: func(r *sts.AssumeRoleRequest) { r.ExternalId = tea.String(externalID) },
		},
		{reason: "a root key", caller: root, role: sharerARN, wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{reason: "a role that does not trust the account", caller: user, role: untrustingARN, wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{reason: "a RAM user without sts:AssumeRole", caller: alice, role: sharerARN, wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{reason: "a role trusting only role sessions", caller: user, role: chainedARN, wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{reason: "no ExternalId for a role that wants one", caller: user, role: externalARN, wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{
			reason: "the wrong ExternalId", caller: user, role: externalARN, wantCode: ecssim.CodeNoPermission, wantStatus: 403,
			edit: func(r *sts.AssumeRoleRequest) { r.ExternalId = tea.String("ext-id-0002") },
		},
		{reason: "an unknown role", caller: user, role: ecssim.RoleARN(owner, "nobody"), wantCode: ecssim.CodeRoleNotExist, wantStatus: 404},
		{reason: "not a role ARN", caller: user, role: "sharer", wantCode: ecssim.CodeRoleNotExist, wantStatus: 404},
		{
			reason: "a duration under 900s", caller: user, role: sharerARN, wantCode: ecssim.CodeInvalidDurationSeconds, wantStatus: 400,
			edit: func(r *sts.AssumeRoleRequest) { r.DurationSeconds = tea.Int64(899) },
		},
		{
			reason: "a duration past the role's maximum", caller: user, role: sharerARN, wantCode: ecssim.CodeInvalidDurationSeconds, wantStatus: 400,
			edit: func(r *sts.AssumeRoleRequest) { r.DurationSeconds = tea.Int64(3601) },
		},
		{reason: "a one-letter session name", caller: user, role: sharerARN, session: "a", wantCode: ecssim.CodeInvalidRoleSessionName, wantStatus: 400},
		{reason: "a session name with a space", caller: user, role: sharerARN, session: "my session", wantCode: ecssim.CodeInvalidRoleSessionName, wantStatus: 400},
		{
			reason: "a policy that is not JSON", caller: user, role: sharerARN, wantCode: ecssim.CodeInvalidPolicyGrammar, wantStatus: 400,
			edit: func(r *sts.AssumeRoleRequest) { r.Policy = tea.String(`{"Version":`) },
		},
		{
			reason: "a policy over 2048 characters", caller: user, role: sharerARN, wantCode: ecssim.CodeInvalidPolicyGrammar, wantStatus: 400,
			edit: func(r *sts.AssumeRoleRequest) { r.Policy = tea.String(`{"x":"` + strings.Repeat("a", 2048) + `"}`) },
		},
		{reason: "a wrong secret", caller: caller{ownerKey, "nope", ""}, role: sharerARN, wantCode: ecssim.CodeSignatureMismatch, wantStatus: 400},
		{reason: "an expired STS caller", caller: caller{credExpiredKey, credExpiredSecret, credExpiredToken}, role: sharerARN, wantCode: ecssim.CodeTokenExpired, wantStatus: 400},
		{reason: "an STS caller without its token", caller: caller{credSTSKey, credSTSSecret, ""}, role: sharerARN, wantCode: ecssim.CodeTokenMismatch, wantStatus: 400},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			session := tc.session
			if session == "" {
				session = "crossplane@test_1.x-y"
			}
			got, err := assumeRole(stsClient(t, srv, tc.caller.id, tc.caller.secret, tc.caller.token, tc.rpc), tc.role, session, tc.edit)
			if c := code(t, err); c != tc.wantCode {
				t.Fatalf("%s: code %q, want %q (%v)", tc.reason, c, tc.wantCode, err)
			}
			if err != nil {
				if s := httpStatus(t, err); s != tc.wantStatus {
					t.Errorf("%s: status %d, want %d", tc.reason, s, tc.wantStatus)
				}
				if h := errorHost(t, err); h != "sts.aliyuncs.com" {
					t.Errorf("%s: error body's HostId is not sts.aliyuncs.com: %s", tc.reason, h)
				}
				return
			}
			want := issued{expiration: expiration(clock.Now(), tc.wantLife), arn: strings.ToLower(tc.role) + "/" + session}
			if diff := cmp.Diff(want, issued{expiration: got.expiration, arn: got.arn}, cmp.AllowUnexported(issued{})); diff != "" {
				t.Errorf("%s: session (-want +got):\n%s", tc.reason, diff)
			}
			if !strings.HasPrefix(got.id, "STS.") || got.secret == "" || got.token == "" {
				t.Errorf("%s: credentials are not an STS key with a secret and a token", tc.reason)
			}
			// The session acts as the role's account.
			if _, err := describe(v4Client(t, srv, got.id, got.secret, got.token), imageID, 0, 0); err != nil {
				t.Errorf("%s: ECS with the issued credentials: %v", tc.reason, err)
			}
		})
	}
}

// TestAssumeRoleChain takes two hops: a RAM user assumes a role, and that
// role's session assumes a role in another account that trusts the first
// role, not the account.
func TestAssumeRoleChain(t *testing.T) {
	_, srv := simtest.Serve(t, stsConfig())
	hop1, err := assumeRole(stsClient(t, srv, ownerKey, ownerSec, "", false), sharerARN, "hop1", nil)
	if err != nil {
		t.Fatalf("hop 1: %v", err)
	}
	hop2, err := assumeRole(stsClient(t, srv, hop1.id, hop1.secret, hop1.token, false), chainedARN, "hop2",
		func(r *sts.AssumeRoleRequest) { r.DurationSeconds = tea.Int64(7200) })
	if err != nil {
		t.Fatalf("hop 2: %v", err)
	}
	id, err := stsClient(t, srv, hop2.id, hop2.secret, hop2.token, false).GetCallerIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tea.StringValue(id.Body.Arn), "acs:ram::"+other+":assumed-role/chained/hop2"; got != want {
		t.Errorf("hop 2 is %s, want %s", got, want)
	}
	// The second hop acts as the other account: its image is its own.
	if _, err := describe(v4Client(t, srv, hop2.id, hop2.secret, hop2.token), foreignID, 0, 0); err != nil {
		t.Errorf("ECS as hop 2: %v", err)
	}
	_, err = describe(v4Client(t, srv, hop2.id, hop2.secret, hop2.token), imageID, 0, 0)
	if got := code(t, err); got != ecssim.CodeImageNotFound {
		t.Errorf("hop 2 reading the first account's image: %q, want %s", got, ecssim.CodeImageNotFound)
	}

	// Only sessions of the trusted role may take the second hop.
	ext, err := assumeRole(stsClient(t, srv, ownerKey, ownerSec, "", false), externalARN, "other-role",
		func(r *sts.AssumeRoleRequest) { r.ExternalId = tea.String(externalID) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = assumeRole(stsClient(t, srv, ext.id, ext.secret, ext.token, false), chainedARN, "hop2", nil)
	if got := code(t, err); got != ecssim.CodeNoPermission {
		t.Errorf("a session of an untrusted role took the second hop: %q, want %s", got, ecssim.CodeNoPermission)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	_, srv := simtest.Serve(t, stsConfig())
	session, err := assumeRole(stsClient(t, srv, ownerKey, ownerSec, "", false), sharerARN, "who-am-i", nil)
	if err != nil {
		t.Fatal(err)
	}
	type identity struct{ Type, Account, Arn, UserID string }
	cases := []struct {
		reason             string
		id, secret, token  string
		rpc                bool
		want               identity
		wantPrincipalIsKey string // "user", "role" or "account": which id PrincipalId must equal
	}{
		{
			reason: "a root key is the account", id: rootKey, secret: rootSec,
			want: identity{Type: "Account", Account: owner, Arn: "acs:ram::" + owner + ":root", UserID: owner}, wantPrincipalIsKey: "user",
		},
		{
			reason: "a key with no user is the default RAM user", id: ownerKey, secret: ownerSec,
			want: identity{Type: "RAMUser", Account: owner, Arn: "acs:ram::" + owner + ":user/sim-user"}, wantPrincipalIsKey: "user",
		},
		{
			reason: "a named RAM user, even without any STS permission", id: aliceKey, secret: aliceSec, rpc: true,
			want: identity{Type: "RAMUser", Account: owner, Arn: "acs:ram::" + owner + ":user/alice"}, wantPrincipalIsKey: "user",
		},
		{
			reason: "a role session", id: session.id, secret: session.secret, token: session.token,
			want: identity{Type: "AssumedRoleUser", Account: owner, Arn: "acs:ram::" + owner + ":assumed-role/sharer/who-am-i"}, wantPrincipalIsKey: "role",
		},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			resp, err := stsClient(t, srv, tc.id, tc.secret, tc.token, tc.rpc).GetCallerIdentity()
			if err != nil {
				t.Fatal(err)
			}
			b := resp.Body
			got := identity{Type: tea.StringValue(b.IdentityType), Account: tea.StringValue(b.AccountId), Arn: tea.StringValue(b.Arn)}
			if tc.want.UserID != "" {
				got.UserID = tea.StringValue(b.UserId)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: identity (-want +got):\n%s", tc.reason, diff)
			}
			principal := tea.StringValue(b.PrincipalId)
			switch tc.wantPrincipalIsKey {
			case "user":
				if principal == "" || principal != tea.StringValue(b.UserId) || b.RoleId != nil {
					t.Errorf("%s: PrincipalId %q, UserId %q, RoleId %v: want PrincipalId = UserId and no RoleId",
						tc.reason, principal, tea.StringValue(b.UserId), tea.StringValue(b.RoleId))
				}
			case "role":
				if tea.StringValue(b.RoleId) == "" || principal != tea.StringValue(b.RoleId)+":who-am-i" || b.UserId != nil {
					t.Errorf("%s: PrincipalId %q, RoleId %q, UserId %v: want PrincipalId = RoleId:session and no UserId",
						tc.reason, principal, tea.StringValue(b.RoleId), tea.StringValue(b.UserId))
				}
			}
		})
	}
}

// TestSessionsExpire: an issued session stops working at its expiry, which
// the SessionLifetime cap brings forward; ECS then answers as for any expired
// STS token.
func TestSessionsExpire(t *testing.T) {
	clock := simtest.NewClock()
	cfg := stsConfig()
	cfg.STS.SessionLifetime = ecssim.Duration{Duration: 2 * time.Second}
	_, srv := simtest.Serve(t, cfg, ecssim.WithClock(clock.Now))
	s, err := assumeRole(stsClient(t, srv, ownerKey, ownerSec, "", false), sharerARN, "short", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := expiration(clock.Now(), 2*time.Second); s.expiration != want {
		t.Errorf("Expiration %s, want %s: the lifetime cap did not apply", s.expiration, want)
	}
	ecsClient := v4Client(t, srv, s.id, s.secret, s.token)
	if _, err := describe(ecsClient, imageID, 0, 0); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clock.Advance(2 * time.Second)
	_, err = describe(ecsClient, imageID, 0, 0)
	if got := code(t, err); got != ecssim.CodeTokenExpired {
		t.Fatalf("after expiry: %q, want %s", got, ecssim.CodeTokenExpired)
	}
	// An expired session cannot take another hop either.
	_, err = assumeRole(stsClient(t, srv, s.id, s.secret, s.token, false), chainedARN, "late", nil)
	if got := code(t, err); got != ecssim.CodeTokenExpired {
		t.Errorf("expired session assuming a role: %q, want %s", got, ecssim.CodeTokenExpired)
	}
}

// TestSessionPolicyOfRole: a session may call only what its role allows.
func TestSessionPolicyOfRole(t *testing.T) {
	cfg := stsConfig()
	cfg.Roles[0].AllowedActions = []string{"DescribeImageSharePermission"}
	_, srv := simtest.Serve(t, cfg)
	s, err := assumeRole(stsClient(t, srv, ownerKey, ownerSec, "", false), sharerARN, "narrow", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := v4Client(t, srv, s.id, s.secret, s.token)
	if _, err := describe(c, imageID, 0, 0); err != nil {
		t.Errorf("an allowed action: %v", err)
	}
	if got := code(t, modify(c, imageID, []string{stranger}, nil)); got != ecssim.CodeForbiddenRAM {
		t.Errorf("an action the role does not allow: %q, want %s", got, ecssim.CodeForbiddenRAM)
	}
	if _, err := assumeRole(stsClient(t, srv, s.id, s.secret, s.token, false), chainedARN, "hop2", nil); code(t, err) != ecssim.CodeNoPermission {
		t.Errorf("a session without sts:AssumeRole took a hop: %v", err)
	}
}

func TestSTSThrottled(t *testing.T) {
	cfg := stsConfig()
	cfg.Faults.RateLimits.PerAction = map[string]ecssim.Rate{"AssumeRole": {PerSecond: 0.001, Burst: 1}}
	cfg.Faults.ErrorRate = 1 // ECS weather stays off STS.
	_, srv := simtest.Serve(t, cfg)
	c := stsClient(t, srv, ownerKey, ownerSec, "", false)
	if _, err := assumeRole(c, sharerARN, "first", nil); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err := assumeRole(c, sharerARN, "second", nil)
	if got := code(t, err); got != ecssim.CodeThrottlingUser || httpStatus(t, err) != 400 {
		t.Fatalf("second call: %q (%v), want 400 %s", got, err, ecssim.CodeThrottlingUser)
	}
	if _, err := c.GetCallerIdentity(); err != nil {
		t.Errorf("an action without a rate limit: %v", err)
	}
}
