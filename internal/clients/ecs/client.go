// Package ecs is the provider's client for Alibaba Cloud ECS image sharing.
// It wraps the official v4 SDK with what the SDK lacks — timeouts by
// default, context cancellation, paging, chunking, and errors that say what
// to change — and knows nothing of Kubernetes.
package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecssdk "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

const (
	actionDescribe = "DescribeImageSharePermission"
	actionModify   = "ModifyImageSharePermission"

	// pageSize is the largest page DescribeImageSharePermission serves.
	pageSize = 100
	// maxAccountsPerCall is how many AddAccount.N / RemoveAccount.N entries
	// ECS honours in one call; it silently ignores the rest.
	maxAccountsPerCall = 10
)

// sharedTimeLayout reads ECS's SharedTime, "2006-01-02T15:04:05Z", and would
// still read it should ECS add fractions or an offset.
const sharedTimeLayout = time.RFC3339

// Share is one account's permission on an image.
type Share struct {
	ImageID, AccountID, Region string
	// SharedTime is when the share was made, in UTC; zero if ECS did not say.
	SharedTime time.Time
}

// Client is what the controller needs of ECS.
type Client interface {
	// FindShare pages through DescribeImageSharePermission until accountID
	// is found or the list ends. It returns nil, nil when the image exists but
	// is not shared with accountID.
	FindShare(ctx context.Context, imageID, accountID string) (*Share, error)
	// AddAccounts shares the image with the accounts; RemoveAccounts
	// unshares it. Both call ModifyImageSharePermission once per 10
	// accounts, so a failure can leave earlier chunks applied; calling again
	// is safe.
	AddAccounts(ctx context.Context, imageID string, accountIDs ...string) error
	RemoveAccounts(ctx context.Context, imageID string, accountIDs ...string) error
	// ListShares reads every page of the image's shares.
	ListShares(ctx context.Context, imageID string) ([]Share, error)
	// Modify removes and adds accounts in one ModifyImageSharePermission
	// call per 10 of each; ECS applies a call's removals before its
	// additions. Like AddAccounts, a failure can leave earlier chunks applied.
	Modify(ctx context.Context, imageID string, add, remove []string) error
}

// Pacer spaces calls so that the provider stays within ECS's rate limits,
// which count calls per account, per action and per region.
type Pacer interface {
	// Wait blocks until action may be called, or ctx ends.
	Wait(ctx context.Context, action string) error
	// Done tells how a call of action ended: throttled by ECS or not.
	Done(action string, throttled bool)
}

type client struct {
	sdk    *ecssdk.Client
	region string
	// host is the endpoint named in errors.
	host string
	// redact removes the credentials from ECS's messages, which can echo a
	// request's string to sign.
	redact  *strings.Replacer
	pacer   Pacer
	metrics *metrics.ECS
}

