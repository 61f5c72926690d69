package sts_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/sts"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const (
	acct    = "1111111111111111"
	target  = "2222222222222222"
	issuer  = "https://oidc.example.com/cluster"
	subject = "system:serviceaccount:crossplane-system:provider"
)

var (
	userCreds = credentials.Credentials{AccessKeyID: "LTAIdeployer", AccessKeySecret: "deployer-secret-must-not-leak"}
	rootCreds = credentials.Credentials{AccessKeyID: "LTAIroot", AccessKeySecret: "root-secret-must-not-leak"}
	// envCreds are a valid key of the simulator that only the environment
	// names: any call signed with it read the environment.
	envCreds = credentials.Credentials{AccessKeyID: "LTAIfromEnv", AccessKeySecret: "env-secret-must-not-leak"}

	hop1 = ecssim.RoleARN(acct, "hop1")
	hop2 = ecssim.RoleARN(target, "hop2")
	rrsa = ecssim.RoleARN(acct, "rrsa")
	ack  = ecssim.OIDCProviderARN(acct, "ack")
)

func simConfig() ecssim.Config {
	return ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: acct, AccessKeys: []ecssim.AccessKey{
				{ID: userCreds.AccessKeyID, Secret: userCreds.AccessKeySecret, User: "deployer"},
				{ID: rootCreds.AccessKeyID, Secret: rootCreds.AccessKeySecret, Root: true},
				{ID: envCreds.AccessKeyID, Secret: envCreds.AccessKeySecret, User: "env"},
			}},
			{ID: target},
		},
		Roles: []ecssim.Role{
			{Account: acct, Name: "hop1", TrustedAccounts: []string{acct}},
			{Account: target, Name: "hop2", TrustedRoles: []string{hop1}, ExternalID: "ext-0001"},
			{Account: acct, Name: "rrsa", TrustedOIDC: &ecssim.OIDCTrust{Provider: ack, Subjects: []string{subject}}},
		},
		OIDCProviders: []ecssim.OIDCProvider{{Account: acct, Name: "ack", Issuer: issuer}},
	}
}

func newClient(t *testing.T, url string) *sts.Client {
	t.Helper()
	c, err := sts.New(credentials.STSEndpoint{URL: url, ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("sts.New: %v", err)
	}
	return c
}

// assertNoSecrets fails if any rendering of v shows one of secrets.
func assertNoSecrets(t *testing.T, v any, secrets ...string) {
	t.Helper()
	secrets = append(secrets, userCreds.AccessKeySecret, rootCreds.AccessKeySecret, envCreds.AccessKeySecret)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		text := fmt.Sprintf(format, v)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s shows a secret: %s", format, text)
			}
		}
	}
}

func codeOf(err error) string {
	var e *sts.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprintf("<%v>", err)
}

func TestAssumeRoleChain(t *testing.T) {
	sim, srv := simtest.Serve(t, simConfig())
	c := newClient(t, srv.URL)
	ctx := context.Background()

	s1, err := c.AssumeRole(ctx, userCreds, credentials.AssumeRoleInput{RoleARN: hop1, SessionName: "first", Duration: time.Hour})
	if err != nil {
		t.Fatalf("AssumeRole hop 1: %v", err)
	}
	if !strings.HasPrefix(s1.Credentials.AccessKeyID, "STS.") || s1.Credentials.SecurityToken == "" ||
		s1.Expiration.Before(time.Now().Add(59*time.Minute)) || s1.ARN != "acs:ram::"+acct+":role/hop1/first" {
		t.Errorf("hop 1 session = %v, want an STS key with a token, an hour long, of role/hop1/first (as STS writes AssumedRoleUser.Arn)", s1)
	}
	assertNoSecrets(t, s1, s1.Credentials.AccessKeySecret, s1.Credentials.SecurityToken)

	s2, err := c.AssumeRole(ctx, s1.Credentials, credentials.AssumeRoleInput{RoleARN: hop2, ExternalID: "ext-0001"})
	if err != nil {
		t.Fatalf("AssumeRole hop 2 with hop 1's session: %v", err)
	}
	id, err := c.GetCallerIdentity(ctx, s2.Credentials)
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	want := credentials.Identity{Type: "AssumedRoleUser", AccountID: target, ARN: "acs:ram::" + target + ":assumed-role/hop2/" + sts.DefaultSessionName}
	if diff := cmp.Diff(want, id, cmpIgnorePrincipal); diff != "" {
		t.Errorf("identity of hop 2's session (-want +got):\n%s", diff)
	}
	if got := sim.Calls("AssumeRole"); got != 2 {
		t.Errorf("AssumeRole called %d times, want 2", got)
	}
}

