package ecs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

func TestParseCredentials(t *testing.T) {
	const id, secret, token = "LTAIparseKeyId", "parse-secret-value", "parse-token-value"
	longID := "LTAI" + strings.Repeat("L", 125)
	cases := []struct {
		name string
		doc  string
		want ecs.Credentials
		// wantErr lists what the error must say; empty means no error.
		wantErr []string
	}{
		{name: "this provider's keys", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret + `"}`,
			want: ecs.Credentials{AccessKeyID: id, AccessKeySecret: secret}},
		{name: "with a token", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret + `","securityToken":"` + token + `"}`,
			want: ecs.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token}},
		{name: "provider-upjet-alibabacloud's keys", doc: `{"access_key":"` + id + `","secret_key":"` + secret + `","security_token":"` + token + `"}`,
			want: ecs.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token}},
		{name: "unknown keys and whitespace tolerated", doc: " {\"accessKeyId\":\" " + id + "\\n\",\"accessKeySecret\":\"" + secret + "\",\"region\":\"cn-hangzhou\",\"note\":{\"a\":1}}\n",
			want: ecs.Credentials{AccessKeyID: id, AccessKeySecret: secret}},
		{name: "the same value under both spellings", doc: `{"accessKeyId":"` + id + `","access_key":"` + id + `","accessKeySecret":"` + secret + `"}`,
			want: ecs.Credentials{AccessKeyID: id, AccessKeySecret: secret}},
		{name: "null token is absent", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret + `","securityToken":null}`,
			want: ecs.Credentials{AccessKeyID: id, AccessKeySecret: secret}},

		{name: "missing secret", doc: `{"accessKeyId":"` + id + `"}`, wantErr: []string{"accessKeySecret (or secret_key)"}},
		{name: "missing id", doc: `{"secret_key":"` + secret + `"}`, wantErr: []string{"accessKeyId (or access_key)"}},
		{name: "empty secret", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"  "}`, wantErr: []string{"accessKeySecret (or secret_key)"}},
		{name: "empty object", doc: `{}`, wantErr: []string{"accessKeyId (or access_key) and accessKeySecret (or secret_key)"}},
		{name: "empty document", doc: "", wantErr: []string{"empty"}},
		{name: "whitespace document", doc: " \n", wantErr: []string{"empty"}},
		{name: "not JSON", doc: id + ":" + secret, wantErr: []string{"not a JSON object"}},
		{name: "truncated JSON", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret, wantErr: []string{"not a JSON object"}},
		{name: "JSON array", doc: `["` + id + `","` + secret + `"]`, wantErr: []string{"not a JSON object"}},
		{name: "JSON null", doc: `null`, wantErr: []string{"not a JSON object"}},
		{name: "a secret that is not a string", doc: `{"accessKeyId":"` + id + `","accessKeySecret":12345}`, wantErr: []string{"accessKeySecret must be a string"}},
		{name: "conflicting spellings", doc: `{"accessKeyId":"` + id + `","access_key":"LTAIanother","accessKeySecret":"` + secret + `"}`,
			wantErr: []string{"both accessKeyId and access_key"}},

		{name: "an STS AccessKey ID", doc: `{"accessKeyId":"STS.NUparseKeyId0","accessKeySecret":"` + secret + `","securityToken":"` + token + `"}`,
			want: ecs.Credentials{AccessKeyID: "STS.NUparseKeyId0", AccessKeySecret: secret, SecurityToken: token}},
		{name: "an AccessKey ID of 128 characters", doc: `{"accessKeyId":"` + longID[:128] + `","accessKeySecret":"` + secret + `"}`,
			want: ecs.Credentials{AccessKeyID: longID[:128], AccessKeySecret: secret}},
		{name: "the ID and the secret swapped", doc: `{"accessKeyId":"` + secret + `","accessKeySecret":"` + id + `"}`,
			wantErr: []string{"accessKeyId may hold only letters, digits and dots", "swapped"}},
		{name: "an ID with a space", doc: `{"accessKeyId":"LTAI spaced","accessKeySecret":"` + secret + `"}`,
			wantErr: []string{"accessKeyId may hold only letters, digits and dots"}},
		{name: "an ID with a non-ASCII letter", doc: `{"accessKeyId":"LTAIcafé","accessKeySecret":"` + secret + `"}`,
			wantErr: []string{"accessKeyId may hold only letters, digits and dots"}},
		{name: "an ID with a slash", doc: `{"accessKeyId":"acs:ram::1:role/x","accessKeySecret":"` + secret + `"}`,
			wantErr: []string{"accessKeyId may hold only letters, digits and dots"}},
		{name: "an ID of 129 characters", doc: `{"accessKeyId":"` + longID + `","accessKeySecret":"` + secret + `"}`,
			wantErr: []string{"accessKeyId is longer than 128 characters"}},
		{name: "a malformed ID under provider-upjet-alibabacloud's key", doc: `{"access_key":"LTAI_under","secret_key":"` + secret + `"}`,
			wantErr: []string{"access_key may hold only letters, digits and dots"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ecs.ParseCredentials([]byte(tc.doc))
			if len(tc.wantErr) == 0 {
				if err != nil || got != tc.want {
					t.Fatalf("ParseCredentials = %#v, %v; want %#v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseCredentials = %#v, want an error", got)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, v := range []string{id, secret, token, "12345", "LTAIanother", "LTAI spaced", "LTAIcafé", "acs:ram", "LTAI_under", longID[:20]} {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q echoes a value from the document", err)
				}
			}
		})
	}
}

func TestCredentialsAreRedacted(t *testing.T) {
	sts := ecs.Credentials{AccessKeyID: "LTAIshownKeyId", AccessKeySecret: "hidden-secret", SecurityToken: "hidden-token"}
	ak := ecs.Credentials{AccessKeyID: sts.AccessKeyID, AccessKeySecret: sts.AccessKeySecret}
	for _, creds := range []ecs.Credentials{sts, ak} {
		cfg := ecs.Config{Region: region, Credentials: creds}
		for _, v := range []any{creds, &creds, cfg, &cfg} {
			for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
				text := fmt.Sprintf(format, v)
				if strings.Contains(text, sts.AccessKeySecret) || strings.Contains(text, sts.SecurityToken) {
					t.Errorf("%s of %T leaks a credential: %s", format, v, text)
				}
				if !strings.Contains(text, creds.AccessKeyID) {
					t.Errorf("%s of %T hides the AccessKey ID, which identifies the key: %s", format, v, text)
				}
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	good := ecs.Config{Region: region, Credentials: ownerCreds}
	cases := []struct {
		name    string
		edit    func(*ecs.Config)
		wantErr string
	}{
		{name: "the SDK's regional endpoint", edit: func(*ecs.Config) {}},
		{name: "an endpoint URL and timeouts", edit: func(c *ecs.Config) {
			c.Endpoint, c.ConnectTimeout, c.ReadTimeout = "https://ecs-vpc.cn-hangzhou.aliyuncs.com", time.Second, 500*time.Microsecond
		}},
		{name: "STS credentials", edit: func(c *ecs.Config) { c.Credentials = stsCreds }},
		{name: "no region", edit: func(c *ecs.Config) { c.Region = "" }, wantErr: "region is required"},
		{name: "a region that is not an id", edit: func(c *ecs.Config) { c.Region = "evil.example.com/x" }, wantErr: "not a region id"},
		{name: "no credentials", edit: func(c *ecs.Config) { c.Credentials = ecs.Credentials{} }, wantErr: "AccessKey ID and an AccessKey secret"},
		{name: "no secret", edit: func(c *ecs.Config) { c.Credentials.AccessKeySecret = "" }, wantErr: "AccessKey ID and an AccessKey secret"},
		{name: "an endpoint without scheme", edit: func(c *ecs.Config) { c.Endpoint = "127.0.0.1:8080" }, wantErr: "not a URL"},
		{name: "a negative timeout", edit: func(c *ecs.Config) { c.ReadTimeout = -time.Second }, wantErr: "negative"},
		{name: "plain http to a simulator on loopback", edit: func(c *ecs.Config) { c.Endpoint = "http://127.0.0.1:8080" }},
		{name: "plain http to anything in 127/8", edit: func(c *ecs.Config) { c.Endpoint = "http://127.1.2.3:8080" }},
		{name: "plain http to localhost", edit: func(c *ecs.Config) { c.Endpoint = "http://LOCALHOST:8080/" }},
		{name: "plain http to IPv6 loopback", edit: func(c *ecs.Config) { c.Endpoint = "http://[::1]:8080" }},
		{name: "plain http to another host would send the token in clear", edit: func(c *ecs.Config) {
			c.Endpoint, c.Credentials = "http://ecs.cn-hangzhou.aliyuncs.com", stsCreds
		}, wantErr: "plain http to a host that is not loopback"},
		{name: "a name that starts like loopback is not loopback", edit: func(c *ecs.Config) { c.Endpoint = "http://127.0.0.1.nip.io" }, wantErr: "not loopback"},
		{name: "a private address is not loopback", edit: func(c *ecs.Config) { c.Endpoint = "http://192.168.1.10:8080" }, wantErr: "not loopback"},
		{name: "plain http to another host, explicitly allowed", edit: func(c *ecs.Config) { c.Endpoint, c.AllowPlainHTTP = "http://ecs.internal:8080", true }},
		{name: "a CA bundle that holds no certificate", edit: func(c *ecs.Config) { c.CABundle = []byte("not PEM") }, wantErr: "holds no PEM certificate"},
		{name: "a CA bundle with plain http", edit: func(c *ecs.Config) {
			c.Endpoint, c.CABundle = "http://127.0.0.1:8080", testCA(t).PEM
		}, wantErr: "applies only to an https endpoint"},
		{name: "a CA bundle for the regional endpoint, e.g. behind a TLS-inspecting proxy", edit: func(c *ecs.Config) { c.CABundle = testCA(t).PEM }},
		{name: "nothing at all", edit: func(c *ecs.Config) { *c = ecs.Config{} }, wantErr: "region is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			c, err := ecs.New(cfg)
			if tc.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New = %v, %v; want a client", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New error = %v, want one saying %q", err, tc.wantErr)
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestFingerprint(t *testing.T) {
	base := ecs.Config{
		Region: "cn-hangzhou", Endpoint: "https://ecs.example.com", CABundle: []byte("pem"),
		Credentials:    ecs.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "secret", SecurityToken: "token"},
		ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second,
	}
	cases := map[string]struct {
		reason string
		edit   func(*ecs.Config)
		same   bool
	}{
		"Region":         {reason: "another region is another client", edit: func(c *ecs.Config) { c.Region = "cn-shanghai" }},
		"Endpoint":       {reason: "another endpoint is another client", edit: func(c *ecs.Config) { c.Endpoint = "https://ecs-vpc.example.com" }},
		"AllowPlainHTTP": {reason: "the plain http switch is part of the client", edit: func(c *ecs.Config) { c.AllowPlainHTTP = true }},
		"CABundle":       {reason: "another CA bundle verifies differently", edit: func(c *ecs.Config) { c.CABundle = []byte("other") }},
		"AccessKeyID":    {reason: "another key is another identity", edit: func(c *ecs.Config) { c.Credentials.AccessKeyID = "LTAIother" }},
		"Secret":         {reason: "a wrong secret for the same key must not reuse the right one's client", edit: func(c *ecs.Config) { c.Credentials.AccessKeySecret = "wrong" }},
		"Token":          {reason: "a refreshed STS token is a new client", edit: func(c *ecs.Config) { c.Credentials.SecurityToken = "token2" }},
		"Timeouts":       {reason: "timeouts are fixed per client", edit: func(c *ecs.Config) { c.ReadTimeout = time.Minute }},
		"FieldsRunTogether": {reason: "fields are delimited: moving a character between two fields changes the fingerprint",
			edit: func(c *ecs.Config) { c.Credentials.AccessKeyID, c.Credentials.AccessKeySecret = "LTAIkeys", "ecret" }},
		"Hooks": {reason: "the per-process hooks do not make another client", same: true,
			edit: func(c *ecs.Config) { c.UserAgent = "provider/v1 (pid 1)"; c.Metrics = metrics.New() }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			changed := base
			tc.edit(&changed)
			if got := changed.Fingerprint() == base.Fingerprint(); got != tc.same {
				t.Errorf("%s: same fingerprint = %v, want %v", tc.reason, got, tc.same)
			}
			if strings.Contains(changed.Fingerprint(), changed.Credentials.AccessKeySecret) {
				t.Errorf("the fingerprint contains the secret")
			}
		})
	}
}