// New returns a Client for cfg. It validates cfg and makes no call.
//
// tea, under the SDK, pools one http.Client per distinct (timeouts, proxy,
// endpoint) for the life of the process, so every call of a client uses the
// timeouts of its Config: per-call timeouts would grow the pool without
// bound. Calls in parallel race inside the SDK, benignly (every write stores
// the value already there) but visibly to -race: on every request tea writes
// the pooled http.Client's Timeout under a lock that http.Client.Do does not
// take to read it, which concerns all Clients with the same endpoint and
// timeouts; and the SDK client resets its debug RPC headers on every call,
// which concerns one Client. Tests that make concurrent calls therefore give
// each goroutine a Client of its own with a distinct ReadTimeout.
func New(cfg Config) (Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid ECS client configuration: %w", err)
	}
	host, protocol, err := cfg.endpoint()
	if err != nil {
		return nil, fmt.Errorf("invalid ECS client configuration: %w", err)
	}
	sdkCfg := &openapi.Config{
		AccessKeyId:     tea.String(cfg.Credentials.AccessKeyID),
		AccessKeySecret: tea.String(cfg.Credentials.AccessKeySecret),
		RegionId:        tea.String(cfg.Region),
		Protocol:        tea.String(protocol),
		ConnectTimeout:  tea.Int(milliseconds(cfg.ConnectTimeout, DefaultConnectTimeout)),
		ReadTimeout:     tea.Int(milliseconds(cfg.ReadTimeout, DefaultReadTimeout)),
		// Autoretry stays off (the SDK's default): it would retry 5xx within
		// one reconcile but never throttling, and the reconciler backs off.
	}
	if host != "" {
		sdkCfg.Endpoint = tea.String(host)
	}
	if len(cfg.CABundle) > 0 {
		sdkCfg.Ca = tea.String(string(cfg.CABundle))
		sdkCfg.NoProxy = tea.String(poolKeyForCA(cfg.CABundle))
	}
	if cfg.UserAgent != "" {
		sdkCfg.UserAgent = tea.String(cfg.UserAgent)
	}
	if cfg.Credentials.SecurityToken != "" {
		sdkCfg.SecurityToken = tea.String(cfg.Credentials.SecurityToken)
	}
	sdk, err := ecssdk.NewClient(sdkCfg)
	if err != nil {
		// The SDK's configuration errors name no credential.
		return nil, fmt.Errorf("cannot create the ECS client: %w", err)
	}
	var secrets []string
	for _, s := range []string{cfg.Credentials.AccessKeySecret, cfg.Credentials.SecurityToken} {
		if s != "" {
			secrets = append(secrets, s, redactedText)
		}
	}
	return &client{
		sdk: sdk, region: cfg.Region, host: tea.StringValue(sdk.Endpoint), redact: strings.NewReplacer(secrets...),
		pacer: cfg.Pacer, metrics: cfg.Metrics,
	}, nil
}

// poolKeyForCA keeps calls with different CA bundles on different pooled
// http.Clients. tea pools one per (timeouts, proxies, host) and keeps the
// TLS settings of the call that created it, so without this a
// configuration's CA bundle would also verify, or fail to verify, another
// configuration's calls to the same host. NoProxy is part of the pool key;
// a name under .invalid, which no real host has, makes it differ per
// bundle. Set, it replaces NO_PROXY from the environment, which is kept.
func poolKeyForCA(bundle []byte) string {
	sum := sha256.Sum256(bundle)
	key := "ca-" + hex.EncodeToString(sum[:16]) + ".invalid"
	for _, env := range []string{"NO_PROXY", "no_proxy"} {
		if v := os.Getenv(env); v != "" {
			return v + "," + key
		}
	}
	return key
}

// call runs one SDK call, which takes no context, in a goroutine so that the
// caller can stop waiting when ctx ends. The abandoned call runs on until the
// client's timeouts end it; its result is dropped. The pacer, if any, is
// asked first and told how the call ended.
func call[T any](ctx context.Context, c *client, action string, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s not called: %w", action, err)
	}
	if c.pacer != nil {
		if err := c.pacer.Wait(ctx, action); err != nil {
			return zero, fmt.Errorf("%s not called while waiting for its turn under the provider's ECS rate: %w", action, err)
		}
	}
	type result struct {
		v   T
		err error
	}
	start := time.Now()
	done := make(chan result, 1) // Buffered: an abandoned call must not block forever.
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			err := c.classify(action, r.err)
			c.finished(action, start, err)
			return zero, err
		}
		c.finished(action, start, nil)
		return r.v, nil
	case <-ctx.Done():
		c.finished(action, start, ctx.Err())
		return zero, fmt.Errorf("%s abandoned: %w", action, ctx.Err())
	}
}

// finished tells the pacer and the metrics how a call ended.
func (c *client) finished(action string, start time.Time, err error) {
	throttled := IsThrottled(err)
	if c.pacer != nil {
		c.pacer.Done(action, throttled)
	}
	outcome := metrics.OutcomeSuccess
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code != "":
		outcome = e.Code
	case errors.As(err, &e):
		outcome = metrics.OutcomeUnreachable
	case err != nil:
		outcome = metrics.OutcomeAbandoned
	}
	c.metrics.Call(action, outcome, time.Since(start), throttled)
}

