package credentials_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

func TestParse(t *testing.T) {
	const id, secret, token = "LTAIparseKeyId", "parse-secret-value", "parse-token-value"
	longID := "LTAI" + strings.Repeat("L", 125)
	cases := []struct {
		name string
		doc  string
		want credentials.Credentials
		// wantErr lists what the error must say; empty means no error.
		wantErr []string
	}{
		{name: "this provider's keys", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret + `"}`,
			want: credentials.Credentials{AccessKeyID: id, AccessKeySecret: secret}},
		{name: "with a token", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret + `","securityToken":"` + token + `"}`,
			want: credentials.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token}},
		{name: "provider-upjet-alibabacloud's keys", doc: `{"access_key":"` + id + `","secret_key":"` + secret + `","security_token":"` + token + `"}`,
			want: credentials.Credentials{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token}},
		{name: "unknown keys and whitespace tolerated", doc: " {\"accessKeyId\":\" " + id + "\\n\",\"accessKeySecret\":\"" + secret + "\",\"region\":\"cn-hangzhou\",\"note\":{\"a\":1}}\n",
			want: credentials.Credentials{AccessKeyID: id, AccessKeySecret: secret}},
		{name: "the same value under both spellings", doc: `{"accessKeyId":"` + id + `","access_key":"` + id + `","accessKeySecret":"` + secret + `"}`,
			want: credentials.Credentials{AccessKeyID: id, AccessKeySecret: secret}},
		{name: "null token is absent", doc: `{"accessKeyId":"` + id + `","accessKeySecret":"` + secret + `","securityToken":null}`,
			want: credentials.Credentials{AccessKeyID: id, AccessKeySecret: secret}},

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
			want: credentials.Credentials{AccessKeyID: "STS.NUparseKeyId0", AccessKeySecret: secret, SecurityToken: token}},
		{name: "an AccessKey ID of 128 characters", doc: `{"accessKeyId":"` + longID[:128] + `","accessKeySecret":"` + secret + `"}`,
			want: credentials.Credentials{AccessKeyID: longID[:128], AccessKeySecret: secret}},
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
			got, err := credentials.Parse([]byte(tc.doc))
			if len(tc.wantErr) == 0 {
				if err != nil || got != tc.want {
					t.Fatalf("Parse = %#v, %v; want %#v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse = %#v, want an error", got)
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
	sts := credentials.Credentials{AccessKeyID: "LTAIshownKeyId", AccessKeySecret: "hidden-secret", SecurityToken: "hidden-token"}
	ak := credentials.Credentials{AccessKeyID: sts.AccessKeyID, AccessKeySecret: sts.AccessKeySecret}
	for _, creds := range []credentials.Credentials{sts, ak} {
		for _, v := range []any{creds, &creds} {
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

func TestSessionsAndOIDCInputsAreRedacted(t *testing.T) {
	secrets := []string{"hidden-secret", "hidden-token", "hidden-oidc-token"}
	sess := credentials.Session{Credentials: credentials.Credentials{AccessKeyID: "STS.shownKeyId", AccessKeySecret: secrets[0], SecurityToken: secrets[1]},
		Expiration: time.Now(), ARN: "acs:ram::1:assumed-role/r/s"}
	in := credentials.OIDCInput{RoleARN: "acs:ram::1:role/r", ProviderARN: "acs:ram::1:oidc-provider/p", Token: secrets[2]}
	for _, v := range []any{sess, &sess, in, &in} {
		for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
			text := fmt.Sprintf(format, v)
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s of %T leaks a credential: %s", format, v, text)
				}
			}
		}
	}
}

func TestRedactor(t *testing.T) {
	r := credentials.Redactor("hidden-secret", "", "hidden-token")
	got := r.Replace("signed with hidden-secret and hidden-token, not with ''")
	if want := "signed with REDACTED and REDACTED, not with ''"; got != want {
		t.Errorf("Replace = %q, want %q", got, want)
	}
}
