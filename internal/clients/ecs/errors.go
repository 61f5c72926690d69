package ecs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

// ECS error codes the client explains. Match on codes, never on HTTP
// statuses: ECS's documentation disagrees with itself about the statuses.
const (
	CodeImageNotFound       = "InvalidImageId.NotFound"
	CodeQuotaShareImageUser = "QuotaExceed.ShareImageUser"
	CodeAccountForbidden    = "InvalidAccount.Forbbiden" // sic: ECS spells it so.
	CodeAccountNotFound     = "InvalidAccount.NotFound"
	CodeBidMismatch         = "InvalidImageId.BidMismatch"
	CodeInvalidImageStatus  = "OperationDenied.InvalidImageStatus"
	CodeForbiddenRAM        = "Forbidden.RAM"
	CodeAccessKeyNotFound   = "InvalidAccessKeyId.NotFound"
	CodeSignatureMismatch   = "SignatureDoesNotMatch"
	CodeTimestampExpired    = "InvalidTimeStamp.Expired"
	CodeServiceUnavailable  = "ServiceUnavailable"
	CodeInternalError       = "InternalError"
	CodeMissingParameter    = "MissingParameter"
	CodeInvalidParameter    = "InvalidParameter"
	// Sharing encrypted images.
	CodeServiceKeyEncrypted = "InvalidOperation.ServiceKeyEncryptedImageUnsupported"
	CodeAssumeRoleError     = "AssumeRoleError"
	CodeEncryptedSnapshot   = "OperationDeined.EncryptedSnapshot" // sic: ECS spells it so.
	codePrefixThrottling    = "Throttling"                        // Throttling, Throttling.User, Throttling.Api
	codePrefixSecurityToken = "InvalidSecurityToken."             // .Expired, .MismatchWithAccessKey, .Malformed
)

// Bounds on what an answer may put into an error: real codes, request ids
// and RAM actions are under 64 bytes, real messages under a few hundred.
const (
	maxCode    = 64
	maxMessage = 512
)

// Error is a failed ECS call. Code is ECS's error code, or empty when ECS
// could not be reached or did not answer as ECS does.
type Error struct {
	Action     string
	Code       string
	StatusCode int
	RequestID  string
	// ECSMessage is ECS's own message, with any credential removed.
	ECSMessage string
	// AuthAction is the RAM action a Forbidden.RAM answer names.
	AuthAction string
	// Added are the accounts a failed Modify call was to share with: the
	// advice for an encrypted image names the principal each needs.
	Added []string

	// host is the endpoint named when ECS was unreachable.
	host string
	// source is the ID of the credential source whose credentials ECS
	// refused, if the client has one: the advice then names it rather than
	// a Secret.
	source string
	// cause is the transport error when Code is empty. An ECS answer keeps no
	// cause: the SDK's error text repeats the body unredacted.
	cause error
}

// Error says what went wrong and what to change:
// "<Action>: <Code>: <meaning and advice> (ECS request id <id>)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Action)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	b.WriteString(e.advice())
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (ECS request id %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap exposes the transport error behind an unreachable ECS.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, credentials.ErrRefused) tell that ECS refused
// the call's credentials as expired, revoked or unknown.
func (e *Error) Is(target error) bool {
	return target == credentials.ErrRefused && credentials.IsRefusalCode(e.Code)
}

// codeAdvice is what a code means and what to change, for the codes whose
// advice needs nothing from the call.
var codeAdvice = map[string]string{
	CodeImageNotFound: "the image does not exist in this region for the account whose AccessKey is used " +
		"(a missing image, another account's image and an image in another region look alike); " +
		"check imageId, region and the credentials",
	CodeQuotaShareImageUser: "the image is already shared with the maximum number of accounts (50 by default); " +
		"unshare it from another account or raise the quota by a support ticket",
	CodeAccountForbidden: "an image cannot be shared with its owner's own account; share with another account",
	CodeAccountNotFound:  "the account to share with does not exist; check the account ID",
	CodeBidMismatch:      "the account to share with belongs to another Alibaba Cloud site (e.g. China and international); share only within one site",
	CodeInvalidImageStatus: "the image cannot be shared in its current status (e.g. Deprecated); " +
		"make it Available or share another image",
	CodeAccessKeyNotFound: "the AccessKey ID is unknown; check the AccessKey ID in the credentials Secret",
	CodeSignatureMismatch: "the AccessKey secret does not match the AccessKey ID; check the secret in the credentials Secret",
	CodeTimestampExpired:  "this machine's clock is more than 15 minutes off; fix the clock (e.g. NTP)",
	CodeServiceKeyEncrypted: "the image is encrypted with ECS's service key, and ECS does not share such images; " +
		"copy it with CopyImage, encrypting the copy with a customer-managed KMS key, and share the copy",
	CodeEncryptedSnapshot: "the image is encrypted, and ECS does not share encrypted images here; " +
		"share an unencrypted copy (CopyImage), or copy the image to a region where ECS shares encrypted images",
}

// ShareEncryptedImageRole is the RAM role, in the image owner's account,
// that ECS assumes to let the accounts an encrypted image is shared with
// use its KMS key.
const ShareEncryptedImageRole = "AliyunECSShareEncryptImageDefaultRole"

// sharePrincipals are the principals the trust policy of
// ShareEncryptedImageRole must name for accounts.
func sharePrincipals(accounts []string) string {
	if len(accounts) == 0 {
		return "<accountId>@ecs.aliyuncs.com for each account"
	}
	p := make([]string, len(accounts))
	for i, a := range accounts {
		p[i] = a + "@ecs.aliyuncs.com"
	}
	return strings.Join(p, ", ")
}

