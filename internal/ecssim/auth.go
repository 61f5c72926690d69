package ecssim

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // RPC signature version 1.0 is HMAC-SHA1 by definition.
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const (
	acs3Algorithm = "ACS3-HMAC-SHA256"
	// maxClockSkew is how far a request's date may be from the server's clock.
	maxClockSkew = 15 * time.Minute
	timeLayout   = "2006-01-02T15:04:05Z"
)

// signedRequest is what either signature scheme carries, pulled out of the
// HTTP request before it is checked.
type signedRequest struct {
	accessKeyID   string
	securityToken string
	date          string
	nonce         string
	// dateName and nonceName are where the scheme carries them, for errors.
	dateName, nonceName string
	// verify reports whether the request was signed with secret.
	verify func(secret string) bool
}

// acs3Request reads an ACS3-HMAC-SHA256 request (what darabonba-openapi
// sends by default). The canonical request is rebuilt from the decoded query
// and the headers the client says it signed, with the Host header as sent.
func acs3Request(r *http.Request, body []byte) (signedRequest, *APIError) {
	auth := r.Header.Get("Authorization")
	algorithm, rest, _ := strings.Cut(auth, " ")
	if algorithm != acs3Algorithm {
		// Never echo the value: a misplaced secret would come back in the body.
		return signedRequest{}, apiErr(http.StatusBadRequest, CodeIncompleteSignature,
			"The request signature does not conform to Aliyun standards: the only supported algorithm is %s.", acs3Algorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	credential, signedHeaders, signature := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if credential == "" || signedHeaders == "" || signature == "" {
		return signedRequest{}, apiErr(http.StatusBadRequest, CodeIncompleteSignature,
			"The request signature does not conform to Aliyun standards: Credential, SignedHeaders and Signature are required.")
	}
	names := strings.Split(signedHeaders, ";")
	required := []string{"host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
	// Every x-acs-* header sent must be signed, as ACS3 specifies: they
	// choose the action and version and carry the STS token, so an unsigned
	// one could be changed in transit.
	for h := range r.Header {
		if name := strings.ToLower(h); strings.HasPrefix(name, "x-acs-") && !slices.Contains(required, name) {
			required = append(required, name)
		}
	}
	slices.Sort(required)
	for _, required := range required {
		if !slices.Contains(names, required) {
			return signedRequest{}, apiErr(http.StatusBadRequest, CodeIncompleteSignature,
				"The request signature does not conform to Aliyun standards: header %q must be signed.", required)
		}
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	contentHash := r.Header.Get("x-acs-content-sha256")
	return signedRequest{
		accessKeyID:   credential,
		securityToken: r.Header.Get("x-acs-security-token"),
		date:          r.Header.Get("x-acs-date"),
		nonce:         r.Header.Get("x-acs-signature-nonce"),
		dateName:      "x-acs-date",
		nonceName:     "x-acs-signature-nonce",
		verify: func(secret string) bool {
			if contentHash != payloadHash {
				return false
			}
			var canonicalHeaders strings.Builder
			for _, name := range names {
				values := r.Header.Values(name)
				if name == "host" {
					values = []string{r.Host}
				}
				trimmed := make([]string, len(values))
				for i, v := range values {
					trimmed[i] = strings.TrimSpace(v)
				}
				slices.Sort(trimmed)
				canonicalHeaders.WriteString(name + ":" + strings.Join(trimmed, ",") + "\n")
			}
			path := r.URL.EscapedPath()
			if path == "" {
				path = "/"
			}
			canonical := strings.Join([]string{
				r.Method, path, canonicalQuery(r.URL.Query(), ""), canonicalHeaders.String(), signedHeaders, payloadHash,
			}, "\n")
			h := sha256.Sum256([]byte(canonical))
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(acs3Algorithm + "\n" + hex.EncodeToString(h[:])))
			return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(strings.ToLower(signature)))
		},
	}, nil
}

// rpcRequest reads an RPC request signed with HMAC-SHA1 (signature version
// 1.0, what alibaba-cloud-sdk-go and Terraform's provider send): every
// parameter, from the query and a form body alike, except Signature is signed.
func rpcRequest(r *http.Request, params url.Values) (signedRequest, *APIError) {
	if params.Get("SignatureMethod") != "HMAC-SHA1" {
		return signedRequest{}, apiErr(http.StatusBadRequest, CodeIncompleteSignature,
			"The request signature does not conform to Aliyun standards: SignatureMethod must be HMAC-SHA1.")
	}
	if params.Get("SignatureVersion") != "1.0" {
		return signedRequest{}, apiErr(http.StatusBadRequest, CodeIncompleteSignature,
			"The request signature does not conform to Aliyun standards: SignatureVersion must be 1.0.")
	}
	if params.Get("AccessKeyId") == "" {
		return signedRequest{}, errMissing("AccessKeyId")
	}
	signature := params.Get("Signature")
	return signedRequest{
		accessKeyID:   params.Get("AccessKeyId"),
		securityToken: params.Get("SecurityToken"),
		date:          params.Get("Timestamp"),
		nonce:         params.Get("SignatureNonce"),
		dateName:      "Timestamp",
		nonceName:     "SignatureNonce",
		verify: func(secret string) bool {
			stringToSign := r.Method + "&" + percentEncode("/") + "&" + percentEncode(canonicalQuery(params, "Signature"))
			mac := hmac.New(sha1.New, []byte(secret+"&"))
			mac.Write([]byte(stringToSign))
			return hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(signature))
		},
	}, nil
}

// canonicalQuery is the sorted, percent-encoded form of params, leaving out
// the key skip. Both signature schemes share it.
func canonicalQuery(params url.Values, skip string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != skip {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range params[k] {
			parts = append(parts, percentEncode(k)+"="+percentEncode(v))
		}
	}
	return strings.Join(parts, "&")
}

// percentEncode is RFC 3986 encoding as Alibaba Cloud signs it.
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(e)
}

