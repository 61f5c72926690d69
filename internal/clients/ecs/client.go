// Package ecs is the provider's client for Alibaba Cloud ECS image sharing.
// It wraps the official v4 SDK with what the SDK lacks — timeouts by
// default, context cancellation, paging, chunking, and errors that say what
// to change — and knows nothing of Kubernetes.
package ecs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecssdk "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"
	credential "github.com/aliyun/credentials-go/credentials"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/metrics"
)

const (
	// ActionDescribe, ActionModify and ActionDescribeImages are the ECS
	// actions the client calls, as pacers and metrics name them. ECS limits
	// each action's rate on its own, so each has a budget of its own.
	ActionDescribe       = "DescribeImageSharePermission"
	ActionModify         = "ModifyImageSharePermission"
	ActionDescribeImages = "DescribeImages"

	// pageSize is the largest page DescribeImageSharePermission, and
	// DescribeImages, serve.
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
	// ListFamily reads every image of the caller's own (ImageOwnerAlias=self)
	// in the family, whatever its status (an explicit Status list, since
	// DescribeImages answers only Available images by default), newest first
	// by CreationTime (ties broken by ascending ID so the order is stable). A family
	// with no images is an empty list, not an error; one with more than
	// MaxFamilyVersions is an error wrapping ErrFamilyTooLarge.
	ListFamily(ctx context.Context, family string) ([]Image, error)
	// ListOwnImages reads the caller's own images (ImageOwnerAlias=self),
	// every status, that f picks, in ID order. More than MaxOwnImages is an
	// error.
	ListOwnImages(ctx context.Context, f ImageFilter) ([]Image, error)
	// Close frees the client's connections when it is dropped.
	Close()
	// Saturated reports whether calls of action have waited for turns
	// under the client's pacer lately; false without a pacer.
	Saturated(action string) bool
	// Modify removes and adds accounts in one ModifyImageSharePermission
	// call per 10 of each; ECS applies a call's removals before its
	// additions. Like AddAccounts, a failure can leave earlier chunks applied.
	Modify(ctx context.Context, imageID string, add, remove []string) error
	// ModifyNext makes one ModifyImageSharePermission call of the accounts
	// next gives, which it asks for only once the call's turn under the
	// pacer has come: a caller that batches accounts sends what is due then,
	// not what was due when it began to wait. next must give at most
	// MaxAccountsPerCall of each kind. If the call cannot be made (no turn
	// before ctx ends, no credentials), next is not called.
	ModifyNext(ctx context.Context, imageID string, next func() (add, remove []string)) error
}

// Pacer spaces calls so that the provider stays within ECS's rate limits,
// which count calls per account, per action and per region.
type Pacer interface {
	// Wait blocks until action may be called, or ctx ends.
	Wait(ctx context.Context, action string) error
	// Done tells how a call of action ended: throttled by ECS or not.
	Done(action string, throttled bool)
	// Saturated reports whether callers have waited for turns of action
	// lately: the rate ECS allows, as far as the pacer knows it, binds.
	Saturated(action string) bool
}

type client struct {
	// sdks holds an SDK client per call slot this Client has used.
	sdks   *alisdk.SDKClients[*ecssdk.Client]
	region string
	// host is the endpoint named in errors.
	host string
	// redact removes the credentials from ECS's messages, which can echo a
	// request's string to sign. With a source, each call redacts its own.
	redact *strings.Replacer
	// fixed signs every call of a client without a source.
	fixed credential.Credential
	// source, if set, gives each call's credentials.
	source  credentials.Source
	pacer   Pacer
	metrics *metrics.ECS
}

// New returns a Client for cfg. It validates cfg and makes no call. A
// Client is safe for concurrent use: each call in flight runs on an SDK
// client of its own call slot (see alisdk.TakeSlot), which is also why a
// source's credentials can be set on that SDK client for the one call.
func New(cfg Config) (Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid ECS client configuration: %w", err)
	}
	host, protocol, err := cfg.endpoint()
	if err != nil {
		return nil, fmt.Errorf("invalid ECS client configuration: %w", err)
	}
	// No AccessKey in the SDK's configuration: darabonba-openapi (v2.1.13)
	// then builds no Credential, rather than credentials-go's default
	// chain, and every call sets its own (see alisdk.Call).
	sdkCfg := openapi.Config{
		RegionId:       tea.String(cfg.Region),
		Protocol:       tea.String(protocol),
		ConnectTimeout: tea.Int(alisdk.Milliseconds(cfg.ConnectTimeout, DefaultConnectTimeout)),
		ReadTimeout:    tea.Int(alisdk.Milliseconds(cfg.ReadTimeout, DefaultReadTimeout)),
		// Autoretry stays off (the SDK's default): it would retry 5xx within
		// one reconcile but never throttling, and the reconciler backs off.
	}
	if host != "" {
		sdkCfg.Endpoint = tea.String(host)
	}
	if cfg.UserAgent != "" {
		sdkCfg.UserAgent = tea.String(cfg.UserAgent)
	}
	sdks, err := alisdk.NewSDKClients(sdkCfg, alisdk.HTTPOptions{
		Product: "ECS", CABundle: cfg.CABundle,
		ConnectTimeout: cmp.Or(cfg.ConnectTimeout, DefaultConnectTimeout), ReadTimeout: cmp.Or(cfg.ReadTimeout, DefaultReadTimeout),
	}, ecssdk.NewClient, func(c *ecssdk.Client) *openapi.Client { return &c.Client })
	if err != nil {
		return nil, err
	}
	c := &client{sdks: sdks, region: cfg.Region, source: cfg.Source, pacer: cfg.Pacer, metrics: cfg.Metrics,
		host: sdks.Endpoint(), redact: credentials.Redactor(cfg.Credentials.AccessKeySecret, cfg.Credentials.SecurityToken)}
	if cfg.Source == nil {
		c.fixed = alisdk.Credential(cfg.Credentials.AccessKeyID, cfg.Credentials.AccessKeySecret, cfg.Credentials.SecurityToken)
	}
	return c, nil
}