var cmpIgnorePrincipal = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".PrincipalID" }, cmp.Ignore())

func TestGetCallerIdentity(t *testing.T) {
	_, srv := simtest.Serve(t, simConfig())
	c := newClient(t, srv.URL)
	cases := []struct {
		reason string
		caller credentials.Credentials
		want   credentials.Identity
	}{
		{reason: "a RAM user's key", caller: userCreds, want: credentials.Identity{Type: "RAMUser", AccountID: acct, ARN: "acs:ram::" + acct + ":user/deployer"}},
		{reason: "an account's own key", caller: rootCreds, want: credentials.Identity{Type: "Account", AccountID: acct, ARN: "acs:ram::" + acct + ":root"}},
	}
	for _, tc := range cases {
		got, err := c.GetCallerIdentity(context.Background(), tc.caller)
		if err != nil {
			t.Errorf("%s: %v", tc.reason, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpIgnorePrincipal); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
		if got.PrincipalID == "" {
			t.Errorf("%s: no PrincipalID", tc.reason)
		}
	}
}

// TestUserAgent: STS calls name the provider and its replica, as ECS calls
// do, so that ActionTrail and the leader-election test can tell who called.
func TestUserAgent(t *testing.T) {
	sim, srv := simtest.Serve(t, simConfig())
	const agent = "provider-alibabacloud-ecs/v0.0.0-test (pid 4242)"
	c, err := sts.New(credentials.STSEndpoint{URL: srv.URL, UserAgent: agent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCallerIdentity(context.Background(), userCreds); err != nil {
		t.Fatal(err)
	}
	for ua := range sim.CallsByUserAgent() {
		if !strings.HasSuffix(ua, agent) {
			t.Errorf("an STS call sent User-Agent %q, want it to end with %q", ua, agent)
		}
	}
	if len(sim.CallsByUserAgent()) == 0 {
		t.Error("the simulator recorded no call")
	}
}

func TestAssumeRoleErrors(t *testing.T) {
	_, srv := simtest.Serve(t, simConfig())
	c := newClient(t, srv.URL)
	unknown := credentials.Credentials{AccessKeyID: "LTAIunknown", AccessKeySecret: "unknown-secret-must-not-leak"}
	cases := []struct {
		reason   string
		caller   credentials.Credentials
		in       credentials.AssumeRoleInput
		wantCode string
		wantText string
		calls    bool
	}{
		{reason: "a root key may not assume roles", caller: rootCreds, in: credentials.AssumeRoleInput{RoleARN: hop1},
			wantCode: "NoPermission", wantText: "trust policy must name the caller", calls: true},
		{reason: "a role that does not exist", caller: userCreds, in: credentials.AssumeRoleInput{RoleARN: ecssim.RoleARN(acct, "nope")},
			wantCode: "EntityNotExist.Role", wantText: "Check roleARN", calls: true},
		{reason: "an untrusted caller", caller: userCreds, in: credentials.AssumeRoleInput{RoleARN: hop2, ExternalID: "ext-0001"},
			wantCode: "NoPermission", calls: true},
		{reason: "an unknown key", caller: unknown, in: credentials.AssumeRoleInput{RoleARN: hop1},
			wantCode: "InvalidAccessKeyId.NotFound", wantText: "source credentials are wrong or expired", calls: true},
		{reason: "a wrong secret", caller: credentials.Credentials{AccessKeyID: userCreds.AccessKeyID, AccessKeySecret: "wrong-secret-must-not-leak"},
			in: credentials.AssumeRoleInput{RoleARN: hop1}, wantCode: "SignatureDoesNotMatch", calls: true},
		{reason: "a session name STS refuses is named before calling", caller: userCreds, in: credentials.AssumeRoleInput{RoleARN: hop1, SessionName: "has space"},
			wantText: "session name"},
		{reason: "a duration STS refuses is named before calling", caller: userCreds, in: credentials.AssumeRoleInput{RoleARN: hop1, Duration: time.Minute},
			wantText: "session duration"},
		{reason: "no role", caller: userCreds, in: credentials.AssumeRoleInput{}, wantText: "no role ARN"},
		{reason: "no caller credentials, and no environment to fall back on", in: credentials.AssumeRoleInput{RoleARN: hop1}, wantText: "no caller credentials"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			_, err := c.AssumeRole(context.Background(), tc.caller, tc.in)
			var e *sts.Error
			if !errors.As(err, &e) {
				t.Fatalf("AssumeRole error = %v, want an *sts.Error", err)
			}
			if e.Code != tc.wantCode || !strings.Contains(err.Error(), tc.wantText) || !strings.HasPrefix(err.Error(), "STS AssumeRole failed: ") {
				t.Errorf("AssumeRole error = %q (code %q), want code %q saying %q", err, e.Code, tc.wantCode, tc.wantText)
			}
			if (e.RequestID != "") != tc.calls {
				t.Errorf("request id %q; want one only for a call made", e.RequestID)
			}
			assertNoSecrets(t, err, "unknown-secret-must-not-leak", "wrong-secret-must-not-leak")
		})
	}
}

func TestAssumeRoleWithOIDC(t *testing.T) {
	sim, srv := simtest.Serve(t, simConfig())
	c := newClient(t, srv.URL)
	mint := func(aud string, ttl time.Duration) string {
		t.Helper()
		tok, err := sim.MintOIDCToken(ack, subject, aud, ttl)
		if err != nil {
			t.Fatalf("MintOIDCToken: %v", err)
		}
		return tok
	}
	good := mint(ecssim.DefaultOIDCClientID, time.Hour)
	s, err := c.AssumeRoleWithOIDC(context.Background(), credentials.OIDCInput{RoleARN: rrsa, ProviderARN: ack, Token: good, SessionName: "pod"})
	if err != nil {
		t.Fatalf("AssumeRoleWithOIDC: %v", err)
	}
	if s.ARN != "acs:ram::"+acct+":role/rrsa/pod" || s.Credentials.SecurityToken == "" {
		t.Errorf("session = %v, want one of role/rrsa/pod with a token", s)
	}
	// Anonymous: the call is signed by no key.
	signed := sim.CallsBy(func(c ecssim.Call) string { return c.AccessKeyID }, func(c ecssim.Call) bool { return c.Action == "AssumeRoleWithOIDC" })
	if diff := cmp.Diff(map[string]uint64{"": 1}, signed); diff != "" {
		t.Errorf("keys signing AssumeRoleWithOIDC (-want +got):\n%s", diff)
	}

	expired := mint(ecssim.DefaultOIDCClientID, -time.Minute)
	wrongAud := mint("someone-else", time.Hour)
	cases := []struct {
		reason, token, provider, wantCode, wantText string
	}{
		{reason: "an expired token", token: expired, provider: ack, wantCode: "AuthenticationFail.OIDCToken.Expired", wantText: "token file is stale"},
		{reason: "another audience", token: wrongAud, provider: ack, wantCode: "AuthenticationFail.OIDCToken.AudienceNotMatch", wantText: "audience must be sts.aliyuncs.com"},
		{reason: "an unknown provider", token: good, provider: ecssim.OIDCProviderARN(acct, "other"), wantCode: "AuthenticationFail.NoPermission", wantText: "Check oidcProviderARN"},
		{reason: "no token", provider: ack, wantText: "token is empty"},
	}
	for _, tc := range cases {
		_, err := c.AssumeRoleWithOIDC(context.Background(), credentials.OIDCInput{RoleARN: rrsa, ProviderARN: tc.provider, Token: tc.token})
		if codeOf(err) != tc.wantCode || !strings.Contains(fmt.Sprint(err), tc.wantText) {
			t.Errorf("%s: error %v, want code %q saying %q", tc.reason, err, tc.wantCode, tc.wantText)
		}
		assertNoSecrets(t, err, good, expired, wrongAud)
	}
}

// TestNeverReadsEnvironment puts a valid key, and everything credentials-go
// would read, in the environment, and shows that no call is signed with it:
// the SDK client has no Credential but the one each call sets
// (darabonba-openapi v2.1.13 Client.Init builds none from an empty
// configuration, and AssumeRoleWithOIDC is anonymous).
func TestNeverReadsEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"ALIBABA_CLOUD_ACCESS_KEY_ID": envCreds.AccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": envCreds.AccessKeySecret,
		"ALIBABA_CLOUD_SECURITY_TOKEN": "", "ALIBABA_CLOUD_ROLE_ARN": hop1, "ALIBABA_CLOUD_ROLE_SESSION_NAME": "from-env",
		"ALIBABA_CLOUD_OIDC_PROVIDER_ARN": ack, "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/nonexistent", "ALIBABA_CLOUD_ECS_METADATA": "node",
		"ALIBABA_CLOUD_STS_ENDPOINT": "sts.example.com", "ALIBABA_CLOUD_CREDENTIALS_URI": "http://127.0.0.1:1/creds",
		"ALICLOUD_ACCESS_KEY": envCreds.AccessKeyID, "ALICLOUD_SECRET_KEY": envCreds.AccessKeySecret,
	} {
		t.Setenv(k, v)
	}
	sim, srv := simtest.Serve(t, simConfig())
	c := newClient(t, srv.URL)
	ctx := context.Background()
	tok, err := sim.MintOIDCToken(ack, subject, ecssim.DefaultOIDCClientID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssumeRoleWithOIDC(ctx, credentials.OIDCInput{RoleARN: rrsa, ProviderARN: ack, Token: tok}); err != nil {
		t.Errorf("AssumeRoleWithOIDC: %v", err)
	}
	if _, err := c.AssumeRole(ctx, userCreds, credentials.AssumeRoleInput{RoleARN: hop1}); err != nil {
		t.Errorf("AssumeRole: %v", err)
	}
	if id, err := c.GetCallerIdentity(ctx, rootCreds); err != nil || id.Type != "Account" {
		t.Errorf("GetCallerIdentity(root) = %v, %v; want the root key's Account identity", id, err)
	}
	if _, err := c.AssumeRole(ctx, credentials.Credentials{}, credentials.AssumeRoleInput{RoleARN: hop1}); err == nil {
		t.Error("AssumeRole without caller credentials succeeded")
	}
	keys := sim.CallsBy(func(c ecssim.Call) string { return c.AccessKeyID }, nil)
	want := map[string]uint64{"": 1, userCreds.AccessKeyID: 1, rootCreds.AccessKeyID: 1}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys the calls were signed with (-want +got):\n%s", diff)
	}
}

