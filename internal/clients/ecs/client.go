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
	"sync"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecssdk "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

const (
	// ActionDescribe and ActionModify are the ECS actions the client calls,
	// as pacers and metrics name them.
	ActionDescribe = "DescribeImageSharePermission"
	ActionModify   = "ModifyImageSharePermission"

	// pageSize is the largest page DescribeImageSharePermission serves.
	pageSize = 100
	// MaxAccountsPerCall is how many AddAccount.N, and how many
	// RemoveAccount.N, ECS honours in one call; it silently ignores the rest.
	MaxAccountsPerCall = 10
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
	// sdkConfig is what every SDK client of this Client is made from.
	sdkConfig openapi.Config
	region    string
	// host is the endpoint named in errors.
	host string
	// redact removes the credentials from ECS's messages, which can echo a
	// request's string to sign.
	redact  *strings.Replacer
	pacer   Pacer
	metrics *metrics.ECS

	mu sync.Mutex
	// sdks holds an SDK client per call slot this Client has used.
	sdks map[int]*ecssdk.Client
}

// New returns a Client for cfg. It validates cfg and makes no call. A
// Client is safe for concurrent use.
//
// Calls in parallel through one SDK client, or through tea's pooled
// http.Client under it, race: the SDK client clears its debug RPC headers
// on every call, and tea writes the pooled http.Client's Timeout on every
// call under a lock that http.Client.Do does not take to read it. tea pools
// one http.Client per (timeouts, proxies, host) for the life of the
// process. So each call in flight takes a slot of its own (see slots) and
// runs on this Client's SDK client for that slot, whose NoProxy names the
// slot: no SDK client and no pooled http.Client is ever used by two calls
// at once, and tea's pool stays bounded by the most calls ever in flight.
func New(cfg Config) (Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid ECS client configuration: %w", err)
	}
	host, protocol, err := cfg.endpoint()
	if err != nil {
		return nil, fmt.Errorf("invalid ECS client configuration: %w", err)
	}
	sdkCfg := openapi.Config{
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
	}
	if cfg.UserAgent != "" {
		sdkCfg.UserAgent = tea.String(cfg.UserAgent)
	}
	if cfg.Credentials.SecurityToken != "" {
		sdkCfg.SecurityToken = tea.String(cfg.Credentials.SecurityToken)
	}
	c := &client{
		sdkConfig: sdkCfg, region: cfg.Region, pacer: cfg.Pacer, metrics: cfg.Metrics,
		sdks: map[int]*ecssdk.Client{},
	}
	// Build the first SDK client now, so that a configuration the SDK
	// refuses fails here rather than on the first call.
	sdk, err := c.sdkFor(0)
	if err != nil {
		return nil, err
	}
	c.host = tea.StringValue(sdk.Endpoint)
	var secrets []string
	for _, s := range []string{cfg.Credentials.AccessKeySecret, cfg.Credentials.SecurityToken} {
		if s != "" {
			secrets = append(secrets, s, redactedText)
		}
	}
	c.redact = strings.NewReplacer(secrets...)
	return c, nil
}

// sdkFor returns this Client's SDK client for a call slot, made on first use.
func (c *client) sdkFor(slot int) (*ecssdk.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sdk, ok := c.sdks[slot]; ok {
		return sdk, nil
	}
	cfg := c.sdkConfig
	cfg.NoProxy = tea.String(poolKey(tea.StringValue(cfg.Ca), slot))
	sdk, err := ecssdk.NewClient(&cfg)
	if err != nil {
		// The SDK's configuration errors name no credential.
		return nil, fmt.Errorf("cannot create the ECS client: %w", err)
	}
	c.sdks[slot] = sdk
	return sdk, nil
}

// poolKey keeps calls apart on tea's pooled http.Clients: by call slot, so
// that no two calls in flight share one, and by CA bundle, because a pooled
// http.Client keeps the TLS settings of the call that created it, so a
// configuration's CA bundle would otherwise also verify, or fail to verify,
// another configuration's calls to the same host. NoProxy is part of tea's
// pool key; names under .invalid, which no real host has, make it differ.
// Set, it replaces NO_PROXY from the environment, which is kept.
func poolKey(caBundle string, slot int) string {
	key := fmt.Sprintf("slot-%d.invalid", slot)
	if caBundle != "" {
		sum := sha256.Sum256([]byte(caBundle))
		key += ",ca-" + hex.EncodeToString(sum[:16]) + ".invalid"
	}
	for _, env := range []string{"NO_PROXY", "no_proxy"} {
		if v := os.Getenv(env); v != "" {
			return v + "," + key
		}
	}
	return key
}

// slots numbers the calls in flight in the process, reusing the numbers of
// finished calls, so that each call in flight has a number no other has and
// there are never more numbers than the most calls ever in flight at once.
var slots = &slotPool{}

type slotPool struct {
	mu   sync.Mutex
	free []int
	next int
}

func (p *slotPool) take() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	p.next++
	return p.next - 1
}

func (p *slotPool) give(s int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, s)
}

// call runs one SDK call, which takes no context, in a goroutine so that the
// caller can stop waiting when ctx ends. The abandoned call runs on until the
// client's timeouts end it; its result is dropped. The pacer, if any, is
// asked first and told how the call ended.
func call[T any](ctx context.Context, c *client, action string, fn func(*ecssdk.Client) (T, error)) (T, error) {
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
	slot := slots.take()
	sdk, err := c.sdkFor(slot)
	if err != nil {
		slots.give(slot)
		return zero, err
	}
	start := time.Now()
	done := make(chan result, 1) // Buffered: an abandoned call must not block forever.
	go func() {
		// The slot is the SDK call's until it ends, abandoned or not.
		defer slots.give(slot)
		v, err := fn(sdk)
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
		body, err := call(ctx, c, ActionDescribe, func(sdk *ecssdk.Client) (*ecssdk.DescribeImageSharePermissionResponseBody, error) {
			resp, err := sdk.DescribeImageSharePermission(&ecssdk.DescribeImageSharePermissionRequest{
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
		return errors.New(ActionModify + " needs an image id and non-empty account ids")
	}
	for len(add) > 0 || len(remove) > 0 {
		req := &ecssdk.ModifyImageSharePermissionRequest{RegionId: tea.String(c.region), ImageId: tea.String(imageID)}
		req.AddAccount, add = chunk(add)
		req.RemoveAccount, remove = chunk(remove)
		if _, err := call(ctx, c, ActionModify, func(sdk *ecssdk.Client) (*ecssdk.ModifyImageSharePermissionResponse, error) {
			return sdk.ModifyImageSharePermission(req)
		}); err != nil {
			return err
		}
	}
	return nil
}

// chunk splits off what one call can carry.
func chunk(ids []string) (head []*string, rest []string) {
	n := min(len(ids), MaxAccountsPerCall)
	if n == 0 {
		return nil, nil
	}
	return tea.StringSlice(ids[:n]), ids[n:]
}
