package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const (
	describeAction = "DescribeImageSharePermission"
	modifyAction   = "ModifyImageSharePermission"
	cannedID       = "0F5A4B2C-1D3E-4F60-8A7B-9C0D1E2F3A4B"
)

func findOn(image string) func(ecs.Client) error {
	return func(c ecs.Client) error {
		_, err := find(c, image, friend)
		return err
	}
}

func addTo(image string, accounts ...string) func(ecs.Client) error {
	return func(c ecs.Client) error { return c.AddAccounts(context.Background(), image, accounts...) }
}

func removeFrom(image string, accounts ...string) func(ecs.Client) error {
	return func(c ecs.Client) error { return c.RemoveAccounts(context.Background(), image, accounts...) }
}

// TestECSErrors drives every error code the client explains through the
// real SDK: from the simulator where it can answer so, else from a canned
// ECS error body.
func TestECSErrors(t *testing.T) {
	cases := []struct {
		name string
		// Either the simulator, edited and with options, answers...
		edit func(*ecssim.Config)
		opts []ecssim.Option
		// ...or, when canned is set, a server that always sends this ECS error body.
		canned string
		creds  credentials.Credentials
		call   func(ecs.Client) error

		action, code string
		status       int
		advice       string // what the message must say
		authAction   string
		notFound     bool
		retryable    bool
		throttled    bool
		// accountError: the failure may be one account's, not the batch's.
		accountError bool
	}{
		{name: "missing image", call: findOn("m-missing"), action: describeAction, code: "InvalidImageId.NotFound", status: 404,
			advice: "check imageId, region and the credentials", notFound: true},
		{name: "another account's image", call: findOn(foreignID), action: describeAction, code: "InvalidImageId.NotFound", status: 404,
			advice: "another account's image", notFound: true},
		{name: "image in another region", call: findOn(shanghaiID), action: describeAction, code: "InvalidImageId.NotFound", status: 404,
			advice: "an image in another region", notFound: true},
		{name: "unsharing a missing image", call: removeFrom("m-missing", friend), action: modifyAction, code: "InvalidImageId.NotFound", status: 404,
			advice: "does not exist in this region", notFound: true},
		{name: "share quota", edit: func(c *ecssim.Config) { c.Images[0].MaxShares = 1 }, call: addTo(imageID, stranger),
			action: modifyAction, code: "QuotaExceed.ShareImageUser", status: 403, advice: "raise the quota by a support ticket", accountError: true},
		{name: "sharing with the owner", call: addTo(imageID, owner), action: modifyAction, code: "InvalidAccount.Forbbiden", status: 404,
			advice: "share with another account", accountError: true},
		{name: "unknown target account", call: addTo(imageID, nobody), action: modifyAction, code: "InvalidAccount.NotFound", status: 404,
			advice: "check the account ID", accountError: true},
		{name: "deprecated image", call: addTo(deprecatedID, stranger), action: modifyAction, code: "OperationDenied.InvalidImageStatus", status: 403,
			advice: "make it Available or share another image"},
		{name: "RAM policy lacks the action", creds: readOnlyCreds, call: addTo(imageID, stranger), action: modifyAction, code: "Forbidden.RAM", status: 403,
			advice: "lacks permission for ecs:ModifyImageSharePermission; grant it", authAction: "ecs:ModifyImageSharePermission"},
		{name: "unknown AccessKey ID", creds: unknownKeyCreds, call: findOn(imageID), action: describeAction, code: "InvalidAccessKeyId.NotFound", status: 404,
			advice: "check the AccessKey ID in the credentials Secret"},
		{name: "wrong AccessKey secret", creds: wrongSecretCreds, call: findOn(imageID), action: describeAction, code: "SignatureDoesNotMatch", status: 400,
			advice: "secret does not match the AccessKey ID"},
		{name: "expired STS token", creds: expiredCreds, call: findOn(imageID), action: describeAction, code: "InvalidSecurityToken.Expired", status: 400,
			advice: "refresh it in the credentials Secret"},
		{name: "wrong STS token", creds: wrongTokenCreds, call: findOn(imageID), action: describeAction, code: "InvalidSecurityToken.MismatchWithAccessKey", status: 400,
			advice: "refresh it in the credentials Secret"},
		{name: "clock skew", opts: []ecssim.Option{ecssim.WithClock(func() time.Time { return time.Now().Add(20 * time.Minute) })},
			call: findOn(imageID), action: describeAction, code: "InvalidTimeStamp.Expired", status: 400, advice: "fix the clock"},
		{name: "injected InternalError", edit: func(c *ecssim.Config) { c.Faults = ecssim.Faults{ErrorRate: 1, ErrorCode: "InternalError"} },
			call: findOn(imageID), action: describeAction, code: "InternalError", status: 500, advice: "will retry", retryable: true},
		{name: "injected ServiceUnavailable", edit: func(c *ecssim.Config) { c.Faults = ecssim.Faults{ErrorRate: 1, ErrorCode: "ServiceUnavailable"} },
			call: addTo(imageID, stranger), action: modifyAction, code: "ServiceUnavailable", status: 503, advice: "will retry", retryable: true},

		{name: "Throttling", canned: ecsErrorBody("Throttling", "Request was denied due to request throttling.", cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "Throttling", status: 400, advice: "ECS throttled the account's", retryable: true, throttled: true},
		{name: "Throttling.Api", canned: ecsErrorBody("Throttling.Api", "Request was denied due to api flow control.", cannedID, ""),
			call: addTo(imageID, stranger), action: modifyAction, code: "Throttling.Api", status: 400, advice: "ECS throttled the account's", retryable: true, throttled: true},
		{name: "malformed STS token", canned: ecsErrorBody("InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.", cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "InvalidSecurityToken.Malformed", status: 400, advice: "refresh it"},
		{name: "MissingParameter", canned: ecsErrorBody("MissingParameter", `The input parameter "RegionId" that is mandatory for processing this request is not supplied.`, cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "MissingParameter", status: 400, advice: `a bug in the provider: please report it with ECS's message: "The input parameter \"RegionId\"`},
		{name: "InvalidParameter", canned: ecsErrorBody("InvalidParameter", `The specified parameter "PageSize" is not valid.`, cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "InvalidParameter", status: 400, advice: `report it with ECS's message: "The specified parameter \"PageSize\" is not valid."`},
		{name: "Forbidden.RAM without AccessDeniedDetail", canned: ecsErrorBody("Forbidden.RAM", "User not authorized to operate on the specified resource.", cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "Forbidden.RAM", status: 403, advice: "lacks permission for ecs:DescribeImageSharePermission"},
		{name: "a code without advice gives ECS's message", canned: ecsErrorBody("OperationDenied.Something", "Something is denied.", cannedID, ""),
			call: addTo(imageID, stranger), action: modifyAction, code: "OperationDenied.Something", status: 403, advice: ": Something is denied. ("},
		{name: "an image encrypted with the service key", edit: encrypted(ecssim.EncryptionServiceKey), call: addTo(imageID, stranger),
			action: modifyAction, code: "InvalidOperation.ServiceKeyEncryptedImageUnsupported", status: 403,
			advice: "copy it with CopyImage, encrypting the copy with a customer-managed KMS key, and share the copy"},
		{name: "a CMK-encrypted image without the share role", edit: encrypted(ecssim.EncryptionCMK), call: addTo(imageID, stranger),
			action: modifyAction, code: "AssumeRoleError", status: 403, accountError: true,
			advice: "RAM role AliyunECSShareEncryptImageDefaultRole in the image owner's account, which it could not assume for this share; create the role if it is missing, and have its trust policy name " + stranger + "@ecs.aliyuncs.com"},
		{name: "a CMK-encrypted image to an account the share role does not trust", edit: func(c *ecssim.Config) {
			encrypted(ecssim.EncryptionCMK)(c)
			c.Roles = append(c.Roles, ecssim.Role{Account: owner, Name: ecs.ShareEncryptedImageRole, TrustedServices: []string{friend + "@ecs.aliyuncs.com"}})
		}, call: addTo(imageID, stranger, other), action: modifyAction, code: "AssumeRoleError", status: 403, accountError: true,
			advice: "have its trust policy name " + stranger + "@ecs.aliyuncs.com, " + other + "@ecs.aliyuncs.com"},
		{name: "an encrypted image where ECS does not share encrypted images", edit: func(c *ecssim.Config) {
			encrypted(ecssim.EncryptionCMK)(c)
			c.Limits.EncryptedShareRegions = []string{"cn-beijing"}
		}, call: addTo(imageID, stranger), action: modifyAction, code: "OperationDeined.EncryptedSnapshot", status: 403,
			advice: "share an unencrypted copy (CopyImage)"},
		{name: "a code without advice nor message", canned: ecsErrorBody("SomethingNew", "", cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "SomethingNew", status: 403, advice: ": ECS gave no message ("},
		{name: "an unknown 5xx", canned: ecsErrorBody("BadGateway", "upstream failed", cannedID, ""),
			call: findOn(imageID), action: describeAction, code: "BadGateway", status: 502, advice: "ECS failed temporarily; will retry", retryable: true},
		{name: "ECS's message quoting the credentials", creds: stsCreds,
			canned: ecsErrorBody("IncompleteSignature", "string to sign: "+stsCreds.AccessKeySecret+" "+stsCreds.SecurityToken, cannedID, ""),
			call:   findOn(imageID), action: describeAction, code: "IncompleteSignature", status: 400, advice: "string to sign: REDACTED REDACTED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var endpoint string
			if tc.canned != "" {
				endpoint = cannedECS(t, tc.status, "application/json;charset=utf-8", tc.canned).URL
			} else {
				cfg := testConfig()
				if tc.edit != nil {
					tc.edit(&cfg)
				}
				_, srv := simtest.Serve(t, cfg, tc.opts...)
				endpoint = srv.URL
			}
			creds := tc.creds
			if creds == (credentials.Credentials{}) {
				creds = ownerCreds
			}
			c := newClient(t, endpoint, creds)

			err := tc.call(c)
			var e *ecs.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *ecs.Error", err, err)
			}
			if e.Action != tc.action || e.Code != tc.code || e.StatusCode != tc.status || e.RequestID == "" {
				t.Errorf("Error = {Action %q, Code %q, StatusCode %d, RequestID %q}, want {%q, %q, %d, non-empty}",
					e.Action, e.Code, e.StatusCode, e.RequestID, tc.action, tc.code, tc.status)
			}
			msg := err.Error()
			prefix, suffix := tc.action+": "+tc.code+": ", " (ECS request id "+e.RequestID+")"
			if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) || !strings.Contains(msg, tc.advice) {
				t.Errorf("message %q\nwant %q...%q...%q", msg, prefix, tc.advice, suffix)
			}
			if e.AuthAction != tc.authAction {
				t.Errorf("AuthAction = %q, want %q", e.AuthAction, tc.authAction)
			}
			if got := ecs.IsNotFound(err); got != tc.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, tc.notFound)
			}
			if got := ecs.IsRetryable(err); got != tc.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tc.retryable)
			}
			if got := ecs.IsThrottled(err); got != tc.throttled {
				t.Errorf("IsThrottled = %v, want %v", got, tc.throttled)
			}
			if got := ecs.IsAccountError(err); got != tc.accountError {
				t.Errorf("IsAccountError = %v, want %v", got, tc.accountError)
			}
			assertNoSecrets(t, err)
		})
	}
}

