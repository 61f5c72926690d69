package sts

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/alibabacloud-go/tea/tea"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

// Bounds on what an answer may put into an error: real codes and request
// ids are under 64 bytes, real messages under a few hundred.
const (
	maxCode    = 64
	maxMessage = 512
	// maxARN bounds an ARN or principal ID an answer names: real ones are
	// well under 256 bytes (a role name is at most 64, a session name 64).
	maxARN = 256
)

// Error is a failed STS call, or one refused before it was made. Code is
// STS's error code, empty when STS was not reached, did not answer as STS
// does, or the call was not made.
type Error struct {
	Action, Code string
	// Message is STS's own message with any credential or token removed, or
	// what was wrong when STS gave none.
	Message    string
	RequestID  string
	HTTPStatus int

	// host is the endpoint named when STS was unreachable.
	host string
	// cause is the transport error when STS was not reached. An STS answer
	// keeps no cause: the SDK's error text repeats the body unredacted.
	cause error
}

// Error says "STS <Action> failed: <Code>: <message>. <advice>".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "STS %s failed: ", e.Action)
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	msg := e.Message
	if e.Code == "" && e.cause != nil {
		msg = alisdk.TransportAdvice("STS", e.host, "STS endpoint", e.cause)
	}
	if msg == "" {
		msg = "STS gave no message"
	}
	b.WriteString(strings.TrimSuffix(msg, "."))
	b.WriteString(".")
	if a := e.advice(); a != "" {
		b.WriteString(" ")
		b.WriteString(a)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (STS request id %s)", e.RequestID)
	}
	return b.String()
}

// Unwrap exposes the transport error behind an unreachable STS.
func (e *Error) Unwrap() error { return e.cause }

// Is makes errors.Is(err, credentials.ErrRefused) tell that STS refused
// the caller's credentials as expired, revoked or unknown.
func (e *Error) Is(target error) bool {
	return target == credentials.ErrRefused && credentials.IsRefusalCode(e.Code)
}

// advice says what to fix, by code.
func (e *Error) advice() string {
	c := e.Code
	switch {
	case c == "":
		return ""
	case c == "NoPermission":
		return "The role's trust policy must name the caller (account, RAM user, role, or OIDC provider and subject) and any ExternalId must match; " +
			"the caller needs AliyunSTSAssumeRoleAccess (sts:AssumeRole)."
	case c == "EntityNotExist.Role":
		return "Check roleARN: the role does not exist."
	case c == "AuthenticationFail.OIDCToken.Expired":
		return "The OIDC token file is stale: the kubelet refreshes a projected token; check the volume's expirationSeconds and that the file is the one mounted."
	case c == "AuthenticationFail.OIDCToken.AudienceNotMatch":
		return "The projected token's audience must be sts.aliyuncs.com (or a client ID of the OIDC provider)."
	case c == "AuthenticationFail.NoPermission":
		return "Check oidcProviderARN: STS knows no such OIDC provider, or it does not trust this token."
	case strings.HasPrefix(c, "AuthenticationFail.OIDCToken."):
		return "The OIDC token is not one the OIDC provider issued: check oidcProviderARN and that the token file is the service account token projected for it."
	case strings.HasPrefix(c, "InvalidParameter."):
		return fmt.Sprintf("Check the %s parameter.", strings.TrimPrefix(c, "InvalidParameter."))
	case strings.HasPrefix(c, "Throttling"):
		return "STS throttled; the provider backs off."
	case strings.HasPrefix(c, "InvalidAccessKeyId.") || c == "SignatureDoesNotMatch" ||
		strings.HasPrefix(c, "InvalidSecurityToken.") || c == "MissingSecurityToken":
		return "The source credentials are wrong or expired."
	case e.retryable():
		return "STS failed temporarily; will retry."
	}
	return ""
}

func (e *Error) retryable() bool {
	return (e.Code == "" && e.cause != nil) || strings.HasPrefix(e.Code, "Throttling") ||
		e.Code == "ServiceUnavailable" || e.Code == "InternalError" || e.HTTPStatus >= 500
}

// IsThrottled reports whether STS refused a call for its rate limit.
func IsThrottled(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.HasPrefix(e.Code, "Throttling")
}

// IsRetryable reports whether the same call may succeed later without any
// change: throttling, a temporary STS failure, or STS unreachable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.retryable()
}

// errorBody is the part of STS's error body the SDK does not lift into
// SDKError; SDKError.Data holds the body as JSON.
type errorBody struct {
	RequestID string `json:"RequestId"`
	Message   string `json:"Message"`
}

// classify turns what an SDK call returned into an *Error, with secrets
// removed from STS's message.
func (c *Client) classify(action string, err error, secrets []string) error {
	var sdkErr *tea.SDKError
	var refused *alisdk.RefusedAnswer
	if !errors.As(err, &sdkErr) || errors.As(err, &refused) {
		return &Error{Action: action, host: c.host, cause: err}
	}
	msg := tea.StringValue(sdkErr.Message)
	var body errorBody
	if sdkErr.Data != nil {
		_ = json.Unmarshal([]byte(*sdkErr.Data), &body) // A body that is not JSON leaves the fields empty.
		msg = body.Message
	}
	redact := credentials.Redactor(secrets...)
	code := tea.StringValue(sdkErr.Code)
	if code == "" {
		// The SDK's own failures (such as an answer that is not JSON) have
		// no code and keep no body, and are no STS answer.
		return &Error{Action: action, host: c.host, cause: errors.New(alisdk.Clip(redact.Replace(msg), maxMessage))}
	}
	// What an endpoint says is bounded before it reaches a condition: a
	// tenant's own endpoint may say anything, at any length.
	return &Error{
		Action:     action,
		Code:       alisdk.Clip(code, maxCode),
		Message:    alisdk.Clip(redact.Replace(msg), maxMessage),
		RequestID:  alisdk.Clip(body.RequestID, maxCode),
		HTTPStatus: tea.IntValue(sdkErr.StatusCode),
		host:       c.host,
	}
}
