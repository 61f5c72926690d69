package metadata_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/metadata"
)

// imds is a canned metadata service for answers the simulator never gives.
// It requires the token header as hardened mode does.
func imds(t *testing.T, tokenStatus int, role, doc string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			if r.Header.Get("X-aliyun-ecs-metadata-token-ttl-seconds") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(tokenStatus)
			_, _ = w.Write([]byte("tok"))
		case r.Header.Get("X-aliyun-ecs-metadata-token") != "tok":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/ram/security-credentials/":
			_, _ = w.Write([]byte(role))
		case r.URL.Path == "/latest/meta-data/ram/security-credentials/"+strings.TrimSpace(role):
			_, _ = w.Write([]byte(doc))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const goodDoc = `{"AccessKeyId":"STS.abc","AccessKeySecret":"imds-secret-must-not-leak","Expiration":"2030-01-02T03:04:05Z",` +
	`"SecurityToken":"imds-token-must-not-leak","LastUpdated":"2030-01-01T21:04:05Z","Code":"Success"}`

func TestCredentialsCanned(t *testing.T) {
	cases := []struct {
		reason      string
		tokenStatus int
		role, doc   string
		ask         string
		wantErr     string
	}{
		{reason: "the attached role is discovered", tokenStatus: 200, role: "crossplane\n", doc: goodDoc},
		{reason: "a named role is read directly", tokenStatus: 200, role: "crossplane", doc: goodDoc, ask: "crossplane"},
		{reason: "no IMDSv1 fallback when no token is issued", tokenStatus: 403, role: "crossplane", doc: goodDoc, wantErr: "does not fall back to IMDSv1"},
		{reason: "a Code other than Success is refused", tokenStatus: 200, role: "r", doc: strings.Replace(goodDoc, "Success", "Failed", 1), wantErr: `Code "Failed"`},
		{reason: "a missing token is refused", tokenStatus: 200, role: "r", doc: strings.Replace(goodDoc, `"SecurityToken"`, `"X"`, 1), wantErr: "lack SecurityToken"},
		{reason: "an Expiration that is no time is refused", tokenStatus: 200, role: "r", doc: strings.Replace(goodDoc, "2030-01-02T03:04:05Z", "soon", 1), wantErr: "not a time"},
		{reason: "trailing data is refused", tokenStatus: 200, role: "r", doc: goodDoc + `{}`, wantErr: "not one JSON object"},
		{reason: "a huge document is refused", tokenStatus: 200, role: "r", doc: `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, wantErr: "answered more than 64 KiB"},
		{reason: "no role attached", tokenStatus: 200, role: "", doc: goodDoc, wantErr: "not a role name"},
		{reason: "a role name that would change the path", tokenStatus: 200, ask: "../../x", doc: goodDoc, wantErr: "not a RAM role name"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			srv := imds(t, tc.tokenStatus, tc.role, tc.doc)
			c, err := metadata.New(srv.URL, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			sess, err := c.Credentials(context.Background(), tc.ask)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Credentials error = %v, want one saying %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "must-not-leak") {
					t.Errorf("error quotes a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Credentials: %v", err)
			}
			want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			if sess.Credentials.AccessKeyID != "STS.abc" || sess.Credentials.SecurityToken != "imds-token-must-not-leak" || !sess.Expiration.Equal(want) {
				t.Errorf("Credentials = %v, want STS.abc expiring %v", sess, want)
			}
			if strings.Contains(sess.String(), "must-not-leak") {
				t.Errorf("Session.String shows a secret: %s", sess)
			}
		})
	}
}

// TestNoProxyFromEnvironment calls the real service address, which is not
// loopback (Go never proxies loopback), with a proxy in the environment: a
// client that used it would reach the proxy. It must run before anything in
// this test binary reads the proxy environment, which Go reads only once.
func TestNoProxyFromEnvironment(t *testing.T) {
	var proxied atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		proxied.Store(true)
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	c, err := metadata.New("", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Credentials(context.Background(), "")
	if proxied.Load() {
		t.Errorf("the metadata request went through HTTP_PROXY (error %v)", err)
	}
}
