package ecssim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// control calls the control API and decodes its JSON answer into out.
func control(t *testing.T, base, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, base+ecssim.ControlPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestControlAPI(t *testing.T) {
	_, srv := simtest.Serve(t, testConfig())
	c := ownerClient(t, srv)
	shares := func() []string {
		var d struct{ Accounts []string }
		if code := control(t, srv.URL, "GET", "images/"+region+"/"+imageID+"/shares", "", &d); code != 200 {
			t.Fatalf("GET shares: %d", code)
		}
		return d.Accounts
	}
	steps := []struct {
		method, path, body string
		wantStatus         int
		check              func() string // "" when the effect is as expected
	}{
		{"GET", "healthz", "", 200, nil},
		{"POST", "images/" + region + "/" + imageID + "/shares", `{"accounts":["3333333333333333"]}`, 200, func() string {
			if got := shares(); !slices.Equal(got, []string{friend, stranger}) {
				return "out-of-band share not applied: " + strings.Join(got, ",")
			}
			return ""
		}},
		{"DELETE", "images/" + region + "/" + imageID + "/shares/" + friend, "", 200, func() string {
			b, err := describe(c, imageID, 0, 0)
			if err != nil || !slices.Equal(sharedIDs(b), []string{stranger}) {
				return "drift not visible to the SDK"
			}
			return ""
		}},
		{"POST", "accounts", `{"id":"4444444444444444"}`, 200, func() string {
			if err := modify(c, imageID, []string{"4444444444444444"}, nil); err != nil {
				return "new account cannot receive shares: " + err.Error()
			}
			return ""
		}},
		{"POST", "images", `{"id":"m-new","region":"cn-beijing","owner":"` + owner + `","sharedWith":["` + friend + `"]}`, 200, func() string {
			if code := control(t, srv.URL, "GET", "images/cn-beijing/m-new/shares", "", nil); code != 200 {
				return "new image not there"
			}
			return ""
		}},
		{"PUT", "images/" + region + "/" + imageID + "/status", `{"status":"Deprecated"}`, 200, func() string {
			if got := code(t, modify(c, imageID, []string{friend}, nil)); got != ecssim.CodeInvalidImageStatus {
				return "deprecation not applied: " + got
			}
			return ""
		}},
		{"PUT", "images/" + region + "/" + imageID + "/status", `{"status":"Gone"}`, 400, nil},
		{"DELETE", "images/cn-beijing/m-new", "", 200, nil},
		{"DELETE", "images/cn-beijing/m-new", "", 400, nil},
		{"POST", "images", `{"id":"m-x","region":"cn-beijing","owner":"1"}`, 400, nil},
		{"POST", "images", `{"id":"m-x","unknownField":true}`, 400, nil},
		{"PUT", "faults", `{"errorRate":1,"errorCode":"ServiceUnavailable"}`, 200, func() string {
			if got := code(t, modify(c, imageID, nil, []string{stranger})); got != ecssim.CodeServiceUnavailable {
				return "faults not applied: " + got
			}
			return ""
		}},
		{"PUT", "faults", `{"errorRate":2}`, 400, nil},
		{"GET", "counters", "", 200, func() string {
			var counters map[string]map[string]uint64
			control(t, srv.URL, "GET", "counters", "", &counters)
			if counters["ModifyImageSharePermission"][ecssim.CodeServiceUnavailable] != 1 || counters["ModifyImageSharePermission"]["Success"] != 1 {
				return "counters wrong"
			}
			return ""
		}},
		{"POST", "reset", "", 200, func() string {
			if got := shares(); !slices.Equal(got, []string{friend}) {
				return "reset did not restore the seed: " + strings.Join(got, ",")
			}
			var counters map[string]map[string]uint64
			control(t, srv.URL, "GET", "counters", "", &counters)
			if len(counters) != 0 {
				return "reset kept counters"
			}
			if err := modify(c, imageID, []string{stranger}, nil); err != nil {
				return "reset kept faults: " + err.Error()
			}
			return ""
		}},
		{"DELETE", "counters", "", 200, func() string {
			var counters map[string]map[string]uint64
			control(t, srv.URL, "GET", "counters", "", &counters)
			if len(counters) != 0 {
				return "counters not zeroed"
			}
			return ""
		}},
	}
	for _, st := range steps {
		if got := control(t, srv.URL, st.method, st.path, st.body, nil); got != st.wantStatus {
			t.Fatalf("%s %s: status %d, want %d", st.method, st.path, got, st.wantStatus)
		}
		if st.check != nil {
			if msg := st.check(); msg != "" {
				t.Fatalf("%s %s: %s", st.method, st.path, msg)
			}
		}
	}
}

func TestMetrics(t *testing.T) {
	_, srv := simtest.Serve(t, testConfig())
	c := ownerClient(t, srv)
	_, _ = describe(c, imageID, 0, 0)
	_, _ = describe(c, foreignID, 0, 0)
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`ecssim_calls_total{action="DescribeImageSharePermission",outcome="Success"} 1`,
		`ecssim_calls_total{action="DescribeImageSharePermission",outcome="InvalidImageId.NotFound"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s:\n%s", want, b)
		}
	}
}

// TestCallLog checks the one line per call names the call and its outcome
// and never a credential.
func TestCallLog(t *testing.T) {
	var buf bytes.Buffer
	_, srv := simtest.Serve(t, testConfig(), ecssim.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	_ = modify(ownerClient(t, srv), imageID, []string{stranger}, nil)
	_ = modify(v4Client(t, srv, ownerKey, "wrong-secret", ""), imageID, []string{stranger}, nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per call, got %d:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"outcome=Success", "outcome=SignatureDoesNotMatch"} {
		for _, part := range []string{"action=ModifyImageSharePermission", "image=" + imageID, want, "latency="} {
			if !strings.Contains(lines[i], part) {
				t.Errorf("line %d lacks %q: %s", i, part, lines[i])
			}
		}
	}
	for _, secret := range []string{ownerSec, "wrong-secret", ownerKey, "Signature="} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log contains credential material %q", secret)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name, yaml, wantErr string
	}{
		{name: "the README example", yaml: `
accounts:
  - id: "1234567890123456"
    accessKeys: [{id: LTAIexampleOwner, secret: ownerSecret}]
  - id: "2222222222222222"
images:
  - {id: m-demo0001, region: cn-hangzhou, owner: "1234567890123456", status: Available, sharedWith: ["2222222222222222"]}
limits: {maxSharesPerImage: 50}
faults: {seed: 3, latency: 20ms, visibilityLag: 2s, rateLimits: {perAccount: {perSecond: 20, burst: 40}}}
`},
		{name: "unknown field", yaml: "acounts: []", wantErr: "unknown field"},
		{name: "unknown nested field", yaml: "faults: {hangRate: 0.1, hangFor: 1s, jiter: 1ms}", wantErr: "unknown field"},
		{name: "a key in the wrong case", yaml: "faults: {hangrate: 0.1, hangFor: 1s}", wantErr: "unknown field"},
		{name: "a repeated key", yaml: "limits: {maxSharesPerImage: 5}\nlimits: {maxSharesPerImage: 6}", wantErr: "already set"},
		{name: "non-numeric account", yaml: `accounts: [{id: bob}]`, wantErr: "numeric"},
		{name: "orphan image", yaml: `images: [{id: m-1, region: r, owner: "1"}]`, wantErr: "not among accounts"},
		{name: "bad status", yaml: "accounts: [{id: \"1\"}]\nimages: [{id: m-1, region: r, owner: \"1\", status: Broken}]", wantErr: "status"},
		{name: "duplicate key", yaml: `accounts: [{id: "1", accessKeys: [{id: k, secret: s}]}, {id: "2", accessKeys: [{id: k, secret: t}]}]`, wantErr: "twice"},
		{name: "bad duration", yaml: `faults: {latency: soon}`, wantErr: "duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := ecssim.LoadConfig(path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ecssim.New(cfg); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}
