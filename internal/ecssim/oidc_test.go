package ecssim_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	sts "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

func assumeRoleWithOIDC(c *sts.Client, provider, role, token string) (*sts.AssumeRoleWithOIDCResponseBody, error) {
	resp, err := c.AssumeRoleWithOIDC(&sts.AssumeRoleWithOIDCRequest{
		OIDCProviderArn: tea.String(provider), RoleArn: tea.String(role), OIDCToken: tea.String(token),
		RoleSessionName: tea.String("rrsa-session"),
	})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// forgeSubject swaps a token's claims for others, keeping its signature.
func forgeSubject(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(claims), rrsaSubject, "system:serviceaccount:kube-system:admin", 1)
	if forged == string(claims) {
		t.Fatal("forgeSubject: the subject is not in the claims")
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	return strings.Join(parts, ".")
}

func TestAssumeRoleWithOIDC(t *testing.T) {
	clock := simtest.NewClock()
	sim, srv := simtest.Serve(t, stsConfig(), ecssim.WithClock(clock.Now))
	mint := func(provider, subject, aud string, ttl time.Duration) string {
		t.Helper()
		tok, err := sim.MintOIDCToken(provider, subject, aud, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint(rrsaProvider, rrsaSubject, "", time.Hour)
	cases := []struct {
		reason     string
		provider   string
		role       string
		token      string
		wantCode   string
		wantStatus int
	}{
		{reason: "a projected token of the trusted service account", token: good},
		{reason: "an expired token", token: mint(rrsaProvider, rrsaSubject, "", -time.Minute), wantCode: ecssim.CodeOIDCTokenExpired, wantStatus: 401},
		{reason: "a token for another audience", token: mint(rrsaProvider, rrsaSubject, "kubernetes.default.svc", 0), wantCode: ecssim.CodeOIDCTokenAudience, wantStatus: 401},
		{reason: "a token signed by another provider's key", token: mint(otherProvider, rrsaSubject, "", 0), wantCode: ecssim.CodeOIDCTokenSignature, wantStatus: 401},
		{reason: "a token whose claims were changed", token: forgeSubject(t, good), wantCode: ecssim.CodeOIDCTokenSignature, wantStatus: 401},
		{reason: "not a JWT", token: "not.a-jwt", wantCode: ecssim.CodeOIDCTokenInvalid, wantStatus: 401},
		{reason: "an unsigned JWT", token: strings.Join(strings.Split(good, ".")[:2], ".") + ".", wantCode: ecssim.CodeOIDCTokenSignature, wantStatus: 401},
		{reason: "a service account the role does not trust", token: mint(rrsaProvider, "system:serviceaccount:default:other", "", 0), wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{reason: "a role that trusts no OIDC provider", role: sharerARN, token: good, wantCode: ecssim.CodeNoPermission, wantStatus: 403},
		{reason: "an unknown provider", provider: ecssim.OIDCProviderARN(owner, "ack-rrsa-nope"), token: good, wantCode: ecssim.CodeNoSuchOIDCProvider, wantStatus: 401},
		{reason: "an unknown role", role: ecssim.RoleARN(owner, "nobody"), token: good, wantCode: ecssim.CodeRoleNotExist, wantStatus: 404},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			provider, role := tc.provider, tc.role
			if provider == "" {
				provider = rrsaProvider
			}
			if role == "" {
				role = rrsaARN
			}
			body, err := assumeRoleWithOIDC(stsClient(t, srv, "", "", "", false), provider, role, tc.token)
			if c := code(t, err); c != tc.wantCode {
				t.Fatalf("%s: code %q, want %q (%v)", tc.reason, c, tc.wantCode, err)
			}
			if err != nil {
				if s := httpStatus(t, err); s != tc.wantStatus {
					t.Errorf("%s: status %d, want %d", tc.reason, s, tc.wantStatus)
				}
				if strings.Contains(err.Error(), tc.token) {
					t.Errorf("%s: the error quotes the token", tc.reason)
				}
				return
			}
			info := body.OIDCTokenInfo
			got := []string{tea.StringValue(info.Subject), tea.StringValue(info.Issuer), tea.StringValue(info.ClientIds),
				tea.StringValue(info.VerificationInfo), tea.StringValue(info.ExpirationTime),
				tea.StringValue(body.AssumedRoleUser.Arn), tea.StringValue(body.Credentials.Expiration)}
			want := []string{rrsaSubject, rrsaIssuer, ecssim.DefaultOIDCClientID, "Success", expiration(clock.Now(), time.Hour),
				rrsaARN + "/rrsa-session", expiration(clock.Now(), time.Hour)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: answer (-want +got):\n%s", tc.reason, diff)
			}
			cr := body.Credentials
			if _, err := describe(v4Client(t, srv, tea.StringValue(cr.AccessKeyId), tea.StringValue(cr.AccessKeySecret),
				tea.StringValue(cr.SecurityToken)), imageID, 0, 0); err != nil {
				t.Errorf("%s: ECS with the issued credentials: %v", tc.reason, err)
			}
		})
	}
}

// TestOIDCIssuerChanged: a token from before the provider's issuer URL
// changed names the old issuer, which STS refuses.
func TestOIDCIssuerChanged(t *testing.T) {
	cfg := stsConfig()
	sim, srv := simtest.Serve(t, cfg)
	token, err := sim.MintOIDCToken(rrsaProvider, rrsaSubject, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OIDCProviders[0].Issuer = "https://oidc-ack-cn-hangzhou.example.com/c2"
	if err := sim.Load(cfg); err != nil {
		t.Fatal(err)
	}
	_, err = assumeRoleWithOIDC(stsClient(t, srv, "", "", "", false), rrsaProvider, rrsaARN, token)
	if got := code(t, err); got != ecssim.CodeOIDCTokenIssuerNotMatch {
		t.Fatalf("code %q, want %s (%v)", got, ecssim.CodeOIDCTokenIssuerNotMatch, err)
	}
}

// TestOIDCAudiences: a provider with client IDs accepts a token for any of
// them and no longer the default.
func TestOIDCAudiences(t *testing.T) {
	cfg := stsConfig()
	cfg.OIDCProviders[0].ClientIDs = []string{"app-a", "app-b"}
	sim, srv := simtest.Serve(t, cfg)
	for aud, want := range map[string]string{"app-b": "", ecssim.DefaultOIDCClientID: ecssim.CodeOIDCTokenAudience} {
		token, err := sim.MintOIDCToken(rrsaProvider, rrsaSubject, aud, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = assumeRoleWithOIDC(stsClient(t, srv, "", "", "", false), rrsaProvider, rrsaARN, token)
		if got := code(t, err); got != want {
			t.Errorf("audience %s: code %q, want %q", aud, got, want)
		}
	}
}

func TestMintOIDCTokenRefuses(t *testing.T) {
	sim, err := ecssim.New(stsConfig())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ reason, provider, subject string }{
		{reason: "an unknown provider", provider: ecssim.OIDCProviderARN(owner, "nope"), subject: rrsaSubject},
		{reason: "a provider named, not by its ARN", provider: "ack-rrsa-c1", subject: rrsaSubject},
		{reason: "no subject", provider: rrsaProvider},
	}
	for _, tc := range cases {
		if _, err := sim.MintOIDCToken(tc.provider, tc.subject, "", 0); err == nil {
			t.Errorf("%s: minted a token", tc.reason)
		}
	}
}
