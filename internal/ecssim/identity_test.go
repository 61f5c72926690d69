package ecssim_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

func TestIdentitiesValidate(t *testing.T) {
	cases := []struct {
		reason  string
		edit    func(*ecssim.Config)
		wantErr string // "" for a valid configuration
	}{
		{reason: "the STS test tenants", edit: func(*ecssim.Config) {}},
		{reason: "a root key with a user", edit: func(c *ecssim.Config) {
			c.Accounts[0].AccessKeys[0].Root, c.Accounts[0].AccessKeys[0].User = true, "bob"
		}, wantErr: "root key"},
		{reason: "a user name with a space", edit: func(c *ecssim.Config) { c.Accounts[0].AccessKeys[0].User = "bob smith" }, wantErr: "RAM user name"},
		{reason: "a role of an unknown account", edit: func(c *ecssim.Config) { c.Roles[0].Account = "5555" }, wantErr: "not among accounts"},
		{reason: "a role name with a slash", edit: func(c *ecssim.Config) { c.Roles[0].Name = "a/b" }, wantErr: "must be 1-64 of"},
		{reason: "a role listed twice in another case", edit: func(c *ecssim.Config) { c.Roles[1].Name = "SHARER" }, wantErr: "listed twice"},
		{reason: "a maximum session under an hour", edit: func(c *ecssim.Config) { c.Roles[0].MaxSessionDuration = 1800 }, wantErr: "maxSessionDuration"},
		{reason: "a maximum session over 12 hours", edit: func(c *ecssim.Config) { c.Roles[0].MaxSessionDuration = 43201 }, wantErr: "maxSessionDuration"},
		{reason: "a one-character external id", edit: func(c *ecssim.Config) { c.Roles[1].ExternalID = "x" }, wantErr: "externalId"},
		{reason: "an external id with a space", edit: func(c *ecssim.Config) { c.Roles[1].ExternalID = "a b" }, wantErr: "externalId"},
		{reason: "a trusted account that is not a UID", edit: func(c *ecssim.Config) { c.Roles[0].TrustedAccounts = []string{"bob"} }, wantErr: "numeric"},
		{reason: "a trusted role that does not exist", edit: func(c *ecssim.Config) { c.Roles[3].TrustedRoles = []string{ecssim.RoleARN(owner, "ghost")} }, wantErr: "not among roles"},
		{reason: "a trusted OIDC provider that does not exist", edit: func(c *ecssim.Config) { c.Roles[4].TrustedOIDC.Provider = "acs:ram::1:oidc-provider/x" }, wantErr: "not among oidcProviders"},
		{reason: "an empty trusted service", edit: func(c *ecssim.Config) { c.Roles[5].TrustedServices = []string{""} }, wantErr: "trusted services"},
		{reason: "a provider of an unknown account", edit: func(c *ecssim.Config) { c.OIDCProviders[0].Account = "5555" }, wantErr: "not among accounts"},
		{reason: "a provider with a plain-http issuer", edit: func(c *ecssim.Config) { c.OIDCProviders[0].Issuer = "http://oidc.example.com" }, wantErr: "https URL"},
		{reason: "a provider with an empty client id", edit: func(c *ecssim.Config) { c.OIDCProviders[0].ClientIDs = []string{""} }, wantErr: "client ids"},
		{reason: "a provider listed twice", edit: func(c *ecssim.Config) { c.OIDCProviders = append(c.OIDCProviders, c.OIDCProviders[0]) }, wantErr: "listed twice"},
		{reason: "an instance with an unknown role", edit: func(c *ecssim.Config) { c.Instance.RoleARN = ecssim.RoleARN(owner, "ghost") }, wantErr: "not among roles"},
		{reason: "an instance role that does not trust ECS", edit: func(c *ecssim.Config) { c.Instance.RoleARN = sharerARN }, wantErr: "must trust ecs.aliyuncs.com"},
		{reason: "a negative session lifetime", edit: func(c *ecssim.Config) { c.STS.SessionLifetime.Duration = -time.Second }, wantErr: "sessionLifetime"},
	}
	for _, tc := range cases {
		cfg := stsConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.reason, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.reason, err, tc.wantErr)
		}
	}
}

// TestSTSLogsNoSecrets: the call log names STS and metadata calls but never
// a secret, a security token, an OIDC token or a metadata token.
func TestSTSLogsNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	sim, srv := simtest.Serve(t, stsConfig(), ecssim.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	s, err := assumeRole(stsClient(t, srv, ownerKey, ownerSec, "", false), sharerARN, "logged", nil)
	if err != nil {
		t.Fatal(err)
	}
	oidc, err := sim.MintOIDCToken(rrsaProvider, rrsaSubject, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	o, err := assumeRoleWithOIDC(stsClient(t, srv, "", "", "", false), rrsaProvider, rrsaARN, oidc)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = assumeRoleWithOIDC(stsClient(t, srv, "", "", "", false), rrsaProvider, sharerARN, oidc)
	token := imdsToken(t, srv, "60")
	m := readCredentials(t, srv, token)
	log := buf.String()
	for _, want := range []string{"action=AssumeRole ", "action=AssumeRoleWithOIDC ", "outcome=NoPermission", "host=sts.aliyuncs.com", "action=MetadataCredentials"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, secret := range []string{ownerSec, s.secret, s.token, oidc, tea.StringValue(o.Credentials.AccessKeySecret),
		tea.StringValue(o.Credentials.SecurityToken), token, m.AccessKeySecret, m.SecurityToken} {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds a credential")
		}
	}
}