func (e *Error) advice() string {
	if e.Code == "" {
		return alisdk.TransportAdvice("ECS", e.host, "endpoint", e.cause)
	}
	if e.source != "" && credentials.IsRefusalCode(e.Code) {
		return fmt.Sprintf("ECS refused the credentials from %s as expired, revoked or unknown, and the source had no others; "+
			"it fetches new ones for the next call: if this persists, check that the role's sessions are not being revoked", e.source)
	}
	if a, ok := codeAdvice[e.Code]; ok {
		return a
	}
	switch c := e.Code; {
	case c == CodeAssumeRoleError:
		return fmt.Sprintf("the image is encrypted, and ECS shares it only through the RAM role %s in the image owner's account, "+
			"which it could not assume for this share; create the role if it is missing, and have its trust policy name %s "+
			"(the accounts' ECS service), with a policy that lets it use the image's KMS key", ShareEncryptedImageRole, sharePrincipals(e.Added))
	case c == CodeForbiddenRAM:
		action := e.AuthAction
		if action == "" {
			action = "ecs:" + e.Action
		}
		return fmt.Sprintf("the RAM user of the AccessKey lacks permission for %s; grant it (the minimal policy allows ecs:%s and ecs:%s, and ecs:%s for ImageSharings of image families)",
			action, ActionDescribe, ActionModify, ActionDescribeImages)
	case strings.HasPrefix(c, codePrefixSecurityToken):
		return "the STS security token is expired, malformed or not the AccessKey's; refresh it in the credentials Secret"
	case strings.HasPrefix(c, codePrefixThrottling):
		return "ECS throttled the account's " + e.Action + " calls: ECS limits each account's calls per action and region in one-minute windows, " +
			"shared with the console and every other tool of the account; the provider slows its pace and will try again"
	case c == CodeServiceUnavailable || c == CodeInternalError || e.StatusCode >= 500:
		return "ECS failed temporarily; will retry"
	case c == CodeMissingParameter || c == CodeInvalidParameter:
		return fmt.Sprintf("ECS rejected the request as malformed, which is a bug in the provider: please report it with ECS's message: %q", e.ECSMessage)
	case e.ECSMessage != "":
		return e.ECSMessage
	}
	return "ECS gave no message"
}

// IsNotFound reports whether err says the image does not exist (for the
// caller's account, in the client's region).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeImageNotFound
}

// IsRetryable reports whether the same call may succeed later without any
// change: throttling, a temporary ECS failure, or ECS being unreachable or
// timing out. The caller's own context ending is not retryable here: it is
// never an *Error.
func IsRetryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == "" || strings.HasPrefix(e.Code, codePrefixThrottling) ||
		e.Code == CodeServiceUnavailable || e.Code == CodeInternalError || e.StatusCode >= 500
}

// NotApplied reports whether ECS answered err with a refusal, so that the
// call changed nothing: any code but a temporary failure. A call that ECS
// did not answer, or failed on its side, may have been carried out.
func NotApplied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code != "" && (IsThrottled(err) || !IsRetryable(err))
}

// IsThrottled reports whether ECS refused a call for the account's rate
// limit (Throttling, Throttling.User, Throttling.Api).
func IsThrottled(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.HasPrefix(e.Code, codePrefixThrottling)
}

// IsAccountError reports whether a Modify call may have failed for one of
// the accounts it named rather than for all of them: a missing or the
// owner's own account, a full quota, which the accounts before it fitted,
// or an encrypted image's share role that trusts some accounts only.
// ECS does not say which account it was, so a batch that fails so is worth
// retrying one account at a time.
func IsAccountError(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case CodeAccountNotFound, CodeAccountForbidden, CodeQuotaShareImageUser, CodeBidMismatch, CodeAssumeRoleError:
		return true
	}
	return false
}

// errorBody is the part of ECS's error body the SDK does not lift into
// SDKError; SDKError.Data holds the body as JSON.
type errorBody struct {
	RequestID          string `json:"RequestId"`
	Message            string `json:"Message"`
	AccessDeniedDetail struct {
		AuthAction string `json:"AuthAction"`
	} `json:"AccessDeniedDetail"`
}

// classify turns what an SDK call returned into an *Error. cc is the call's
// credentials from a source, nil for fixed credentials.
func (c *client) classify(action string, err error, cc *callCreds) error {
	var sdkErr *tea.SDKError
	var refused *alisdk.RefusedAnswer
	if !errors.As(err, &sdkErr) || errors.As(err, &refused) {
		return &Error{Action: action, host: c.host, cause: err}
	}
	redact, source := c.redact, ""
	if cc != nil {
		redact, source = cc.redact, c.source.ID()
	}
	// The SDK's own errors have no Data and their text in Message; for an
	// ECS answer Message is the SDK's summary, and the body has ECS's words.
	msg := tea.StringValue(sdkErr.Message)
	var body errorBody
	if sdkErr.Data != nil {
		_ = json.Unmarshal([]byte(*sdkErr.Data), &body) // A body that is not JSON leaves the fields empty.
		msg = body.Message
	}
	// What an endpoint says is bounded before it reaches a condition: a
	// tenant's own endpoint may say anything, at any length.
	return &Error{
		Action:     action,
		Code:       alisdk.Clip(tea.StringValue(sdkErr.Code), maxCode),
		StatusCode: tea.IntValue(sdkErr.StatusCode),
		RequestID:  alisdk.Clip(body.RequestID, maxCode),
		ECSMessage: alisdk.Clip(redact.Replace(msg), maxMessage),
		AuthAction: alisdk.Clip(body.AccessDeniedDetail.AuthAction, maxCode),
		host:       c.host,
		source:     source,
	}
}