// FindShare reads pages of the largest size until it finds accountID. A
// share removed by someone else while it pages can shift accountID onto a
// page already read; it then reports no share, and the caller's re-adding
// is harmless.
func (c *client) FindShare(ctx context.Context, imageID, accountID string) (*Share, error) {
	if imageID == "" || accountID == "" {
		return nil, errors.New("FindShare needs an image id and an account id")
	}
	var found *Share
	err := c.pages(ctx, imageID, func(s Share) bool {
		if s.AccountID == accountID {
			found = &s
			return false
		}
		return true
	})
	return found, err
}

func (c *client) ListShares(ctx context.Context, imageID string) ([]Share, error) {
	if imageID == "" {
		return nil, errors.New("ListShares needs an image id")
	}
	var shares []Share
	err := c.pages(ctx, imageID, func(s Share) bool {
		shares = append(shares, s)
		return true
	})
	return shares, err
}

// pages reads the image's shares, a page of the largest size at a time,
// and gives each to yield until yield returns false or the list ends.
func (c *client) pages(ctx context.Context, imageID string, yield func(Share) bool) error {
	for page := int32(1); ; page++ {
		body, err := call(ctx, c, actionDescribe, func() (*ecssdk.DescribeImageSharePermissionResponseBody, error) {
			resp, err := c.sdk.DescribeImageSharePermission(&ecssdk.DescribeImageSharePermissionRequest{
				RegionId:   tea.String(c.region),
				ImageId:    tea.String(imageID),
				PageNumber: tea.Int32(page),
				PageSize:   tea.Int32(pageSize),
			})
			if err != nil {
				return nil, err
			}
			return resp.Body, nil
		})
		if err != nil {
			return err
		}
		var accounts []*ecssdk.DescribeImageSharePermissionResponseBodyAccountsAccount
		if body != nil && body.Accounts != nil {
			accounts = body.Accounts.Account
		}
		for _, a := range accounts {
			if a == nil || tea.StringValue(a.AliyunId) == "" {
				continue
			}
			if !yield(Share{ImageID: imageID, AccountID: tea.StringValue(a.AliyunId), Region: c.region, SharedTime: sharedTime(a.SharedTime)}) {
				return nil
			}
		}
		if len(accounts) < pageSize || (body.TotalCount != nil && int64(page)*pageSize >= int64(*body.TotalCount)) {
			return nil
		}
	}
}

// sharedTime parses ECS's SharedTime. The time is informational, so one
// missing or in an unexpected format is reported as zero rather than failing
// the read.
func sharedTime(s *string) time.Time {
	t, err := time.Parse(sharedTimeLayout, tea.StringValue(s))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func (c *client) AddAccounts(ctx context.Context, imageID string, accountIDs ...string) error {
	return c.Modify(ctx, imageID, accountIDs, nil)
}

func (c *client) RemoveAccounts(ctx context.Context, imageID string, accountIDs ...string) error {
	return c.Modify(ctx, imageID, nil, accountIDs)
}

func (c *client) Modify(ctx context.Context, imageID string, add, remove []string) error {
	if imageID == "" || slices.Contains(add, "") || slices.Contains(remove, "") {
		return errors.New(actionModify + " needs an image id and non-empty account ids")
	}
	for len(add) > 0 || len(remove) > 0 {
		req := &ecssdk.ModifyImageSharePermissionRequest{RegionId: tea.String(c.region), ImageId: tea.String(imageID)}
		req.AddAccount, add = chunk(add)
		req.RemoveAccount, remove = chunk(remove)
		if _, err := call(ctx, c, actionModify, func() (*ecssdk.ModifyImageSharePermissionResponse, error) {
			return c.sdk.ModifyImageSharePermission(req)
		}); err != nil {
			return err
		}
	}
	return nil
}

// chunk splits off what one call can carry.
func chunk(ids []string) (head []*string, rest []string) {
	n := min(len(ids), maxAccountsPerCall)
	if n == 0 {
		return nil, nil
	}
	return tea.StringSlice(ids[:n]), ids[n:]
}
