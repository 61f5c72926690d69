package ecssim

import (
	"fmt"
	"net/http"
)

// APIError is an ECS error answer: an HTTP status, a Code clients match on and
// a human Message.
type APIError struct {
	Status  int
	Code    string
	Message string
	// AuthAction is the RAM action a Forbidden.RAM answer was denied, sent in
	// the body's AccessDeniedDetail as newer ECS versions do.
	AuthAction string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The error codes the simulator answers with. Statuses follow the ECS API
// reference; where it disagrees with itself the newer documentation wins.
const (
	CodeImageNotFound         = "InvalidImageId.NotFound"
	CodeAccountNotFound       = "InvalidAccount.NotFound"
	CodeAccountForbidden      = "InvalidAccount.Forbbiden" // sic: ECS spells it so.
	CodeQuotaShareImageUser   = "QuotaExceed.ShareImageUser"
	CodeInvalidImageStatus    = "OperationDenied.InvalidImageStatus"
	CodeMissingParameter      = "MissingParameter"
	CodeInvalidParameter      = "InvalidParameter"
	CodeThrottlingUser        = "Throttling.User"
	CodeServiceUnavailable    = "ServiceUnavailable"
	CodeInternalError         = "InternalError"
	CodeForbiddenRAM          = "Forbidden.RAM"
	CodeAccessKeyNotFound     = "InvalidAccessKeyId.NotFound"
	CodeSignatureMismatch     = "SignatureDoesNotMatch"
	CodeIncompleteSignature   = "IncompleteSignature"
	CodeNonceUsed             = "SignatureNonceUsed"
	CodeTimestampExpired      = "InvalidTimeStamp.Expired"
	CodeTimestampFormat       = "InvalidTimeStamp.Format"
	CodeTokenExpired          = "InvalidSecurityToken.Expired"
	CodeTokenMismatch         = "InvalidSecurityToken.MismatchWithAccessKey"
	CodeActionNotFound        = "InvalidAction.NotFound"
	CodeInvalidVersion        = "InvalidVersion"
	CodeUnsupportedHTTPMethod = "UnsupportedHTTPMethod"

	// Sharing encrypted images (see checkEncrypted).
	CodeServiceKeyEncrypted = "InvalidOperation.ServiceKeyEncryptedImageUnsupported"
	CodeAssumeRoleError     = "AssumeRoleError"
	CodeEncryptedSnapshot   = "OperationDeined.EncryptedSnapshot" // sic: ECS spells it so.
)

// The STS error codes. Statuses the STS documentation leaves open are 400
// for a bad parameter, 403 for a refusal and 404 for a missing role; every
// OIDC token problem is 401, as documented for most of them.
const (
	CodeNoPermission            = "NoPermission"
	CodeRoleNotExist            = "EntityNotExist.Role"
	CodeInvalidDurationSeconds  = "InvalidParameter.DurationSeconds"
	CodeInvalidRoleSessionName  = "InvalidParameter.RoleSessionName"
	CodeInvalidPolicyGrammar    = "InvalidParameter.PolicyGrammar"
	CodeNoSuchOIDCProvider      = "AuthenticationFail.NoPermission"
	CodeOIDCTokenInvalid        = "AuthenticationFail.OIDCToken.Invalid"
	CodeOIDCTokenSignature      = "AuthenticationFail.OIDCToken.InvalidSignature"
	CodeOIDCTokenIssuerNotMatch = "AuthenticationFail.OIDCToken.IssuerNotMatch"
	CodeOIDCTokenAudience       = "AuthenticationFail.OIDCToken.AudienceNotMatch"
	CodeOIDCTokenExpired        = "AuthenticationFail.OIDCToken.Expired"
)

func errMissing(param string) *APIError {
	return apiErr(http.StatusBadRequest, CodeMissingParameter,
		"The input parameter %q that is mandatory for processing this request is not supplied.", param)
}

func errInvalidParam(param string) *APIError {
	return apiErr(http.StatusBadRequest, CodeInvalidParameter, "The specified parameter %q is not valid.", param)
}

func errImageNotFound() *APIError {
	return apiErr(http.StatusNotFound, CodeImageNotFound, "The specified ImageId does not exist.")
}

func errThrottled() *APIError {
	return apiErr(http.StatusBadRequest, CodeThrottlingUser, "Request was denied due to user flow control.")
}

func errSignature() *APIError {
	return apiErr(http.StatusBadRequest, CodeSignatureMismatch, "Specified signature is not matched with our calculation.")
}

// errorBody is the JSON document ECS and STS send with every 4xx and 5xx answer.
type errorBody struct {
	RequestID string `json:"RequestId"`
	HostID    string `json:"HostId"`
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	Recommend string `json:"Recommend"`

	AccessDeniedDetail *accessDeniedDetail `json:"AccessDeniedDetail,omitempty"`
}

type accessDeniedDetail struct {
	AuthAction        string `json:"AuthAction"`
	AuthPrincipalType string `json:"AuthPrincipalType"`
	NoPermissionType  string `json:"NoPermissionType"`
}

func newErrorBody(e *APIError, requestID, hostID, product string) errorBody {
	b := errorBody{
		RequestID: requestID,
		HostID:    hostID,
		Code:      e.Code,
		Message:   e.Message,
		Recommend: fmt.Sprintf("https://api.aliyun.com/troubleshoot?q=%s&product=%s&requestId=%s", e.Code, product, requestID),
	}
	if e.AuthAction != "" {
		b.AccessDeniedDetail = &accessDeniedDetail{AuthAction: e.AuthAction, AuthPrincipalType: "SubUser", NoPermissionType: "ImplicitDeny"}
	}
	return b
}
