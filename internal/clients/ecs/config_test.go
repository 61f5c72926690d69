package ecs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

func TestConfigIsRedacted(t *testing.T) {
	sts := credentials.Credentials{AccessKeyID: "LTAIshownKeyId", AccessKeySecret: "hidden-secret", SecurityToken: "hidden-token"}
	cfg := ecs.Config{Region: region, Credentials: sts}
	for _, v := range []any{cfg, &cfg} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			text := fmt.Sprintf(format, v)
			if strings.Contains(text, sts.AccessKeySecret) || strings.Contains(text, sts.SecurityToken) {
				t.Errorf("%s of %T leaks a credential: %s", format, v, text)
			}
			if !strings.Contains(text, sts.AccessKeyID) {
				t.Errorf("%s of %T hides the AccessKey ID, which identifies the key: %s", format, v, text)
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
		{name: "no credentials", edit: func(c *ecs.Config) { c.Credentials = credentials.Credentials{} }, wantErr: "AccessKey ID and an AccessKey secret"},
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
		Credentials:    credentials.Credentials{AccessKeyID: "LTAIkey", AccessKeySecret: "secret", SecurityToken: "token"},
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
