package ecssim_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" // the RPC signature is HMAC-SHA1 by definition
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// These signers are written from the reference document, not from the
// simulator, so that a shared misreading of the spec cannot make both sides
// agree on a wrong signature.

const (
	wireACS3     = "ACS3-HMAC-SHA256"
	wireVersion  = "2014-05-26"
	wireLayout   = "2006-01-02T15:04:05Z"
	wireFormType = "application/x-www-form-urlencoded"
)

type wireStyle int

const (
	wireACS3Signed wireStyle = iota
	wireRPCSigned
	// wireACS3Unsigned and wireRPCUnsigned carry everything but the signature.
	wireACS3Unsigned
	wireRPCUnsigned
)

// wireReq is a request before signing: what a client means to send.
type wireReq struct {
	style                wireStyle
	method               string
	action, version      string
	params               url.Values
	body                 []byte
	keyID, secret, token string
	date                 string // "" leaves the date out
	nonce                string
	algorithm            string   // ACS3 Authorization scheme
	unsigned             []string // ACS3 headers sent but left out of SignedHeaders
	inBody               bool     // RPC parameters in a form body instead of the query
}

// wireSent is a request after signing: what goes on the wire, open to tampering.
type wireSent struct {
	method string
	query  url.Values
	header http.Header
	body   []byte
}

func wireNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// wireEscape is the reference's escape: URL query escape, then
// "+"→"%20", "*"→"%2A", "%7E"→"~".
func wireEscape(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

// wireCanonical sorts by key, not by the encoded pair: "AddAccount" must
// come before "AddAccount.1" although "=" sorts after ".".
func wireCanonical(params url.Values) string {
	keys := slices.Sorted(maps.Keys(params))
	var pairs []string
	for _, k := range keys {
		for _, v := range params[k] {
			pairs = append(pairs, wireEscape(k)+"="+wireEscape(v))
		}
	}
	return strings.Join(pairs, "&")
}

func wireSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (w *wireReq) sign(host string) wireSent {
	switch w.style {
	case wireRPCSigned, wireRPCUnsigned:
		return w.signRPC()
	default:
		return w.signACS3(host)
	}
}

func (w *wireReq) signACS3(host string) wireSent {
	h := http.Header{}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Accept", "application/json")
	set("x-acs-action", w.action)
	set("x-acs-version", w.version)
	set("x-acs-date", w.date)
	set("x-acs-signature-nonce", w.nonce)
	set("x-acs-content-sha256", wireSHA256(w.body))
	if w.token != "" {
		set("x-acs-security-token", w.token)
		set("x-acs-accesskey-id", w.keyID)
	}
	s := wireSent{method: w.method, query: w.params, header: h, body: w.body}
	if w.style == wireACS3Unsigned {
		return s
	}

	var names []string
	values := map[string]string{"host": host}
	if !slices.Contains(w.unsigned, "host") {
		names = append(names, "host")
	}
	for k := range h {
		name := strings.ToLower(k)
		if (strings.HasPrefix(name, "x-acs-") || name == "content-type") && !slices.Contains(w.unsigned, name) {
			names = append(names, name)
			values[name] = strings.TrimSpace(h.Get(k))
		}
	}
	slices.Sort(names)
	var headers strings.Builder
	for _, n := range names {
		headers.WriteString(n + ":" + values[n] + "\n")
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{w.method, "/", wireCanonical(w.params), headers.String(), signed, wireSHA256(w.body)}, "\n")
	mac := hmac.New(sha256.New, []byte(w.secret))
	mac.Write([]byte(wireACS3 + "\n" + wireSHA256([]byte(canonical))))
	h.Set("Authorization", fmt.Sprintf("%s Credential=%s,SignedHeaders=%s,Signature=%s",
		w.algorithm, w.keyID, signed, hex.EncodeToString(mac.Sum(nil))))
	return s
}

func (w *wireReq) signRPC() wireSent {
	p := url.Values{}
	for k, v := range w.params {
		p[k] = slices.Clone(v)
	}
	for k, v := range map[string]string{
		"Action": w.action, "Version": w.version, "Format": "JSON", "AccessKeyId": w.keyID,
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": w.nonce,
		"Timestamp": w.date, "SecurityToken": w.token,
	} {
		if v != "" {
			p.Set(k, v)
		}
	}
	if w.style == wireRPCSigned {
		stringToSign := w.method + "&" + wireEscape("/") + "&" + wireEscape(wireCanonical(p))
		mac := hmac.New(sha1.New, []byte(w.secret+"&"))
		mac.Write([]byte(stringToSign))
		p.Set("Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	s := wireSent{method: w.method, query: p, header: http.Header{"Accept": {"application/json"}}}
	if w.inBody {
		s.body = []byte(p.Encode())
		s.query = nil
		s.header.Set("Content-Type", wireFormType)
	}
	return s
}

func (s wireSent) request(t *testing.T, srv *httptest.Server) *http.Request {
	t.Helper()
	u := srv.URL + "/"
	if len(s.query) > 0 {
		u += "?" + s.query.Encode()
	}
	r, err := http.NewRequest(s.method, u, bytes.NewReader(s.body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	r.Header = s.header.Clone()
	return r
}

// Edits shape the default request (the owner describing imageID over ACS3).

func wireAll(edits ...func(*wireReq)) func(*wireReq) {
	return func(w *wireReq) {
		for _, e := range edits {
			e(w)
		}
	}
}

func wireRPC(w *wireReq) { w.style = wireRPCSigned }

func wireAs(keyID, secret, token string) func(*wireReq) {
	return func(w *wireReq) { w.keyID, w.secret, w.token = keyID, secret, token }
}

func wireSharing(w *wireReq) {
	w.action = "ModifyImageSharePermission"
	w.params.Set("AddAccount.1", stranger)
}

func wireSkewed(d time.Duration) func(*wireReq) {
	return func(w *wireReq) {
		t, _ := time.Parse(wireLayout, w.date)
		w.date = t.Add(d).Format(wireLayout)
	}
}

// wireReply is what one send must be answered with; an empty code is success.
type wireReply struct {
	status     int
	code       string
	authAction string
}

var wireOK = wireReply{status: http.StatusOK}

// wireErrorDoc is the ECS error body as the reference describes it.
type wireErrorDoc struct {
	RequestID          string `json:"RequestId"`
	HostID             string `json:"HostId"`
	Code               string `json:"Code"`
	Message            string `json:"Message"`
	Recommend          string `json:"Recommend"`
	AccessDeniedDetail *struct {
		AuthAction string `json:"AuthAction"`
	} `json:"AccessDeniedDetail"`
}

// wireCredentials are everything that must never come back in a response.
var wireCredentials = []string{ownerSec, otherSec, credSTSSecret, credExpiredSecret, credRAMSecret, credSTSToken, credExpiredToken}

func wireCheck(t *testing.T, resp *http.Response, want wireReply) {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	for _, c := range wireCredentials {
		if bytes.Contains(body, []byte(c)) {
			t.Errorf("response echoes credential %q: %s", c, body)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	reqID := resp.Header.Get("x-acs-request-id")
	if reqID == "" {
		t.Error("no x-acs-request-id header")
	}
	var doc wireErrorDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("body is not JSON (%v): %s", err, body)
	}
	if resp.StatusCode != want.status || doc.Code != want.code {
		t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, doc.Code, want.status, want.code, body)
	}
	if doc.RequestID != reqID {
		t.Errorf("body RequestId %q differs from header %q", doc.RequestID, reqID)
	}
	if want.code == "" {
		return
	}
	if doc.HostID == "" || doc.Message == "" {
		t.Errorf("error body lacks HostId or Message: %s", body)
	}
	if !strings.Contains(doc.Recommend, want.code) || !strings.Contains(doc.Recommend, reqID) {
		t.Errorf("Recommend %q names neither code %s nor request %s", doc.Recommend, want.code, reqID)
	}
	if want.authAction != "" && (doc.AccessDeniedDetail == nil || doc.AccessDeniedDetail.AuthAction != want.authAction) {
		t.Errorf("AccessDeniedDetail = %+v, want AuthAction %s", doc.AccessDeniedDetail, want.authAction)
	}
}

func TestWire(t *testing.T) {
	sha := wireSHA256([]byte("{}"))
	const reserved = "a b+c*d~e/f=g&h%i\u00e9"
	cases := []struct {
		name   string
		edit   func(*wireReq)
		tamper func(*wireSent)
		// want has one reply per send; every send repeats the same bytes.
		want []wireReply
		// advance moves the simulator's clock between sends.
		advance time.Duration
	}{
		{name: "acs3 baseline", want: []wireReply{wireOK}},
		{name: "acs3 GET", edit: func(w *wireReq) { w.method = http.MethodGet }, want: []wireReply{wireOK}},
		{name: "acs3 modify", edit: wireSharing, want: []wireReply{wireOK}},
		{
			name: "missing Authorization",
			edit: func(w *wireReq) { w.style = wireACS3Unsigned },
			want: []wireReply{{http.StatusBadRequest, "MissingParameter", ""}},
		},
		{
			name: "missing Signature",
			edit: func(w *wireReq) { w.style = wireRPCUnsigned },
			want: []wireReply{{http.StatusBadRequest, "MissingParameter", ""}},
		},
		{
			name:   "acs3 query value changed after signing",
			tamper: func(s *wireSent) { s.query.Set("ImageId", "m-deprecated") },
			want:   []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name:   "acs3 query parameter added after signing",
			tamper: func(s *wireSent) { s.query.Set("PageSize", "1") },
			want:   []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name:   "acs3 content hash changed",
			tamper: func(s *wireSent) { s.header.Set("x-acs-content-sha256", sha) },
			want:   []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name:   "acs3 body changed",
			tamper: func(s *wireSent) { s.body = []byte("{}") },
			want:   []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			// The hash then matches the body, so only the signature over
			// the hash header can catch it.
			name:   "acs3 body and hash changed together",
			tamper: func(s *wireSent) { s.body = []byte("{}"); s.header.Set("x-acs-content-sha256", sha) },
			want:   []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name: "acs3 wrong secret",
			edit: wireAs(ownerKey, credWrongSecret, ""),
			want: []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name: "unsupported algorithm",
			edit: func(w *wireReq) { w.algorithm = "ACS3-HMAC-SM3" },
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "x-acs-date not signed",
			edit: func(w *wireReq) { w.unsigned = []string{"x-acs-date"} },
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "host not signed",
			edit: func(w *wireReq) { w.unsigned = []string{"host"} },
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "x-acs-signature-nonce not signed",
			edit: func(w *wireReq) { w.unsigned = []string{"x-acs-signature-nonce"} },
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "x-acs-content-sha256 not signed",
			edit: func(w *wireReq) { w.unsigned = []string{"x-acs-content-sha256"} },
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			// Each character here is one the escape rules treat specially.
			name: "acs3 reserved characters in a value",
			edit: func(w *wireReq) { w.params.Set("ClientToken", reserved) },
			want: []wireReply{wireOK},
		},
		{
			name: "rpc reserved characters in a value",
			edit: wireAll(wireRPC, func(w *wireReq) { w.params.Set("ClientToken", reserved) }),
			want: []wireReply{wireOK},
		},
		{
			// Key order, not pair order: AddAccount sorts before AddAccount.1.
			name: "acs3 key that prefixes another",
			edit: wireAll(wireSharing, func(w *wireReq) { w.params.Set("AddAccount", "") }),
			want: []wireReply{wireOK},
		},
		{
			name: "nonce replay",
			want: []wireReply{wireOK, {http.StatusBadRequest, "SignatureNonceUsed", ""}},
		},
		{
			// Past the skew window a replay is stale before it is a replay.
			name:    "replay after the skew window",
			advance: 16 * time.Minute,
			want:    []wireReply{wireOK, {http.StatusBadRequest, "InvalidTimeStamp.Expired", ""}},
		},
		{name: "date 14 minutes past", edit: wireSkewed(-14 * time.Minute), want: []wireReply{wireOK}},
		{name: "date 14 minutes ahead", edit: wireSkewed(14 * time.Minute), want: []wireReply{wireOK}},
		{
			name: "date 16 minutes past",
			edit: wireSkewed(-16 * time.Minute),
			want: []wireReply{{http.StatusBadRequest, "InvalidTimeStamp.Expired", ""}},
		},
		{
			name: "date 16 minutes ahead",
			edit: wireSkewed(16 * time.Minute),
			want: []wireReply{{http.StatusBadRequest, "InvalidTimeStamp.Expired", ""}},
		},
		{
			name: "malformed date",
			edit: func(w *wireReq) { w.date = "Mon, 02 Jan 2006 15:04:05 GMT" },
			want: []wireReply{{http.StatusBadRequest, "InvalidTimeStamp.Format", ""}},
		},
		{
			name: "unknown action",
			edit: func(w *wireReq) { w.action = "DescribeInstances" },
			want: []wireReply{{http.StatusNotFound, "InvalidAction.NotFound", ""}},
		},
		{
			name: "wrong version",
			edit: func(w *wireReq) { w.version = "2016-03-14" },
			want: []wireReply{{http.StatusBadRequest, "InvalidVersion", ""}},
		},
		{
			name: "PUT",
			edit: func(w *wireReq) { w.method = http.MethodPut },
			want: []wireReply{{http.StatusMethodNotAllowed, "UnsupportedHTTPMethod", ""}},
		},
		{name: "rpc GET", edit: wireAll(wireRPC, func(w *wireReq) { w.method = http.MethodGet }), want: []wireReply{wireOK}},
		{name: "rpc POST query", edit: wireRPC, want: []wireReply{wireOK}},
		{name: "rpc POST form body", edit: wireAll(wireRPC, func(w *wireReq) { w.inBody = true }), want: []wireReply{wireOK}},
		{name: "rpc POST form body modify", edit: wireAll(wireRPC, wireSharing, func(w *wireReq) { w.inBody = true }), want: []wireReply{wireOK}},
		{
			name: "rpc missing Timestamp",
			edit: wireAll(wireRPC, func(w *wireReq) { w.date = "" }),
			want: []wireReply{{http.StatusBadRequest, "MissingParameter", ""}},
		},
		{
			name: "rpc malformed Timestamp",
			edit: wireAll(wireRPC, func(w *wireReq) { w.date = "2024-01-02 03:04:05" }),
			want: []wireReply{{http.StatusBadRequest, "InvalidTimeStamp.Format", ""}},
		},
		{
			name:   "rpc parameter changed after signing",
			edit:   wireRPC,
			tamper: func(s *wireSent) { s.query.Set("ImageId", "m-deprecated") },
			want:   []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name: "rpc wrong secret",
			edit: wireAll(wireRPC, wireAs(ownerKey, credWrongSecret, "")),
			want: []wireReply{{http.StatusBadRequest, "SignatureDoesNotMatch", ""}},
		},
		{
			name: "rpc unknown action",
			edit: wireAll(wireRPC, func(w *wireReq) { w.action = "DescribeInstances" }),
			want: []wireReply{{http.StatusNotFound, "InvalidAction.NotFound", ""}},
		},
		{name: "ram describe allowed", edit: wireAs(credRAMKey, credRAMSecret, ""), want: []wireReply{wireOK}},
		{
			name: "ram modify denied",
			edit: wireAll(wireAs(credRAMKey, credRAMSecret, ""), wireSharing),
			want: []wireReply{{http.StatusForbidden, "Forbidden.RAM", "ecs:ModifyImageSharePermission"}},
		},
		{name: "sts token header", edit: wireAs(credSTSKey, credSTSSecret, credSTSToken), want: []wireReply{wireOK}},
		{
			name: "sts token header missing",
			edit: wireAs(credSTSKey, credSTSSecret, ""),
			want: []wireReply{{http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey", ""}},
		},
		{
			name: "sts token header left out of the signature",
			edit: wireAll(wireAs(credSTSKey, credSTSSecret, credSTSToken), func(w *wireReq) { w.unsigned = []string{"x-acs-security-token"} }),
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "sts token expired",
			edit: wireAs(credExpiredKey, credExpiredSecret, credExpiredToken),
			want: []wireReply{{http.StatusBadRequest, "InvalidSecurityToken.Expired", ""}},
		},
		{
			// A client that mixes up its fields sends the secret where an
			// id belongs; the error must not reflect it.
			name: "secret sent as the access key id",
			edit: wireAs(ownerSec, ownerSec, ""),
			want: []wireReply{{http.StatusNotFound, "InvalidAccessKeyId.NotFound", ""}},
		},
		{
			name: "secret sent as the image id",
			edit: func(w *wireReq) { w.params.Set("ImageId", ownerSec) },
			want: []wireReply{{http.StatusNotFound, "InvalidImageId.NotFound", ""}},
		},
		{
			name:   "secret sent as the Authorization header",
			edit:   func(w *wireReq) { w.style = wireACS3Unsigned },
			tamper: func(s *wireSent) { s.header.Set("Authorization", ownerSec) },
			want:   []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "secret sent as the rpc SignatureMethod",
			edit: wireAll(wireRPC, func(w *wireReq) { w.style = wireRPCUnsigned }),
			tamper: func(s *wireSent) {
				s.query.Set("SignatureMethod", ownerSec)
				s.query.Set("Signature", "x")
			},
			want: []wireReply{{http.StatusBadRequest, "IncompleteSignature", ""}},
		},
		{
			name: "secret sent as the account to share with",
			edit: wireAll(wireSharing, func(w *wireReq) { w.params.Set("AddAccount.1", ownerSec) }),
			want: []wireReply{{http.StatusNotFound, "InvalidAccount.NotFound", ""}},
		},
		{
			name: "secret sent as the rpc access key id",
			edit: wireAll(wireRPC, wireAs(ownerSec, ownerSec, "")),
			want: []wireReply{{http.StatusNotFound, "InvalidAccessKeyId.NotFound", ""}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := simtest.NewClock()
			_, srv := simtest.Serve(t, credConfig(clk.Now()), ecssim.WithClock(clk.Now))
			w := &wireReq{
				style: wireACS3Signed, method: http.MethodPost,
				action: "DescribeImageSharePermission", version: wireVersion,
				params: url.Values{"RegionId": {region}, "ImageId": {imageID}},
				keyID:  ownerKey, secret: ownerSec,
				date: clk.Now().UTC().Format(wireLayout), nonce: wireNonce(), algorithm: wireACS3,
			}
			if tc.edit != nil {
				tc.edit(w)
			}
			s := w.sign(hostPort(srv))
			if tc.tamper != nil {
				tc.tamper(&s)
			}
			for i, want := range tc.want {
				if i > 0 {
					clk.Advance(tc.advance)
				}
				resp, err := srv.Client().Do(s.request(t, srv))
				if err != nil {
					t.Fatalf("send %d: %v", i+1, err)
				}
				wireCheck(t, resp, want)
			}
		})
	}
}
