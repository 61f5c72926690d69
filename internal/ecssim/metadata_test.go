package ecssim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ecs "github.com/alibabacloud-go/ecs-20140526/v4/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

const credentialsPath = "/latest/meta-data/ram/security-credentials/"

// imds makes one metadata request the way an IMDSv2 client does; the
// headers are set only when not empty.
func imds(t *testing.T, srv *httptest.Server, method, path, ttl, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ttl != "" {
		req.Header.Set("X-aliyun-ecs-metadata-token-ttl-seconds", ttl)
	}
	if token != "" {
		req.Header.Set("X-aliyun-ecs-metadata-token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func imdsToken(t *testing.T, srv *httptest.Server, ttl string) string {
	t.Helper()
	status, token := imds(t, srv, http.MethodPut, "/latest/api/token", ttl, "")
	if status != http.StatusOK || token == "" {
		t.Fatalf("PUT token with ttl %s: %d", ttl, status)
	}
	return token
}

// imdsCredentials is the credentials document, read strictly: a field
// renamed or added on either side fails.
type imdsCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	Expiration      string `json:"Expiration"`
	SecurityToken   string `json:"SecurityToken"`
	LastUpdated     string `json:"LastUpdated"`
	Code            string `json:"Code"`
}

func readCredentials(t *testing.T, srv *httptest.Server, token string) imdsCredentials {
	t.Helper()
	status, body := imds(t, srv, http.MethodGet, credentialsPath+"node", "", token)
	if status != http.StatusOK {
		t.Fatalf("GET credentials: %d %s", status, body)
	}
	var c imdsCredentials
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("credentials document: %v", err)
	}
	return c
}

func TestMetadataToken(t *testing.T) {
	_, srv := simtest.Serve(t, stsConfig())
	cases := []struct {
		reason     string
		ttl        string
		wantStatus int
	}{
		{reason: "the longest ttl", ttl: "21600", wantStatus: 200},
		{reason: "the shortest ttl", ttl: "1", wantStatus: 200},
		{reason: "no ttl header", wantStatus: 400},
		{reason: "a zero ttl", ttl: "0", wantStatus: 400},
		{reason: "a ttl past six hours", ttl: "21601", wantStatus: 400},
		{reason: "a ttl that is not a number", ttl: "1h", wantStatus: 400},
	}
	for _, tc := range cases {
		if status, _ := imds(t, srv, http.MethodPut, "/latest/api/token", tc.ttl, ""); status != tc.wantStatus {
			t.Errorf("%s: status %d, want %d", tc.reason, status, tc.wantStatus)
		}
	}
}

// TestMetadataNeedsToken: the metadata service is in hardened mode, so a
// client falling back to IMDSv1 (no token) is refused, as is a stale token.
func TestMetadataNeedsToken(t *testing.T) {
	clock := simtest.NewClock()
	_, srv := simtest.Serve(t, stsConfig(), ecssim.WithClock(clock.Now))
	shortLived := imdsToken(t, srv, "60")
	cases := []struct {
		reason     string
		path       string
		token      string
		wantStatus int
	}{
		{reason: "role name without a token", path: credentialsPath, wantStatus: 401},
		{reason: "credentials without a token", path: credentialsPath + "node", wantStatus: 401},
		{reason: "a token the service never issued", path: credentialsPath, token: "made-up", wantStatus: 401},
		{reason: "a token past its ttl", path: credentialsPath, token: shortLived, wantStatus: 401},
	}
	clock.Advance(time.Minute)
	for _, tc := range cases {
		if status, _ := imds(t, srv, http.MethodGet, tc.path, "", tc.token); status != tc.wantStatus {
			t.Errorf("%s: status %d, want %d", tc.reason, status, tc.wantStatus)
		}
	}
}

func TestMetadataCredentials(t *testing.T) {
	clock := simtest.NewClock()
	sim, srv := simtest.Serve(t, stsConfig(), ecssim.WithClock(clock.Now))
	token := imdsToken(t, srv, "21600")

	status, role := imds(t, srv, http.MethodGet, credentialsPath, "", token)
	if status != http.StatusOK || role != "node" {
		t.Fatalf("role discovery: %d %q, want 200 node", status, role)
	}
	if status, _ := imds(t, srv, http.MethodGet, credentialsPath+"sharer", "", token); status != http.StatusNotFound {
		t.Errorf("credentials of a role the instance lacks: %d, want 404", status)
	}

	first := readCredentials(t, srv, token)
	now := clock.Now().UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
	want := imdsCredentials{AccessKeyID: first.AccessKeyID, AccessKeySecret: first.AccessKeySecret, SecurityToken: first.SecurityToken,
		Expiration: expiration(clock.Now(), time.Hour), LastUpdated: now, Code: "Success"}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if first.AccessKeyID == "" || first.AccessKeySecret == "" || first.SecurityToken == "" {
		t.Fatal("credentials lack a key, a secret or a token")
	}
	// The instance's role allows DescribeImages only, and acts as its account.
	c := v4Client(t, srv, first.AccessKeyID, first.AccessKeySecret, first.SecurityToken)
	if _, err := describe(c, imageID, 0, 0); code(t, err) != ecssim.CodeForbiddenRAM {
		t.Errorf("an action the instance role does not allow: %v", err)
	}
	if _, err := c.DescribeImages(&ecs.DescribeImagesRequest{RegionId: tea.String(region), ImageId: tea.String(imageID)}); err != nil {
		t.Errorf("an action the instance role allows: %v", err)
	}

	// The same session until less than half of its hour remains.
	clock.Advance(29 * time.Minute)
	if again := readCredentials(t, srv, token); again.AccessKeyID != first.AccessKeyID {
		t.Error("a new session with more than half the old one left")
	}
	clock.Advance(2 * time.Minute)
	if renewed := readCredentials(t, srv, token); renewed.AccessKeyID == first.AccessKeyID || renewed.LastUpdated == first.LastUpdated {
		t.Error("the same session with less than half of it left")
	}

	counted := sim.CallsBy(func(c ecssim.Call) string { return c.Action + " " + c.Outcome },
		func(c ecssim.Call) bool { return strings.HasPrefix(c.Action, "Metadata") })
	wantCounts := map[string]uint64{
		"MetadataToken Success": 1, "MetadataRoleName Success": 1, "MetadataCredentials Success": 3, "MetadataCredentials NotFound": 1,
	}
	if diff := cmp.Diff(wantCounts, counted); diff != "" {
		t.Errorf("metadata calls counted (-want +got):\n%s", diff)
	}
}

// TestMetadataSessionCap: the SessionLifetime cap shortens instance role
// sessions too.
func TestMetadataSessionCap(t *testing.T) {
	clock := simtest.NewClock()
	cfg := stsConfig()
	cfg.STS.SessionLifetime = ecssim.Duration{Duration: 10 * time.Second}
	_, srv := simtest.Serve(t, cfg, ecssim.WithClock(clock.Now))
	token := imdsToken(t, srv, "21600")
	if got, want := readCredentials(t, srv, token).Expiration, expiration(clock.Now(), 10*time.Second); got != want {
		t.Errorf("Expiration %s, want %s", got, want)
	}
}

func TestMetadataWithoutInstance(t *testing.T) {
	cfg := stsConfig()
	cfg.Instance = nil
	_, srv := simtest.Serve(t, cfg)
	token := imdsToken(t, srv, "60")
	for _, path := range []string{credentialsPath, credentialsPath + "node"} {
		if status, _ := imds(t, srv, http.MethodGet, path, "", token); status != http.StatusNotFound {
			t.Errorf("GET %s on no instance: %d, want 404", path, status)
		}
	}
}