// encrypted encrypts the test image.
func encrypted(how string) func(*ecssim.Config) {
	return func(c *ecssim.Config) { c.Images[0].Encryption = how }
}

// TestThrottlingThenRecovery checks that throttling is retryable and that a
// retry succeeds once the rate limit's bucket has refilled.
func TestThrottlingThenRecovery(t *testing.T) {
	clk := simtest.NewClock()
	cfg := testConfig()
	cfg.Faults.RateLimits.PerAction = map[string]ecssim.Rate{describeAction: {PerSecond: 1, Burst: 1}}
	_, srv := simtest.Serve(t, cfg, ecssim.WithClock(clk.Now))
	c := newClient(t, srv.URL, ownerCreds)
	steps := []struct {
		name      string
		advance   time.Duration
		wantCode  string
		retryable bool
	}{
		{name: "first call spends the bucket"},
		{name: "second is throttled", wantCode: "Throttling.User", retryable: true},
		{name: "after a second the bucket has refilled", advance: time.Second},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		_, err := find(c, imageID, friend)
		if got := codeOf(err); got != st.wantCode {
			t.Fatalf("%s: code %q, want %q", st.name, got, st.wantCode)
		}
		if got := ecs.IsRetryable(err); got != st.retryable {
			t.Fatalf("%s: IsRetryable = %v, want %v", st.name, got, st.retryable)
		}
	}
}