// TestConcurrentCalls runs calls with different callers at once: with
// -race it shows that per-call credentials on call slots do not race, and
// the answers show no call took another's credentials.
func TestConcurrentCalls(t *testing.T) {
	_, srv := simtest.Serve(t, simConfig())
	c := newClient(t, srv.URL)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			caller, want := userCreds, "RAMUser"
			if i%2 == 1 {
				caller, want = rootCreds, "Account"
			}
			id, err := c.GetCallerIdentity(context.Background(), caller)
			if err != nil || id.Type != want {
				t.Errorf("GetCallerIdentity = %v, %v; want %s", id, err, want)
			}
			if i%4 == 0 {
				if _, err := c.AssumeRole(context.Background(), userCreds, credentials.AssumeRoleInput{RoleARN: hop1}); err != nil {
					t.Errorf("AssumeRole: %v", err)
				}
			}
		})
	}
	wg.Wait()
}

func TestUnreachable(t *testing.T) {
	_, srv := simtest.Serve(t, simConfig())
	url := srv.URL
	srv.Close()
	c := newClient(t, url)
	_, err := c.AssumeRole(context.Background(), userCreds, credentials.AssumeRoleInput{RoleARN: hop1})
	if !sts.IsRetryable(err) || codeOf(err) != "" || !strings.Contains(fmt.Sprint(err), "unreachable") {
		t.Errorf("error = %v, want a retryable one saying STS was unreachable", err)
	}
	assertNoSecrets(t, err)
}

