package ecssim_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	rpcecs "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// Keys the owner account gets on top of testConfig, for the credential checks
// that come before any image is looked at, plus two that name nobody's key.
const (
	credSTSKey        = "STS.testOwnerKey"
	credSTSSecret     = "stsSecret"
	credSTSToken      = "CAIS-test-security-token"
	credExpiredKey    = "STS.testExpiredKey"
	credExpiredSecret = "expiredSecret"
	credExpiredToken  = "CAIS-expired-security-token"
	credRAMKey        = "LTAItestRAMDescribeOnly"
	credRAMSecret     = "ramSecret"
	credWrongSecret   = "notTheSecret"
	credUnknownKey    = "LTAItestNobodysKey"
)

const (
	rpcReadLimit = 5 * time.Second
	rpcDialLimit = 2 * time.Second
)

// credConfig is testConfig plus the owner's STS keys (one live, one expired
// relative to now) and a RAM user that may only describe.
func credConfig(now time.Time) ecssim.Config {
	cfg := testConfig()
	live, dead := now.Add(time.Hour), now.Add(-time.Minute)
	for i := range cfg.Accounts {
		if cfg.Accounts[i].ID != owner {
			continue
		}
		cfg.Accounts[i].AccessKeys = append(cfg.Accounts[i].AccessKeys,
			ecssim.AccessKey{ID: credSTSKey, Secret: credSTSSecret, SecurityToken: credSTSToken, Expiration: &live},
			ecssim.AccessKey{ID: credExpiredKey, Secret: credExpiredSecret, SecurityToken: credExpiredToken, Expiration: &dead},
			ecssim.AccessKey{ID: credRAMKey, Secret: credRAMSecret, AllowedActions: []string{"DescribeImageSharePermission"}},
		)
	}
	return cfg
}

// rpcClient is the classic alibaba-cloud-sdk-go ECS client, which signs in
// the RPC style (HMAC-SHA1 over every parameter). A token makes it an STS
// client, which adds SecurityToken to the signed parameters.
func rpcClient(t *testing.T, srv *httptest.Server, keyID, secret, token string) *rpcecs.Client {
	t.Helper()
	var (
		c   *rpcecs.Client
		err error
	)
	if token == "" {
		c, err = rpcecs.NewClientWithAccessKey(region, keyID, secret)
	} else {
		c, err = rpcecs.NewClientWithStsToken(region, keyID, secret, token)
	}
	if err != nil {
		t.Fatalf("rpc ecs client: %v", err)
	}
	// The SDK has no default deadline worth the name and honours
	// HTTP_PROXY, which must never catch a loopback test server.
	c.SetReadTimeout(rpcReadLimit)
	c.SetConnectTimeout(rpcDialLimit)
	c.SetNoProxy(regexp.QuoteMeta(hostPort(srv)))
	return c
}

// rpcAim points one request at the simulator: without Domain the SDK resolves
// a real aliyuncs.com endpoint. Scheme is pinned rather than left to the
// client's default, which a caller or a future SDK may turn into HTTPS.
func rpcAim(req *requests.RpcRequest, srv *httptest.Server, method string) {
	req.Domain = hostPort(srv)
	req.Scheme = requests.HTTP
	if method != "" {
		req.Method = method
	}
}

func rpcDescribe(c *rpcecs.Client, srv *httptest.Server, method, image string) (*rpcecs.DescribeImageSharePermissionResponse, error) {
	req := rpcecs.CreateDescribeImageSharePermissionRequest()
	rpcAim(req.RpcRequest, srv, method)
	req.ImageId = image
	req.PageSize = requests.NewInteger(100)
	return c.DescribeImageSharePermission(req)
}

func rpcModify(c *rpcecs.Client, srv *httptest.Server, method, image string, add, remove []string) error {
	req := rpcecs.CreateModifyImageSharePermissionRequest()
	rpcAim(req.RpcRequest, srv, method)
	req.ImageId = image
	if len(add) > 0 {
		req.AddAccount = &add
	}
	if len(remove) > 0 {
		req.RemoveAccount = &remove
	}
	_, err := c.ModifyImageSharePermission(req)
	return err
}

// rpcServerError unwraps the SDK's answer to an ECS error; anything else (a
// transport or parse failure) means the simulator broke the wire contract.
func rpcServerError(t *testing.T, err error) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("error is %T, not *errors.ServerError: %v", err, err)
	}
	return se
}