// TestTransportErrors checks failures with no ECS answer: retryable, naming
// the endpoint and nothing of the request.
func TestTransportErrors(t *testing.T) {
	const latency, readTimeout = 300 * time.Millisecond, 100 * time.Millisecond
	cases := []struct {
		name string
		// endpoint returns the server to call.
		endpoint    func(t *testing.T) string
		readTimeout time.Duration
		advice      string
		// netErr is whether a net.Error is in the chain, and wantTimeout whether it is a timeout.
		netErr, wantTimeout bool
		// maxTook bounds how long the call may take.
		maxTook time.Duration
	}{
		{
			name: "connection refused",
			endpoint: func(t *testing.T) string {
				_, srv := simtest.Serve(t, testConfig())
				srv.Close()
				return srv.URL
			},
			readTimeout: time.Second,
			advice:      "was unreachable (dial tcp",
			netErr:      true,
			maxTook:     time.Second,
		},
		{
			name: "read timeout",
			endpoint: func(t *testing.T) string {
				cfg := testConfig()
				cfg.Faults.Latency = ecssim.Duration{Duration: latency}
				_, srv := simtest.Serve(t, cfg)
				return srv.URL
			},
			readTimeout: readTimeout,
			advice:      "did not answer in time (net/http: timeout awaiting response headers)",
			netErr:      true,
			wantTimeout: true,
			maxTook:     latency - 10*time.Millisecond,
		},
		{
			name: "an answer that is not ECS's",
			endpoint: func(t *testing.T) string {
				return cannedECS(t, http.StatusBadGateway, "text/html", "<html><body>502 Bad Gateway</body></html>").URL
			},
			readTimeout: time.Second,
			advice:      "did not answer as ECS does",
			maxTook:     time.Second,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := tc.endpoint(t)
			c := newClient(t, endpoint, ownerCreds, func(c *ecs.Config) { c.ReadTimeout = tc.readTimeout })
			begin := time.Now()
			_, err := find(c, imageID, friend)
			took := time.Since(begin)
			if took > tc.maxTook {
				t.Errorf("call took %v, want at most %v", took, tc.maxTook)
			}
			var e *ecs.Error
			if !errors.As(err, &e) || e.Code != "" {
				t.Fatalf("error %v (%T), want an *ecs.Error with no code", err, err)
			}
			host := strings.TrimPrefix(endpoint, "http://")
			if msg := err.Error(); !strings.HasPrefix(msg, describeAction+": ECS at "+host+" ") || !strings.Contains(msg, tc.advice) {
				t.Errorf("message %q, want it to name %s and say %q", msg, host, tc.advice)
			}
			if msg := err.Error(); strings.Contains(msg, imageID) {
				t.Errorf("message %q quotes the request", msg)
			}
			var ne net.Error
			if errors.As(err, &ne) != tc.netErr || (tc.netErr && ne.Timeout() != tc.wantTimeout) {
				t.Errorf("net.Error in the chain: %v (%v), want %v with Timeout() %v", ne != nil, ne, tc.netErr, tc.wantTimeout)
			}
			if !ecs.IsRetryable(err) || ecs.IsNotFound(err) {
				t.Errorf("IsRetryable = %v, IsNotFound = %v, want true, false", ecs.IsRetryable(err), ecs.IsNotFound(err))
			}
			assertNoSecrets(t, err)
		})
	}
}

