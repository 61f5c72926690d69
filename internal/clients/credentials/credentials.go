// Package credentials is the provider's one credentials layer: the keys
// and their parsing and redaction, the sources that give them to each call
// and the sessions those keep, and the plan whose fingerprint keys every
// cache of what is built from a configuration's credentials.
//
// A Source gives fixed keys (Static) or STS sessions that rotate: from an
// OIDC token (RRSA), from the ECS instance's RAM role, or from AssumeRole
// over any of these or over fixed keys, hop after hop. Each session is
// fetched once, handed out from memory, refreshed ahead of its expiry by
// one fetch however many callers ask, and fetched again when a service
// refuses it. The sources reach STS and the instance metadata service
// through the STS and Metadata interfaces, which the sts and metadata
// clients satisfy: this package imports no client, and the ecs, sts and
// metadata clients are peers over it. Nothing here reads the process
// environment: the resolver decides what each configuration's plan is.
package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Credentials are an AccessKey pair, optionally with an STS token.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String shows the AccessKey ID, which identifies the key without granting
// anything, and hides the secret and the token, so that %v and %+v of
// Credentials or of anything holding them never leak them into logs.
func (c Credentials) String() string {
	return fmt.Sprintf("{AccessKeyID: %s, AccessKeySecret: %s, SecurityToken: %s}",
		c.AccessKeyID, redacted(c.AccessKeySecret), redacted(c.SecurityToken))
}

// GoString does for %#v what String does for %v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("credentials.Credentials{AccessKeyID: %q, AccessKeySecret: %q, SecurityToken: %q}",
		c.AccessKeyID, redacted(c.AccessKeySecret), redacted(c.SecurityToken))
}

// redactedText stands for a credential wherever one would be shown.
const redactedText = "REDACTED"

// redacted says whether a secret is set without saying what it is.
func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return redactedText
}

// Redactor removes each of secrets that is set from text, such as an
// endpoint's message that echoes a request's string to sign or a token.
func Redactor(secrets ...string) *strings.Replacer {
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, redactedText)
		}
	}
	return strings.NewReplacer(pairs...)
}

// Source gives credentials that rotate, such as an STS session. A client
// asks it before every call; it must answer from memory while its
// credentials are fresh, because every call waits for it.
type Source interface {
	// Credentials returns the credentials to call with now.
	Credentials(ctx context.Context) (Credentials, error)
	// Refused says that a service refused c as expired, revoked or unknown,
	// so that the source fetches new ones rather than handing out c again.
	Refused(c Credentials)
	// ID names the source stably and without any secret, for cache keys and
	// messages.
	ID() string
}

// ErrRefused is what a client's error is, to errors.Is, when the service
// refused the credentials the call was signed with as expired, revoked or
// unknown: fresh credentials from a Source can cure it, the same keys
// cannot.
var ErrRefused = errors.New("the credentials were refused as expired, revoked or unknown")

// IsRefusalCode reports whether an error code, which ECS and STS share,
// refuses a call's credentials so: an STS token that expired or was rotated
// under its key, a session key that the service no longer knows (revoked),
// or a key disabled.
func IsRefusalCode(code string) bool {
	return strings.HasPrefix(code, "InvalidSecurityToken.") || code == "InvalidAccessKeyId.NotFound" || code == "InvalidAccessKeyId.Inactive"
}

// credentialField is one field of the credentials document under the
// spellings accepted for it: this provider's own first, then
// provider-upjet-alibabacloud's, so that one Secret can serve both providers.
type credentialField struct {
	keys     [2]string
	required bool
	// check, if set, says what is wrong with a value that is set, never
	// quoting it.
	check func(string) error
	set   func(*Credentials, string)
}

var credentialFields = []credentialField{
	{keys: [2]string{"accessKeyId", "access_key"}, required: true, check: checkAccessKeyID, set: func(c *Credentials, v string) { c.AccessKeyID = v }},
	{keys: [2]string{"accessKeySecret", "secret_key"}, required: true, set: func(c *Credentials, v string) { c.AccessKeySecret = v }},
	{keys: [2]string{"securityToken", "security_token"}, set: func(c *Credentials, v string) { c.SecurityToken = v }},
}

// maxAccessKeyIDLen bounds an AccessKey ID: Alibaba Cloud's are 24 to 30
// characters (LTAI…, STS.…).
const maxAccessKeyIDLen = 128

// checkAccessKeyID accepts 1 to maxAccessKeyIDLen ASCII letters, digits and
// dots, which every AccessKey ID and STS AccessKey ID is. The ID is shown in
// messages and goes into cache keys: this keeps anything else, a secret
// pasted in its place included, out of them.
func checkAccessKeyID(id string) error {
	if len(id) > maxAccessKeyIDLen {
		return fmt.Errorf("is longer than %d characters", maxAccessKeyIDLen)
	}
	for i := range len(id) {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' {
			return errors.New("may hold only letters, digits and dots, as AccessKey IDs (LTAI…, STS.…) do: " +
				"check that the AccessKey ID and the secret are not swapped")
		}
	}
	return nil
}

// Parse reads the JSON credentials document
// {"accessKeyId", "accessKeySecret", "securityToken" (optional)}, or the same
// under provider-upjet-alibabacloud's keys {"access_key", "secret_key",
// "security_token"}. Unknown keys are ignored; surrounding whitespace, which
// copying a key from a console tends to add, is trimmed.
//
// The AccessKey ID must be 1 to 128 letters, digits and dots.
//
// Errors name keys but never quote the document: it holds the secret, and
// encoding/json's syntax errors can quote input, so they are not wrapped.
func Parse(doc []byte) (Credentials, error) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return Credentials{}, errors.New("the credentials document is empty: want a JSON object with accessKeyId and accessKeySecret")
	}
	var raw map[string]any
	if json.Unmarshal(doc, &raw) != nil || raw == nil {
		return Credentials{}, errors.New("the credentials are not a JSON object: want {\"accessKeyId\": ..., \"accessKeySecret\": ..., \"securityToken\": ... (optional)}")
	}
	var c Credentials
	var missing []string
	for _, f := range credentialFields {
		v, key, err := f.read(raw)
		if err != nil {
			return Credentials{}, err
		}
		if v == "" && f.required {
			missing = append(missing, fmt.Sprintf("%s (or %s)", f.keys[0], f.keys[1]))
		}
		if v != "" && f.check != nil {
			if err := f.check(v); err != nil {
				return Credentials{}, fmt.Errorf("the credentials' %s %w", key, err)
			}
		}
		f.set(&c, v)
	}
	if len(missing) > 0 {
		return Credentials{}, fmt.Errorf("the credentials lack %s", strings.Join(missing, " and "))
	}
	return c, nil
}

// read returns the field's value and the key it is under, whichever
// spelling is used; null counts as absent.
func (f credentialField) read(raw map[string]any) (string, string, error) {
	var found, foundKey string
	for _, k := range f.keys {
		v, ok := raw[k]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return "", "", fmt.Errorf("the credentials' %s must be a string", k)
		}
		s = strings.TrimSpace(s)
		if foundKey != "" && s != found {
			return "", "", fmt.Errorf("the credentials give both %s and %s, with different values: keep one", foundKey, k)
		}
		found = s
		if foundKey == "" {
			foundKey = k
		}
	}
	return found, foundKey, nil
}
