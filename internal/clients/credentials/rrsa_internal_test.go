package credentials

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jwt is an unsigned token of payload, which is all checkRRSAToken reads.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"k1"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature"))
}

func TestCheckRRSAToken(t *testing.T) {
	const (
		path   = "/var/run/secrets/tokens/token"
		issuer = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c1234567890"
		sub    = "system:serviceaccount:crossplane-system:provider-alibabacloud-ecs"
	)
	cases := []struct {
		reason string
		token  string
		// wantErr is what the error must say; nil means no error.
		wantErr []string
	}{
		{reason: "ACK's RRSA token: aud a list holding sts.aliyuncs.com",
			token: jwt(`{"iss":"` + issuer + `","sub":"` + sub + `","aud":["sts.aliyuncs.com"],"exp":4102444800}`)},
		{reason: "aud may be a string",
			token: jwt(`{"iss":"` + issuer + `","sub":"` + sub + `","aud":"sts.aliyuncs.com"}`)},
		{reason: "aud may list other audiences beside sts.aliyuncs.com",
			token: jwt(`{"iss":"` + issuer + `","aud":["vault","sts.aliyuncs.com"]}`)},
		{reason: "base64 padding is tolerated",
			token: "eyJhbGciOiJSUzI1NiJ9." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"`+issuer+`","aud":"sts.aliyuncs.com"}`)) + ".c2ln"},

		{reason: "the Kubernetes API's own token is refused",
			token:   jwt(`{"iss":"https://kubernetes.default.svc.cluster.local","sub":"` + sub + `","aud":["https://kubernetes.default.svc.cluster.local","k3s"]}`),
			wantErr: []string{path, "does not hold an RRSA token", "aud does not include sts.aliyuncs.com", "service account token"}},
		{reason: "an audience that only contains sts.aliyuncs.com is not it",
			token:   jwt(`{"iss":"` + issuer + `","aud":"https://sts.aliyuncs.com.example"}`),
			wantErr: []string{"aud does not include sts.aliyuncs.com"}},
		{reason: "no aud is refused",
			token:   jwt(`{"iss":"` + issuer + `"}`),
			wantErr: []string{"aud does not include sts.aliyuncs.com"}},
		{reason: "an aud that is neither a string nor a list of strings is refused",
			token:   jwt(`{"iss":"` + issuer + `","aud":{"sts.aliyuncs.com":true}}`),
			wantErr: []string{"aud does not include sts.aliyuncs.com"}},
		{reason: "no iss is refused",
			token:   jwt(`{"aud":"sts.aliyuncs.com"}`),
			wantErr: []string{"it has no iss"}},
		{reason: "an empty iss is refused",
			token:   jwt(`{"iss":"","aud":"sts.aliyuncs.com"}`),
			wantErr: []string{"it has no iss"}},
		{reason: "a file that is not a JWT is refused",
			token:   "not-a-jwt",
			wantErr: []string{"not a JSON Web Token"}},
		{reason: "a JWT of four parts is refused",
			token:   jwt(`{"iss":"`+issuer+`","aud":"sts.aliyuncs.com"}`) + ".more",
			wantErr: []string{"not a JSON Web Token"}},
		{reason: "a payload that is not base64url is refused",
			token:   "a.b$c.d",
			wantErr: []string{"payload is not base64url"}},
		{reason: "a payload that is not JSON is refused",
			token:   jwt(`iss=x`),
			wantErr: []string{"payload is not a JSON object"}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			err := checkRRSAToken(path, tc.token)
			if tc.wantErr == nil {
				if diff := cmp.Diff("", errText(err)); diff != "" {
					t.Fatalf("%s: checkRRSAToken error (-want +got):\n%s", tc.reason, diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: checkRRSAToken accepted the token", tc.reason)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not say %q", tc.reason, err, w)
				}
			}
			parts := strings.Split(tc.token, ".")
			for _, leak := range append(parts, issuer, sub, "kubernetes.default.svc", "k3s", "sts.aliyuncs.com.example") {
				if len(leak) >= 3 && strings.Contains(err.Error(), leak) {
					t.Errorf("%s: error %q quotes %q from the token", tc.reason, err, leak)
				}
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