// TestContext checks that the caller's context, which the SDK does not
// take, still bounds a call, and that its ending is neither retryable nor an
// *ecs.Error.
func TestContext(t *testing.T) {
	const latency = 300 * time.Millisecond
	cases := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		call func(context.Context, ecs.Client) error
		want error
		// wantCalls is how many calls reach the simulator.
		wantCalls int
	}{
		{
			name: "cancelled during FindShare",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			},
			call:      func(ctx context.Context, c ecs.Client) error { _, err := c.FindShare(ctx, imageID, friend); return err },
			want:      context.Canceled,
			wantCalls: 1,
		},
		{
			name: "deadline during AddAccounts",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
			call:      func(ctx context.Context, c ecs.Client) error { return c.AddAccounts(ctx, imageID, stranger) },
			want:      context.DeadlineExceeded,
			wantCalls: 1,
		},
		{
			name: "cancelled before FindShare",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			call: func(ctx context.Context, c ecs.Client) error { _, err := c.FindShare(ctx, imageID, friend); return err },
			want: context.Canceled,
		},
		{
			name: "cancelled before RemoveAccounts",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			call: func(ctx context.Context, c ecs.Client) error { return c.RemoveAccounts(ctx, imageID, friend) },
			want: context.Canceled,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Faults.Latency = ecssim.Duration{Duration: latency}
			sim, srv := simtest.Serve(t, cfg)
			c := newClient(t, srv.URL, ownerCreds)
			ctx, cancel := tc.ctx()
			defer cancel()
			begin := time.Now()
			err := tc.call(ctx, c)
			if took := time.Since(begin); took >= latency-50*time.Millisecond {
				t.Errorf("call took %v: it waited for ECS instead of the context", took)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v in its chain", err, tc.want)
			}
			var e *ecs.Error
			if errors.As(err, &e) || ecs.IsRetryable(err) || ecs.IsNotFound(err) {
				t.Errorf("error %v is an *ecs.Error (%v), retryable (%v) or not-found (%v)", err, e != nil, ecs.IsRetryable(err), ecs.IsNotFound(err))
			}
			// The abandoned call still reaches ECS; closing the server waits for it.
			srv.Close()
			calls := 0
			for _, byOutcome := range sim.Counters() {
				for _, n := range byOutcome {
					calls += int(n)
				}
			}
			if calls != tc.wantCalls {
				t.Errorf("%d calls reached ECS, want %d", calls, tc.wantCalls)
			}
		})
	}
}

