package ecssim_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// Test tenants: owner owns the images; friend and stranger can receive shares.
const (
	owner     = "1234567890123456"
	friend    = "2222222222222222"
	stranger  = "3333333333333333"
	other     = "9999999999999999"
	ownerKey  = "LTAItestOwnerKey"
	ownerSec  = "ownerSecret"
	otherKey  = "LTAItestOtherKey"
	otherSec  = "otherSecret"
	region    = "cn-hangzhou"
	imageID   = "m-test0001"
	foreignID = "m-foreign01"
)

func testConfig() ecssim.Config {
	return ecssim.Config{
		Accounts: []ecssim.Account{
			{ID: owner, AccessKeys: []ecssim.AccessKey{{ID: ownerKey, Secret: ownerSec}}},
			{ID: friend},
			{ID: stranger},
			{ID: other, AccessKeys: []ecssim.AccessKey{{ID: otherKey, Secret: otherSec}}},
		},
		Images: []ecssim.Image{
			{ID: imageID, Region: region, Owner: owner, SharedWith: []string{friend}},
			{ID: "m-deprecated", Region: region, Owner: owner, Status: "Deprecated"},
			{ID: foreignID, Region: region, Owner: other},
		},
	}
}

// hostPort is the endpoint form the SDKs want: no scheme.
func hostPort(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// v4Client is the real ECS v4 SDK client, signing with ACS3-HMAC-SHA256.
func v4Client(t *testing.T, srv *httptest.Server, keyID, secret, token string) *ecs.Client {
	t.Helper()
	return v4ClientWith(t, srv, keyID, secret, token, 5000)
}

// v4ClientWith sets the read timeout too. tea pools one http.Client per
// (timeouts, proxy, endpoint) and writes its Timeout on every request without
// a lock, so concurrent calls through one pool race; a distinct timeout per
// goroutine gives each its own.
func v4ClientWith(t *testing.T, srv *httptest.Server, keyID, secret, token string, readTimeoutMS int) *ecs.Client {
	t.Helper()
	cfg := &openapi.Config{
		AccessKeyId:     tea.String(keyID),
		AccessKeySecret: tea.String(secret),
		Endpoint:        tea.String(hostPort(srv)),
		Protocol:        tea.String("http"),
		RegionId:        tea.String(region),
		ReadTimeout:     tea.Int(readTimeoutMS),
		ConnectTimeout:  tea.Int(2000),
	}
	if token != "" {
		cfg.SecurityToken = tea.String(token)
	}
	c, err := ecs.NewClient(cfg)
	if err != nil {
		t.Fatalf("ecs.NewClient: %v", err)
	}
	return c
}

func ownerClient(t *testing.T, srv *httptest.Server) *ecs.Client {
	return v4Client(t, srv, ownerKey, ownerSec, "")
}

func describe(c *ecs.Client, image string, pageNumber, pageSize int32) (*ecs.DescribeImageSharePermissionResponseBody, error) {
	req := &ecs.DescribeImageSharePermissionRequest{RegionId: tea.String(region), ImageId: tea.String(image)}
	if pageNumber > 0 {
		req.PageNumber = tea.Int32(pageNumber)
	}
	if pageSize > 0 {
		req.PageSize = tea.Int32(pageSize)
	}
	resp, err := c.DescribeImageSharePermission(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func modify(c *ecs.Client, image string, add, remove []string) error {
	req := &ecs.ModifyImageSharePermissionRequest{RegionId: tea.String(region), ImageId: tea.String(image)}
	if len(add) > 0 {
		req.AddAccount = tea.StringSlice(add)
	}
	if len(remove) > 0 {
		req.RemoveAccount = tea.StringSlice(remove)
	}
	_, err := c.ModifyImageSharePermission(req)
	return err
}

// code is the ECS error code of an SDK error, or "" for nil.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	return tea.StringValue(sdkError(t, err).Code)
}

// httpStatus is the HTTP status ECS answered an SDK error with.
func httpStatus(t *testing.T, err error) int {
	t.Helper()
	return tea.IntValue(sdkError(t, err).StatusCode)
}

func sdkError(t *testing.T, err error) *tea.SDKError {
	t.Helper()
	var sdkErr *tea.SDKError
	if !errors.As(err, &sdkErr) {
		t.Fatalf("error is %T, not *tea.SDKError: %v", err, err)
	}
	return sdkErr
}

func sharedIDs(b *ecs.DescribeImageSharePermissionResponseBody) []string {
	var out []string
	for _, a := range b.Accounts.Account {
		out = append(out, tea.StringValue(a.AliyunId))
	}
	return out
}
