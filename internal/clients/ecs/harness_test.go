package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// Test tenants: owner owns the images; friend and stranger can receive
// shares; other owns foreignID. Every secret and token is listed in secrets,
// which no error may contain.
const (
	owner        = "1234567890123456"
	friend       = "2222222222222222"
	stranger     = "3333333333333333"
	other        = "9999999999999999"
	nobody       = "4444444444444444" // not an account the simulator knows
	region       = "cn-hangzhou"
	imageID      = "m-test0001"
	deprecatedID = "m-deprecated"
	shanghaiID   = "m-shanghai01"
	foreignID    = "m-foreign01"
)

var (
	ownerCreds    = credentials.Credentials{AccessKeyID: "LTAItestOwnerKey", AccessKeySecret: "owner-secret-must-not-leak"}
	otherCreds    = credentials.Credentials{AccessKeyID: "LTAItestOtherKey", AccessKeySecret: "other-secret-must-not-leak"}
	readOnlyCreds = credentials.Credentials{AccessKeyID: "LTAItestReadOnly", AccessKeySecret: "readonly-secret-must-not-leak"}
	stsCreds      = credentials.Credentials{AccessKeyID: "STS.testToken", AccessKeySecret: "sts-secret-must-not-leak", SecurityToken: "sts-token-must-not-leak"}
	expiredCreds  = credentials.Credentials{AccessKeyID: "STS.testExpired", AccessKeySecret: "expired-secret-must-not-leak", SecurityToken: "expired-token-must-not-leak"}
	// Misused credentials: a known ID with a wrong secret or token, an unknown ID.
	wrongSecretCreds = credentials.Credentials{AccessKeyID: ownerCreds.AccessKeyID, AccessKeySecret: "wrong-secret-must-not-leak"}
	wrongTokenCreds  = credentials.Credentials{AccessKeyID: stsCreds.AccessKeyID, AccessKeySecret: stsCreds.AccessKeySecret, SecurityToken: "wrong-token-must-not-leak"}
	unknownKeyCreds  = credentials.Credentials{AccessKeyID: "LTAIunknown", AccessKeySecret: "unknown-secret-must-not-leak"}
)

var secrets = []string{
	ownerCreds.AccessKeySecret, otherCreds.AccessKeySecret, readOnlyCreds.AccessKeySecret,
	stsCreds.AccessKeySecret, stsCreds.SecurityToken, expiredCreds.AccessKeySecret, expiredCreds.SecurityToken,
	wrongSecretCreds.AccessKeySecret, wrongTokenCreds.SecurityToken, unknownKeyCreds.AccessKeySecret,
}

func simKey(c credentials.Credentials) ecssim.AccessKey {
	return ecssim.AccessKey{ID: c.AccessKeyID, Secret: c.AccessKeySecret, SecurityToken: c.SecurityToken}
}

func testConfig() ecssim.Config {
	readOnly := simKey(readOnlyCreds)
	readOnly.AllowedActions = []string{"DescribeImageSharePermission"}
	sts := simKey(stsCreds)
	sts.Expiration = new(time.Now().Add(time.Hour))
	exp := simKey(expiredCreds)
	exp.Expiration = new(time.Now().Add(-time.Hour))
	return ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: owner, AccessKeys: []ecssim.AccessKey{simKey(ownerCreds), readOnly, sts, exp}},
			{ID: friend},
			{ID: stranger},
			{ID: other, AccessKeys: []ecssim.AccessKey{simKey(otherCreds)}},
		},
		Images: []ecssim.Image{
			{ID: imageID, Region: region, Owner: owner, SharedWith: []string{friend}},
			{ID: deprecatedID, Region: region, Owner: owner, Status: "Deprecated"},
			{ID: shanghaiID, Region: "cn-shanghai", Owner: owner},
			{ID: foreignID, Region: region, Owner: other},
		},
	}
}

// accountIDs makes n distinct 16-digit account ids.
func accountIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("5%015d", i+1)
	}
	return out
}

// newClient is the client under test pointed at endpoint, with short
// timeouts unless edit changes them.
func newClient(t *testing.T, endpoint string, creds credentials.Credentials, edit ...func(*ecs.Config)) ecs.Client {
	t.Helper()
	cfg := ecs.Config{Region: region, Endpoint: endpoint, Credentials: creds, ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := ecs.New(cfg)
	if err != nil {
		t.Fatalf("ecs.New: %v", err)
	}
	return c
}

// cannedECS answers every call with one ECS error body (or, with a
// non-JSON contentType, that raw body), for codes the simulator never sends.
func cannedECS(t *testing.T, status int, contentType, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ecsErrorBody is ECS's error document.
func ecsErrorBody(code, message, requestID, authAction string) string {
	detail := ""
	if authAction != "" {
		detail = fmt.Sprintf(`,"AccessDeniedDetail":{"AuthAction":%q,"AuthPrincipalType":"SubUser","NoPermissionType":"ImplicitDeny"}`, authAction)
	}
	return fmt.Sprintf(`{"RequestId":%q,"HostId":"ecs.aliyuncs.com","Code":%q,"Message":%q,"Recommend":"https://api.aliyun.com/troubleshoot?q=%s&product=Ecs&requestId=%s"%s}`,
		requestID, code, message, code, requestID, detail)
}

// assertNoSecrets fails if any rendering of err contains a secret or token.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		text := fmt.Sprintf(format, err)
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("error rendered with %s contains a credential: %s", format, text)
			}
		}
	}
}

// codeOf is the ECS code of err, "" for nil, or a description of an error
// that is not an *ecs.Error.
func codeOf(err error) string {
	var e *ecs.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return fmt.Sprintf("<%T: %v>", err, err)
}

// find is FindShare with a background context.
func find(c ecs.Client, image, account string) (*ecs.Share, error) {
	return c.FindShare(context.Background(), image, account)
}