func TestIsNotFoundIsRetryable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("observing: %w", err) }
	cases := []struct {
		name                string
		err                 error
		notFound, retryable bool
	}{
		{name: "nil"},
		{name: "a plain error", err: errors.New("boom")},
		{name: "context canceled", err: wrap(context.Canceled)},
		{name: "context deadline", err: wrap(context.DeadlineExceeded)},
		{name: "image not found", err: &ecs.Error{Code: "InvalidImageId.NotFound", StatusCode: 404}, notFound: true},
		{name: "wrapped image not found", err: wrap(&ecs.Error{Code: "InvalidImageId.NotFound", StatusCode: 404}), notFound: true},
		{name: "account not found", err: &ecs.Error{Code: "InvalidAccount.NotFound", StatusCode: 404}},
		{name: "Throttling", err: &ecs.Error{Code: "Throttling", StatusCode: 400}, retryable: true},
		{name: "Throttling.User", err: &ecs.Error{Code: "Throttling.User", StatusCode: 400}, retryable: true},
		{name: "wrapped Throttling.Api", err: wrap(&ecs.Error{Code: "Throttling.Api", StatusCode: 400}), retryable: true},
		{name: "ServiceUnavailable", err: &ecs.Error{Code: "ServiceUnavailable", StatusCode: 503}, retryable: true},
		{name: "InternalError", err: &ecs.Error{Code: "InternalError", StatusCode: 500}, retryable: true},
		{name: "any 5xx", err: &ecs.Error{Code: "SomethingNew", StatusCode: 504}, retryable: true},
		{name: "unreachable", err: &ecs.Error{}, retryable: true},
		{name: "quota", err: &ecs.Error{Code: "QuotaExceed.ShareImageUser", StatusCode: 403}},
		{name: "RAM", err: &ecs.Error{Code: "Forbidden.RAM", StatusCode: 403}},
		{name: "bad signature", err: &ecs.Error{Code: "SignatureDoesNotMatch", StatusCode: 400}},
	}
	for _, tc := range cases {
		if got := ecs.IsNotFound(tc.err); got != tc.notFound {
			t.Errorf("%s: IsNotFound = %v, want %v", tc.name, got, tc.notFound)
		}
		if got := ecs.IsRetryable(tc.err); got != tc.retryable {
			t.Errorf("%s: IsRetryable = %v, want %v", tc.name, got, tc.retryable)
		}
	}
}
