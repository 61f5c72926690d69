package ecssim_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	sts "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	rpcecs "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// The simulator stands in for ECS in every test of the provider, so a
// request it wrongly accepts is a signing bug the tests would never show.
// These targets feed it raw HTTP requests, seeded with what the two real
// SDKs send, and hold every 200 from the ECS surface to a signature check
// built from the reference helpers in wire_test.go.

// fuzzEpoch is the simulator's clock for a request that carries no date it
// can read; any fixed instant keeps such inputs deterministic.
var fuzzEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fuzzRequest parses raw as an HTTP/1.1 request, as a server would read it
// off the wire, and returns it with its whole body.
func fuzzRequest(raw []byte) (*http.Request, []byte, bool) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, nil, false
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, false
	}
	r.RemoteAddr = "192.0.2.1:1234"
	setBody(r, body)
	return r, body, true
}

func setBody(r *http.Request, body []byte) {
	r.Body, r.ContentLength, r.TransferEncoding = io.NopCloser(bytes.NewReader(body)), int64(len(body)), nil
}

// fuzzParams are the parameters an RPC request signs: its query and a form
// body. ok is false when the form body does not parse.
func fuzzParams(r *http.Request, body []byte) (params url.Values, ok bool) {
	params = r.URL.Query()
	if !strings.HasPrefix(r.Header.Get("Content-Type"), wireFormType) || len(body) == 0 {
		return params, true
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	for k, v := range form {
		params[k] = append(params[k], v...)
	}
	return params, true
}

// fuzzClock is the instant the request says it was signed, so that a
// signature captured at any time stays fresh and the answer depends on the
// input alone.
func fuzzClock(r *http.Request, body []byte) time.Time {
	params, _ := fuzzParams(r, body)
	for _, d := range []string{r.Header.Get("x-acs-date"), params.Get("Timestamp")} {
		if t, err := time.Parse(wireLayout, d); err == nil {
			return t
		}
	}
	return fuzzEpoch
}

// fuzzSim is one simulator per process, reloaded for every input: Load
// resets all that New sets up, nonces included, so each input still meets a
// simulator of its own, and building a Handler per input would cost more
// than the call it serves.
var fuzzSim = sync.OnceValues(func() (*fuzzHarness, error) {
	h := &fuzzHarness{}
	sim, err := ecssim.New(credConfig(fuzzEpoch), ecssim.WithClock(func() time.Time { return h.now }))
	if err != nil {
		return nil, err
	}
	h.sim, h.handler = sim, sim.Handler()
	return h, nil
})

type fuzzHarness struct {
	mu      sync.Mutex
	sim     *ecssim.Simulator
	handler http.Handler
	now     time.Time
}

// fuzzServe answers r from a simulator in its seed state whose clock
// stands still at now.
func fuzzServe(t *testing.T, r *http.Request, now time.Time) *httptest.ResponseRecorder {
	t.Helper()
	h, err := fuzzSim()
	if err != nil {
		t.Fatalf("ecssim.New: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = now
	if err := h.sim.Load(credConfig(now)); err != nil {
		t.Fatalf("Load: %v", err)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r)
	return rec
}

// ecsSurface reports whether r is for the signed ECS or STS API rather than
// the control API or the metrics, which are unauthenticated by design, or the
// instance metadata surface, which hands tokens to anyone on the instance.
func ecsSurface(r *http.Request) bool {
	metrics := r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead)
	return !metrics && !strings.HasPrefix(r.URL.Path, ecssim.ControlPrefix) && !strings.HasPrefix(r.URL.Path, "/latest/")
}

// fuzzSecrets maps every AccessKey ID the simulator knows to its secret.
func fuzzSecrets() map[string]string {
	out := map[string]string{}
	for _, a := range credConfig(fuzzEpoch).Accounts {
		for _, k := range a.AccessKeys {
			out[k.ID] = k.Secret
		}
	}
	return out
}

// acs3Fields are the comma-separated name=value fields of an ACS3
// Authorization header, or nil if it is not one.
func acs3Fields(r *http.Request) map[string]string {
	algorithm, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if algorithm != wireACS3 {
		return nil
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	return fields
}

// signedCorrectly reports whether r carries a valid signature, of either
// scheme, over everything the scheme signs, by a key the simulator knows.
func signedCorrectly(r *http.Request, body []byte) bool {
	secrets := fuzzSecrets()
	if f := acs3Fields(r); f != nil {
		secret, known := secrets[f["Credential"]]
		if !known || r.Header.Get("x-acs-content-sha256") != wireSHA256(body) {
			return false
		}
		var headers strings.Builder
		for _, name := range strings.Split(f["SignedHeaders"], ";") {
			values := r.Header.Values(name)
			if name == "host" {
				values = []string{r.Host}
			}
			if len(values) > 1 {
				return false // no SDK signs a repeated header
			}
			headers.WriteString(name + ":" + strings.TrimSpace(strings.Join(values, "")) + "\n")
		}
		path := r.URL.EscapedPath()
		if path == "" {
			path = "/"
		}
		canonical := strings.Join([]string{r.Method, path, wireCanonical(r.URL.Query()), headers.String(), f["SignedHeaders"], wireSHA256(body)}, "\n")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(wireACS3 + "\n" + wireSHA256([]byte(canonical))))
		// Hex is case-insensitive; the simulator reads either case.
		return strings.EqualFold(hex.EncodeToString(mac.Sum(nil)), f["Signature"])
	}
	params, ok := fuzzParams(r, body)
	if !ok {
		return false
	}
	signatures := params["Signature"]
	delete(params, "Signature")
	secret, known := secrets[params.Get("AccessKeyId")]
	if !known {
		return false
	}
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(r.Method + "&" + wireEscape("/") + "&" + wireEscape(wireCanonical(params))))
	return slices.Contains(signatures, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// sdkRequests are requests the real SDKs sent, as the simulator read them
// off the wire: the v4 SDK (ACS3-HMAC-SHA256) and alibaba-cloud-sdk-go (RPC
// HMAC-SHA1 by POST and by GET), with plain and STS keys. Each was answered
// 200; fuzzClock keeps them fresh for as long as the corpus lives.
var sdkRequests = sync.OnceValues(func() ([][]byte, error) {
	sim, err := ecssim.New(credConfig(time.Now()))
	if err != nil {
		return nil, err
	}
	var (
		mu    sync.Mutex
		dumps [][]byte
	)
	h := sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := httputil.DumpRequest(r, true); err == nil {
			mu.Lock()
			dumps = append(dumps, d)
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	v4 := func(keyID, secret, token string) (*ecs.Client, error) {
		cfg := &openapi.Config{
			AccessKeyId: tea.String(keyID), AccessKeySecret: tea.String(secret),
			Endpoint: tea.String(hostPort(srv)), Protocol: tea.String("http"), RegionId: tea.String(region),
			ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(2000),
		}
		if token != "" {
			cfg.SecurityToken = tea.String(token)
		}
		return ecs.NewClient(cfg)
	}
	rpc := func(keyID, secret, token string) (*rpcecs.Client, error) {
		c, err := rpcecs.NewClientWithStsToken(region, keyID, secret, token)
		if token == "" {
			c, err = rpcecs.NewClientWithAccessKey(region, keyID, secret)
		}
		if err == nil {
			c.SetNoProxy(regexp.QuoteMeta(hostPort(srv)))
		}
		return c, err
	}
	calls := []func() error{
		func() error {
			c, err := v4(ownerKey, ownerSec, "")
			if err == nil {
				_, err = describe(c, imageID, 1, 100)
			}
			if err == nil {
				err = modify(c, imageID, []string{stranger}, []string{friend})
			}
			if err == nil {
				_, err = c.DescribeImages(&ecs.DescribeImagesRequest{RegionId: tea.String(region), ImageOwnerAlias: tea.String("self")})
			}
			return err
		},
		func() error {
			c, err := v4(credSTSKey, credSTSSecret, credSTSToken)
			if err == nil {
				_, err = describe(c, imageID, 0, 0)
			}
			return err
		},
		func() error {
			c, err := rpc(ownerKey, ownerSec, "")
			if err == nil {
				_, err = rpcDescribe(c, srv, "", imageID)
			}
			if err == nil {
				_, err = rpcDescribe(c, srv, requests.GET, imageID)
			}
			if err == nil {
				err = rpcModify(c, srv, "", imageID, []string{friend}, []string{stranger})
			}
			return err
		},
		func() error {
			c, err := rpc(credSTSKey, credSTSSecret, credSTSToken)
			if err == nil {
				err = rpcModify(c, srv, requests.GET, imageID, []string{stranger}, nil)
			}
			return err
		},
		func() error {
			// STS through darabonba, signed ACS3 by default and RPC with "v2".
			for _, algorithm := range []string{"", "v2"} {
				cfg := &openapi.Config{
					AccessKeyId: tea.String(credSTSKey), AccessKeySecret: tea.String(credSTSSecret), SecurityToken: tea.String(credSTSToken),
					Endpoint: tea.String(hostPort(srv)), Protocol: tea.String("http"), ReadTimeout: tea.Int(5000), ConnectTimeout: tea.Int(2000),
				}
				if algorithm != "" {
					cfg.SignatureAlgorithm = tea.String(algorithm)
				}
				c, err := sts.NewClient(cfg)
				if err == nil {
					_, err = c.GetCallerIdentity()
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	for _, call := range calls {
		if err := call(); err != nil {
			return nil, err
		}
	}
	return dumps, nil
})

func addSDKRequests(f *testing.F, add func(raw []byte)) {
	f.Helper()
	raws, err := sdkRequests()
	if err != nil {
		f.Fatalf("capture SDK requests: %v", err)
	}
	for _, raw := range raws {
		add(raw)
	}
}

func FuzzHandler(f *testing.F) {
	addSDKRequests(f, func(raw []byte) {
		f.Add(raw)
		// The same request with a wrong signature, so that the property
		// is put to the test by the seeds alone.
		f.Add(bytes.Replace(raw, []byte("Signature="), []byte("Signature=0"), 1))
	})
	for _, raw := range []string{
		"GET /_sim/healthz HTTP/1.1\r\nHost: sim\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: sim\r\n\r\n",
		"PUT /_sim/faults HTTP/1.1\r\nHost: sim\r\nContent-Length: 17\r\n\r\n{\"errorRate\": 1}\n",
		"GET /?Action=DescribeImageSharePermission&Version=2014-05-26&Signature=x HTTP/1.1\r\nHost: sim\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: sim\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\na=%zz",
		"DELETE / HTTP/1.1\r\nHost: sim\r\nAuthorization: ACS3-HMAC-SHA256 ,,=\r\n\r\n",
		string(wireFormRequest()),
	} {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, body, ok := fuzzRequest(raw)
		if !ok {
			return
		}
		surface := ecsSurface(r)
		rec := fuzzServe(t, r, fuzzClock(r, body))
		if !surface {
			return
		}
		if rec.Code == http.StatusOK && !signedCorrectly(r, body) {
			t.Fatalf("answered 200 to a request that is not correctly signed:\n%s", raw)
		}
		if rec.Code == http.StatusOK && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answered 200 with a body that is not JSON: %q", rec.Body)
		}
		for _, c := range wireCredentials {
			if !bytes.Contains(raw, []byte(c)) && strings.Contains(rec.Body.String(), c) {
				t.Fatalf("the answer holds a credential the request did not: %q", rec.Body)
			}
		}
	})
}

// TestSDKRequestsAccepted keeps the seeds honest: were the captured
// requests refused, or the reference check to disagree with the SDKs, the
// targets would only ever explore the refusals.
func TestSDKRequestsAccepted(t *testing.T) {
	raws, err := sdkRequests()
	if err != nil {
		t.Fatalf("capture SDK requests: %v", err)
	}
	for _, raw := range append(raws, wireFormRequest()) {
		r, body, ok := fuzzRequest(raw)
		if !ok {
			t.Fatalf("seed request does not parse:\n%s", raw)
		}
		if !signedCorrectly(r, body) {
			t.Errorf("the reference check refuses what the SDK signed:\n%s", raw)
		}
		if rec := fuzzServe(t, r, fuzzClock(r, body)); rec.Code != http.StatusOK {
			t.Errorf("answered %d %s to what the SDK sent:\n%s", rec.Code, rec.Body, raw)
		}
	}
}

// What FuzzTamperedRequest changes in a signed request.
const (
	tamperQuery     = iota // one query parameter's value
	tamperForm             // one form body parameter's value
	tamperHeader           // one header the ACS3 signature lists, or the Host
	tamperMethod           // the HTTP method
	tamperBody             // bytes of the body, overwritten from an offset
	tamperSignature        // the signature itself
	tamperKinds
)

// FuzzTamperedRequest takes a request the simulator accepts and changes
// one signed element of it. The change must be refused unless it left what
// the scheme signs as it was: the parameters, the signed headers (whose
// surrounding blanks the schemes ignore), the method, the body (ACS3) or the
// form parameters it holds (RPC), and the signature.
func FuzzTamperedRequest(f *testing.F) {
	addSDKRequests(f, func(raw []byte) {
		for kind := range byte(tamperKinds) {
			f.Add(raw, kind, uint16(1), []byte("3333333333333333"))
			f.Add(raw, kind, uint16(0), []byte{})
		}
		f.Add(raw, byte(tamperHeader), uint16(3), []byte(" \t"))
		f.Add(raw, byte(tamperMethod), uint16(0), []byte("GET"))
	})
	f.Add(wireFormRequest(), byte(tamperForm), uint16(2), []byte("DescribeImages"))
	f.Add(wireFormRequest(), byte(tamperBody), uint16(7), []byte("&"))
	f.Fuzz(func(t *testing.T, raw []byte, kind byte, pick uint16, value []byte) {
		r, body, ok := fuzzRequest(raw)
		if !ok || !ecsSurface(r) {
			return
		}
		now := fuzzClock(r, body)
		if fuzzServe(t, r, now).Code != http.StatusOK {
			return // only a request that was accepted can be tampered with
		}
		r, body, _ = fuzzRequest(raw)
		unchanged, ok := tamper(r, body, kind, int(pick), value)
		if !ok {
			return
		}
		if rec := fuzzServe(t, r, now); rec.Code == http.StatusOK && !unchanged {
			t.Fatalf("answered 200 after tamper kind %d (pick %d, value %q) of\n%s", kind, pick, value, raw)
		}
	})
}

// tamper applies one change to r, whose body is body, and reports whether
// what is signed stayed the same. ok is false when the change does not
// apply to r or could not be sent over HTTP.
func tamper(r *http.Request, body []byte, kind byte, pick int, value []byte) (unchanged, ok bool) {
	v := string(value)
	switch kind % tamperKinds {
	case tamperQuery:
		q := r.URL.Query()
		old, ok := setParam(q, pick, v)
		r.URL.RawQuery = q.Encode()
		return old == v, ok
	case tamperForm:
		if !strings.HasPrefix(r.Header.Get("Content-Type"), wireFormType) {
			return false, false
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return false, false
		}
		old, ok := setParam(form, pick, v)
		setBody(r, []byte(form.Encode()))
		return old == v, ok
	case tamperHeader:
		f := acs3Fields(r)
		if f == nil || !headerValue(v) {
			return false, false
		}
		names := strings.Split(f["SignedHeaders"], ";")
		name, old := names[pick%len(names)], r.Host
		if name == "host" {
			r.Host = v
		} else {
			old = r.Header.Get(name)
			r.Header.Set(name, v)
		}
		return strings.TrimSpace(old) == strings.TrimSpace(v), true
	case tamperMethod:
		if v == "" || strings.ContainsAny(v, " \t\r\n/()<>@,;:\\\"[]?={}") || !headerValue(v) {
			return false, false
		}
		old := r.Method
		r.Method = v
		return old == v, true
	case tamperBody:
		i := pick % (len(body) + 1)
		tampered := append(append(slices.Clone(body[:i]), value...), body[min(i+len(value), len(body)):]...)
		setBody(r, tampered)
		if acs3Fields(r) != nil {
			return bytes.Equal(body, tampered), true
		}
		before, ok1 := fuzzParams(r, body)
		after, ok2 := fuzzParams(r, tampered)
		return ok1 && ok2 && equalParams(before, after), true
	default: // tamperSignature
		if f := acs3Fields(r); f != nil {
			if strings.ContainsAny(v, ", \t") || !headerValue(v) {
				return false, false // that would change the header's fields, not the signature
			}
			old := f["Signature"]
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Signature="+old, "Signature="+v, 1))
			return strings.EqualFold(old, v), true
		}
		q := r.URL.Query()
		if !q.Has("Signature") {
			return false, false
		}
		old := q.Get("Signature")
		q.Set("Signature", v)
		r.URL.RawQuery = q.Encode()
		return old == v, true
	}
}

// setParam sets the first value of the pick-th parameter, in key order, and
// returns what it was.
func setParam(params url.Values, pick int, v string) (old string, ok bool) {
	if len(params) == 0 {
		return "", false
	}
	keys := slices.Sorted(maps.Keys(params))
	k := keys[pick%len(keys)]
	old, params[k][0] = params[k][0], v
	return old, true
}

func equalParams(a, b url.Values) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

// headerValue reports whether v can be sent as a header value: no control
// characters but tab.
func headerValue(v string) bool {
	return !strings.ContainsFunc(v, func(c rune) bool { return (c < ' ' && c != '\t') || c == 0x7f })
}

// wireFormRequest is an RPC request with its parameters in a form body,
// which neither SDK sends by default, signed by wire_test.go's reference
// signer.
func wireFormRequest() []byte {
	w := &wireReq{
		style: wireRPCSigned, method: http.MethodPost, inBody: true,
		action: "ModifyImageSharePermission", version: wireVersion,
		params: url.Values{"RegionId": {region}, "ImageId": {imageID}, "AddAccount.1": {stranger}},
		keyID:  ownerKey, secret: ownerSec, date: fuzzEpoch.Format(wireLayout), nonce: "fuzz-form-nonce",
	}
	s := w.sign("sim")
	r, err := http.NewRequestWithContext(context.Background(), s.method, "http://sim/", bytes.NewReader(s.body))
	if err != nil {
		panic(err)
	}
	r.Header = s.header
	raw, err := httputil.DumpRequestOut(r, true)
	if err != nil {
		panic(err)
	}
	return raw
}
