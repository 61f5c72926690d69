// Package metadata reads the RAM role credentials of the ECS instance the
// provider runs on from the instance metadata service, in hardened mode
// (IMDSv2) only: every read carries a session token, and a service that
// will not issue one is an error rather than a reason to read without.
package metadata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/alisdk"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
)

const (
	// DefaultEndpoint is the metadata service as every ECS instance sees it.
	DefaultEndpoint = "http://100.100.100.200"
	// DefaultTimeout bounds each request, as credentials-go does: the
	// service is on the instance's own link, so slow means absent.
	DefaultTimeout = time.Second

	// tokenTTL asks for a short session token: each Credentials call takes
	// a new one and uses it at once, so a longer one would only lengthen a
	// stolen token's use.
	tokenTTL = 60

	tokenHeader    = "X-aliyun-ecs-metadata-token"
	tokenTTLHeader = "X-aliyun-ecs-metadata-token-ttl-seconds"
	credentialsDir = "/latest/meta-data/ram/security-credentials/"

	// Limits on what is read: a token and a role name are short, the
	// credentials document a few hundred bytes.
	maxTokenBytes = 4 << 10
	maxDocBytes   = 64 << 10
)

// roleNamePattern admits RAM role names, which go into a URL path.
var roleNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Client reads the instance's role credentials.
type Client struct {
	base string
	// http refuses redirects and bounds answers and time, as for every
	// call of the provider's.
	http *alisdk.HTTP
}

// New returns a Client for the metadata service at endpoint (empty means
// DefaultEndpoint), each request bounded by timeout (0 means
// DefaultTimeout). It makes no request. Proxies from the environment are
// not used: the service answers only on the instance's own link, and a
// proxy would see the credentials.
func New(endpoint string, timeout time.Duration) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if timeout < 0 {
		return nil, errors.New("invalid metadata client configuration: the timeout must not be negative")
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	host, protocol, err := alisdk.ParseEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("invalid metadata endpoint: %w", err)
	}
	h, err := alisdk.NewHTTP(alisdk.HTTPOptions{Product: "ECS metadata", ConnectTimeout: timeout, ReadTimeout: timeout, MaxAnswer: maxDocBytes, NoProxy: true})
	if err != nil {
		return nil, fmt.Errorf("invalid metadata client configuration: %w", err)
	}
	return &Client{base: protocol + "://" + host, http: h}, nil
}

// Close closes the client's idle connection.
func (c *Client) Close() { c.http.Close() }

// Credentials returns the session of roleName, or of the role attached to
// the instance when roleName is empty.
func (c *Client) Credentials(ctx context.Context, roleName string) (credentials.Session, error) {
	token, err := c.token(ctx)
	if err != nil {
		return credentials.Session{}, err
	}
	if roleName == "" {
		b, err := c.get(ctx, credentialsDir, token, maxTokenBytes)
		if err != nil {
			return credentials.Session{}, err
		}
		roleName = strings.TrimSpace(string(b))
		if !roleNamePattern.MatchString(roleName) {
			return credentials.Session{}, errors.New("ECS metadata: the instance's RAM role name is not a role name; is a RAM role attached to the instance?")
		}
	} else if !roleNamePattern.MatchString(roleName) {
		return credentials.Session{}, fmt.Errorf("ECS metadata: %q is not a RAM role name: want 1 to 64 of A-Z, a-z, 0-9, '.', '_' and '-'", roleName)
	}
	doc, err := c.get(ctx, credentialsDir+url.PathEscape(roleName), token, maxDocBytes)
	if err != nil {
		return credentials.Session{}, err
	}
	return parseCredentials(roleName, doc)
}

// credentialsDoc is the metadata service's answer.
type credentialsDoc struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	SecurityToken   string `json:"SecurityToken"`
	Expiration      string `json:"Expiration"`
	Code            string `json:"Code"`
}

// parseCredentials checks the document strictly. Errors name fields, never
// values: the document holds the secret and token.
func parseCredentials(role string, doc []byte) (credentials.Session, error) {
	var d credentialsDoc
	dec := json.NewDecoder(bytes.NewReader(doc))
	if dec.Decode(&d) != nil || dec.More() {
		return credentials.Session{}, fmt.Errorf("ECS metadata: the credentials of role %s are not one JSON object", role)
	}
	if d.Code != "Success" {
		return credentials.Session{}, fmt.Errorf("ECS metadata: the credentials of role %s have Code %q, not Success", role, d.Code)
	}
	var missing []string
	for _, f := range [][2]string{{"AccessKeyId", d.AccessKeyID}, {"AccessKeySecret", d.AccessKeySecret}, {"SecurityToken", d.SecurityToken}, {"Expiration", d.Expiration}} {
		if f[1] == "" {
			missing = append(missing, f[0])
		}
	}
	if len(missing) > 0 {
		return credentials.Session{}, fmt.Errorf("ECS metadata: the credentials of role %s lack %s", role, strings.Join(missing, ", "))
	}
	exp, err := time.Parse(time.RFC3339, d.Expiration)
	if err != nil {
		return credentials.Session{}, fmt.Errorf("ECS metadata: the credentials of role %s have an Expiration %q that is not a time like 2006-01-02T15:04:05Z", role, d.Expiration)
	}
	return credentials.Session{
		Credentials: credentials.Credentials{AccessKeyID: d.AccessKeyID, AccessKeySecret: d.AccessKeySecret, SecurityToken: d.SecurityToken},
		Expiration:  exp.UTC(),
	}, nil
}

// token asks for an IMDSv2 session token.
func (c *Client) token(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+"/latest/api/token", http.NoBody)
	if err != nil {
		return "", fmt.Errorf("ECS metadata: cannot make the token request: %w", err)
	}
	req.Header.Set(tokenTTLHeader, strconv.Itoa(tokenTTL))
	b, err := c.do(req, maxTokenBytes)
	if err != nil {
		return "", fmt.Errorf("%w (this provider reads the metadata service only with a session token, IMDSv2, and does not fall back to IMDSv1)", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", errors.New("ECS metadata: the service answered an empty session token")
	}
	return token, nil
}

func (c *Client) get(ctx context.Context, path, token string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("ECS metadata: cannot make the request: %w", err)
	}
	req.Header.Set(tokenHeader, token)
	return c.do(req, limit)
}

// do sends req and reads at most limit bytes of a 200 answer. Errors name
// the method and path but no body: a body may hold credentials.
func (c *Client) do(req *http.Request, limit int64) ([]byte, error) {
	what := req.Method + " " + req.URL.Path
	resp, err := c.http.Do(req)
	if err != nil {
		var u *url.Error
		if errors.As(err, &u) {
			err = u.Err // url.Error's text repeats the URL; the cause says what failed.
		}
		return nil, fmt.Errorf("ECS metadata: %s at %s failed (%w): is the provider running on an ECS instance, and is the endpoint right?", what, c.base, err)
	}
	defer func() { _ = resp.Body.Close() }() // Nothing to do about a failed close of a read body.
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("ECS metadata: %s: not found (404): is a RAM role attached to the instance, and is the role name right?", what)
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, fmt.Errorf("ECS metadata: %s: refused (%d): the session token was not accepted", what, resp.StatusCode)
	default:
		return nil, fmt.Errorf("ECS metadata: %s: HTTP %d", what, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("ECS metadata: %s: reading the answer failed: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("ECS metadata: %s: the answer is longer than %d bytes", what, limit)
	}
	return b, nil
}