func TestNew(t *testing.T) {
	cases := []struct {
		reason  string
		e       credentials.STSEndpoint
		wantErr string
	}{
		{reason: "the default endpoint", e: credentials.STSEndpoint{}},
		{reason: "a VPC endpoint", e: credentials.STSEndpoint{URL: "https://sts-vpc.cn-hangzhou.aliyuncs.com"}},
		{reason: "plain http to loopback", e: credentials.STSEndpoint{URL: "http://127.0.0.1:8080"}},
		{reason: "plain http elsewhere", e: credentials.STSEndpoint{URL: "http://sts.example.com"}, wantErr: "not loopback"},
		{reason: "a path", e: credentials.STSEndpoint{URL: "https://sts.example.com/x"}, wantErr: "must not have a path"},
		{reason: "a negative timeout", e: credentials.STSEndpoint{ReadTimeout: -time.Second}, wantErr: "negative"},
	}
	for _, tc := range cases {
		_, err := sts.New(tc.e)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: New error = %v, want %q", tc.reason, err, tc.wantErr)
		}
	}
}

func TestThrottled(t *testing.T) {
	sim, srv := simtest.Serve(t, simConfig())
	if err := sim.SetFaults(ecssim.Faults{RateLimits: ecssim.RateLimits{PerAction: map[string]ecssim.Rate{"AssumeRole": {PerSecond: 0.001, Burst: 1}}}}); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	c := newClient(t, srv.URL)
	var err error
	for range 3 {
		if _, err = c.AssumeRole(context.Background(), userCreds, credentials.AssumeRoleInput{RoleARN: hop1}); err != nil {
			break
		}
	}
	if !sts.IsThrottled(err) || !sts.IsRetryable(err) || !strings.Contains(err.Error(), "the provider backs off") {
		t.Errorf("error = %v, want a throttled, retryable one", err)
	}
}

// TestIdentityIsBounded answers GetCallerIdentity, through the real SDK,
// with fields an endpoint made huge: what reaches a configuration's status
// and the pacer's key is bounded.
func TestIdentityIsBounded(t *testing.T) {
	huge := strings.Repeat("x", 200<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"RequestId":"r","IdentityType":%q,"AccountId":%q,"Arn":%q,"PrincipalId":%q,"UserId":"u"}`, huge, huge, huge, huge)
	}))
	t.Cleanup(srv.Close)
	id, err := newClient(t, srv.URL).GetCallerIdentity(context.Background(), credentials.Credentials{AccessKeyID: "LTAIk", AccessKeySecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"Type": id.Type, "AccountID": id.AccountID, "ARN": id.ARN, "PrincipalID": id.PrincipalID} {
		if len(v) > 256+len("…(cut)") {
			t.Errorf("Identity.%s is %d bytes: an endpoint's answer reached it unbounded", name, len(v))
		}
	}
}