// Close closes the client's idle connections. Calls still in flight end by
// their deadlines; the client is not used after.
func (c *client) Close() { c.sdks.Close() }

func (c *client) Saturated(action string) bool { return c.pacer != nil && c.pacer.Saturated(action) }

// callCreds are the credentials of one call with a source, and how to keep
// them out of its messages. nil for a client with fixed credentials, whose
// SDK clients carry them.
type callCreds struct {
	creds  credentials.Credentials
	redact *strings.Replacer
}

// call runs one SDK call. With a source, ECS refusing the call's
// credentials as expired, revoked or unknown (the session ended early, or
// was revoked) tells the source, and the call is made once more with fresh
// credentials, so that a rotated session costs no failed reconcile. It is
// made once more only, and not with the same credentials: static keys that
// ECS does not know stay unknown.
func call[T any](ctx context.Context, c *client, action string, fn func(*ecssdk.Client) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("%s not called: %w", action, err)
	}
	if c.source == nil {
		return attempt(ctx, c, action, nil, fn)
	}
	cc, err := c.credentials(ctx, action)
	if err != nil {
		return zero, err
	}
	v, err := attempt(ctx, c, action, cc, fn)
	if !errors.Is(err, credentials.ErrRefused) {
		return v, err
	}
	c.source.Refused(cc.creds)
	fresh, ferr := c.credentials(ctx, action)
	switch {
	case ferr != nil:
		return zero, fmt.Errorf("%w; then %w", err, ferr)
	case fresh.creds.AccessKeyID == cc.creds.AccessKeyID && fresh.creds.SecurityToken == cc.creds.SecurityToken:
		return zero, err
	}
	v, err = attempt(ctx, c, action, fresh, fn)
	if errors.Is(err, credentials.ErrRefused) {
		c.source.Refused(fresh.creds)
	}
	return v, err
}

// credentials asks the source for a call's credentials. It is asked before
// the pacer, so that a call that cannot get credentials spends no turn of
// the account's ECS rate, and a slow STS refresh holds none; credentials
// handed out are never close to expiry, so the pacer's wait cannot outlast
// them (and if it does, the refusal is retried).
func (c *client) credentials(ctx context.Context, action string) (*callCreds, error) {
	creds, err := c.source.Credentials(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s not called: no credentials from %s: %w", action, c.source.ID(), err)
	}
	return &callCreds{creds: creds, redact: credentials.Redactor(creds.AccessKeySecret, creds.SecurityToken)}, nil
}

// attempt makes one SDK call, bounded by ctx: when ctx ends, the call's
// HTTP request does. The pacer, if any, is asked first and told how the
// call ended; fn runs only once the turn has come.
func attempt[T any](ctx context.Context, c *client, action string, cc *callCreds, fn func(*ecssdk.Client) (T, error)) (T, error) {
	var zero T
	if c.pacer != nil {
		if err := c.pacer.Wait(ctx, action); err != nil {
			return zero, fmt.Errorf("%s not called while waiting for its turn under the provider's ECS rate: %w", action, err)
		}
	}
	cred := c.fixed
	if cc != nil {
		cred = alisdk.Credential(cc.creds.AccessKeyID, cc.creds.AccessKeySecret, cc.creds.SecurityToken)
	}
	start := time.Now()
	v, err := alisdk.Call(ctx, c.sdks, cred, fn)
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller stopped waiting; what the transport says of it is
		// noise.
		c.finished(action, start, ctx.Err())
		return zero, fmt.Errorf("%s abandoned: %w", action, ctx.Err())
	case err != nil:
		err = c.classify(action, err, cc)
		c.finished(action, start, err)
		return zero, err
	}
	c.finished(action, start, nil)
	return v, nil
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
		// The endpoint may be a tenant's own and send any code: only known
		// codes become labels.
		outcome = metrics.Outcome(e.Code)
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
			return withAdded(err, req)
		}
	}
	return nil
}

func (c *client) ModifyNext(ctx context.Context, imageID string, next func() (add, remove []string)) error {
	if imageID == "" {
		return errors.New(ActionModify + " needs an image id")
	}
	// fn runs once the pacer's turn has come, and again only on a retry
	// with fresh credentials, which sends the same request.
	var req *ecssdk.ModifyImageSharePermissionRequest
	_, err := call(ctx, c, ActionModify, func(sdk *ecssdk.Client) (*ecssdk.ModifyImageSharePermissionResponse, error) {
		if req == nil {
			add, remove := next()
			req = &ecssdk.ModifyImageSharePermissionRequest{RegionId: tea.String(c.region), ImageId: tea.String(imageID),
				AddAccount: tea.StringSlice(add), RemoveAccount: tea.StringSlice(remove)}
		}
		return sdk.ModifyImageSharePermission(req)
	})
	return withAdded(err, req)
}

// withAdded records in a failed Modify call's error the accounts it was to
// share with.
func withAdded(err error, req *ecssdk.ModifyImageSharePermissionRequest) error {
	if e := (*Error)(nil); errors.As(err, &e) && req != nil {
		e.Added = tea.StringSliceValue(req.AddAccount)
	}
	return err
}

// chunk splits off what one call can carry.
func chunk(ids []string) (head []*string, rest []string) {
	n := min(len(ids), MaxAccountsPerCall)
	if n == 0 {
		return nil, nil
	}
	return tea.StringSlice(ids[:n]), ids[n:]
}