func TestRPCSDK(t *testing.T) {
	type modification struct{ add, remove []string }
	cases := []struct {
		name               string
		keyID, secret, tok string
		method             string // "" keeps the SDK's default, POST
		image              string
		modify             *modification // nil: describe only
		wantCode           string
		wantStatus         int
		wantShared         []string // what Describe lists afterwards
	}{
		{
			name:  "describe lists the seeded share",
			keyID: ownerKey, secret: ownerSec, image: imageID,
			wantShared: []string{friend},
		},
		{
			name:  "describe with GET",
			keyID: ownerKey, secret: ownerSec, method: requests.GET, image: imageID,
			wantShared: []string{friend},
		},
		{
			name:  "modify adds and removes in one call",
			keyID: ownerKey, secret: ownerSec, image: imageID,
			modify:     &modification{add: []string{stranger}, remove: []string{friend}},
			wantShared: []string{stranger},
		},
		{
			name:  "modify with GET",
			keyID: ownerKey, secret: ownerSec, method: requests.GET, image: imageID,
			modify:     &modification{add: []string{stranger}},
			wantShared: []string{friend, stranger},
		},
		{
			name:  "wrong secret",
			keyID: ownerKey, secret: credWrongSecret, image: imageID,
			wantCode: "SignatureDoesNotMatch", wantStatus: http.StatusBadRequest,
		},
		{
			name:  "wrong secret with GET",
			keyID: ownerKey, secret: credWrongSecret, method: requests.GET, image: imageID,
			wantCode: "SignatureDoesNotMatch", wantStatus: http.StatusBadRequest,
		},
		{
			name:  "unknown access key",
			keyID: credUnknownKey, secret: ownerSec, image: imageID,
			wantCode: "InvalidAccessKeyId.NotFound", wantStatus: http.StatusNotFound,
		},
		{
			name:  "another tenant's image looks missing",
			keyID: ownerKey, secret: ownerSec, image: foreignID,
			wantCode: "InvalidImageId.NotFound", wantStatus: http.StatusNotFound,
		},
		{
			name:  "another tenant cannot modify our image",
			keyID: otherKey, secret: otherSec, image: imageID,
			modify:   &modification{add: []string{stranger}},
			wantCode: "InvalidImageId.NotFound", wantStatus: http.StatusNotFound,
		},
		{
			name:  "sts token accepted",
			keyID: credSTSKey, secret: credSTSSecret, tok: credSTSToken, image: imageID,
			modify:     &modification{add: []string{stranger}},
			wantShared: []string{friend, stranger},
		},
		{
			name:  "sts wrong token",
			keyID: credSTSKey, secret: credSTSSecret, tok: "CAIS-someone-elses-token", image: imageID,
			wantCode: "InvalidSecurityToken.MismatchWithAccessKey", wantStatus: http.StatusBadRequest,
		},
		{
			name:  "sts key without its token",
			keyID: credSTSKey, secret: credSTSSecret, image: imageID,
			wantCode: "InvalidSecurityToken.MismatchWithAccessKey", wantStatus: http.StatusBadRequest,
		},
		{
			name:  "sts token expired",
			keyID: credExpiredKey, secret: credExpiredSecret, tok: credExpiredToken, image: imageID,
			wantCode: "InvalidSecurityToken.Expired", wantStatus: http.StatusBadRequest,
		},
		{
			name:  "ram user may describe",
			keyID: credRAMKey, secret: credRAMSecret, image: imageID,
			wantShared: []string{friend},
		},
		{
			name:  "ram user may not modify",
			keyID: credRAMKey, secret: credRAMSecret, image: imageID,
			modify:   &modification{add: []string{stranger}},
			wantCode: "Forbidden.RAM", wantStatus: http.StatusForbidden,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := simtest.Serve(t, credConfig(time.Now()))
			c := rpcClient(t, srv, tc.keyID, tc.secret, tc.tok)

			var err error
			if tc.modify != nil {
				err = rpcModify(c, srv, tc.method, tc.image, tc.modify.add, tc.modify.remove)
			} else {
				_, err = rpcDescribe(c, srv, tc.method, tc.image)
			}
			if tc.wantCode != "" {
				if err == nil {
					t.Fatalf("call succeeded, want %s", tc.wantCode)
				}
				se := rpcServerError(t, err)
				if se.ErrorCode() != tc.wantCode || se.HttpStatus() != tc.wantStatus {
					t.Fatalf("got %d %s, want %d %s (%s)", se.HttpStatus(), se.ErrorCode(), tc.wantStatus, tc.wantCode, se.Message())
				}
				if se.RequestId() == "" || se.HostId() == "" || !strings.Contains(se.Recommend(), tc.wantCode) {
					t.Errorf("error body incomplete: requestId=%q hostId=%q recommend=%q", se.RequestId(), se.HostId(), se.Recommend())
				}
				return
			}
			if err != nil {
				t.Fatalf("call failed: %v", err)
			}

			// The owner's key reads back, so that a modify made with another
			// credential is checked independently of it.
			resp, err := rpcDescribe(rpcClient(t, srv, ownerKey, ownerSec, ""), srv, tc.method, tc.image)
			if err != nil {
				t.Fatalf("describe after: %v", err)
			}
			var got []string
			for _, a := range resp.Accounts.Account {
				got = append(got, a.AliyunId)
				if _, perr := time.Parse(time.RFC3339, a.SharedTime); perr != nil {
					t.Errorf("SharedTime %q of %s is not ISO 8601: %v", a.SharedTime, a.AliyunId, perr)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.wantShared) || resp.TotalCount != len(tc.wantShared) {
				t.Errorf("shared with %v (TotalCount %d), want %v", got, resp.TotalCount, tc.wantShared)
			}
			if resp.RequestId == "" || resp.ImageId != tc.image || resp.RegionId != region {
				t.Errorf("response envelope: RequestId=%q ImageId=%q RegionId=%q", resp.RequestId, resp.ImageId, resp.RegionId)
			}
		})
	}
}

// TestRPCSDKNonceFreshPerCall guards against a simulator that remembers
// nonces too eagerly: the SDK sends a fresh one every call, so a burst of
// calls with one client must all succeed.
func TestRPCSDKNonceFreshPerCall(t *testing.T) {
	_, srv := simtest.Serve(t, credConfig(time.Now()))
	c := rpcClient(t, srv, ownerKey, ownerSec, "")
	for i := range 5 {
		if _, err := rpcDescribe(c, srv, "", imageID); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}