// authenticate checks a signed request against the known credentials, the
// clock and the nonces already seen, and returns the caller. The order is the
// gateway's: who is calling, is it really them, is it fresh, is it a replay.
// The caller holds s.mu.
func (s *Simulator) authenticate(req signedRequest, now time.Time) (credential, *APIError) {
	cred, ok := s.keys[req.accessKeyID]
	if !ok {
		return credential{}, apiErr(http.StatusNotFound, CodeAccessKeyNotFound, "Specified access key is not found.")
	}
	if !req.verify(cred.key.Secret) {
		return credential{}, errSignature()
	}
	if req.date == "" {
		return credential{}, errMissing(req.dateName)
	}
	t, err := time.Parse(timeLayout, req.date)
	if err != nil {
		return credential{}, apiErr(http.StatusBadRequest, CodeTimestampFormat, "Specified time stamp or date value is not well formatted.")
	}
	if d := now.Sub(t); d > maxClockSkew || d < -maxClockSkew {
		return credential{}, apiErr(http.StatusBadRequest, CodeTimestampExpired, "Specified time stamp or date value is expired.")
	}
	if req.nonce == "" {
		return credential{}, errMissing(req.nonceName)
	}
	if !s.nonces.add(req.accessKeyID+"/"+req.nonce, now) {
		return credential{}, apiErr(http.StatusBadRequest, CodeNonceUsed, "Specified signature nonce was used already.")
	}
	if cred.key.SecurityToken != "" {
		if req.securityToken != cred.key.SecurityToken {
			return credential{}, apiErr(http.StatusBadRequest, CodeTokenMismatch, "The security token does not match the access key.")
		}
		if exp := cred.key.Expiration; exp != nil && !now.Before(*exp) {
			return credential{}, apiErr(http.StatusBadRequest, CodeTokenExpired, "Specified SecurityToken is expired.")
		}
	}
	return cred, nil
}

// authorizeECS applies the caller's RAM policy to an ECS action.
func authorizeECS(c credential, action string) *APIError {
	if !c.allows(action) {
		e := apiErr(http.StatusForbidden, CodeForbiddenRAM,
			"User not authorized to operate on the specified resource, or this API doesn't support RAM.")
		e.AuthAction = "ecs:" + action
		return e
	}
	return nil
}

// allows reports whether the key's RAM policy allows action.
func (c credential) allows(action string) bool {
	allowed := c.key.AllowedActions
	return len(allowed) == 0 || slices.Contains(allowed, action)
}

// nonceCache remembers nonces for twice the allowed clock skew, long enough
// that a replay is always caught while its date is still accepted.
type nonceCache struct {
	seen  map[string]time.Time
	order []string
}

func (c *nonceCache) add(nonce string, now time.Time) bool {
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	for len(c.order) > 0 && now.Sub(c.seen[c.order[0]]) > 2*maxClockSkew {
		delete(c.seen, c.order[0])
		c.order = c.order[1:]
	}
	if _, ok := c.seen[nonce]; ok {
		return false
	}
	c.seen[nonce] = now
	c.order = append(c.order, nonce)
	return true
}
