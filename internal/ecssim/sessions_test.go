package ecssim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	sts "github.com/alibabacloud-go/sts-20150401/v2/client"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// TestExpireAndRevokeSessions: sessions picked by key or role stop working,
// expired ones with ECS's token-expired code and revoked ones as unknown
// keys, through Go and through the control API alike; the rest keep working.
func TestExpireAndRevokeSessions(t *testing.T) {
	clock := simtest.NewClock()
	sim, srv := simtest.Serve(t, stsConfig(), ecssim.WithClock(clock.Now))
	const a, b = "sess-a", "sess-b" // the sessions each case starts with
	cases := []struct {
		reason  string
		control bool
		revoke  bool
		// sel picks by the named session's key, by role or all.
		byKey   string
		byRole  string
		after   time.Duration
		advance time.Duration
		wantN   int
		want    map[string]string // session -> ECS error code afterwards
	}{
		{reason: "expire one session now", byKey: a, wantN: 1, want: map[string]string{a: ecssim.CodeTokenExpired, b: ""}},
		{reason: "expire by role, in another case", byRole: strings.ToUpper(sharerARN), wantN: 1, want: map[string]string{a: ecssim.CodeTokenExpired, b: ""}},
		{reason: "expire in a minute: not yet", byKey: a, after: time.Minute, wantN: 1, want: map[string]string{a: "", b: ""}},
		{reason: "expire in a minute: then", byKey: a, after: time.Minute, advance: time.Minute, wantN: 1, want: map[string]string{a: ecssim.CodeTokenExpired, b: ""}},
		{reason: "expire never lengthens a session", byKey: a, after: 2 * time.Hour, wantN: 0, want: map[string]string{a: "", b: ""}},
		{reason: "revoke one session", revoke: true, byKey: a, wantN: 1, want: map[string]string{a: ecssim.CodeAccessKeyNotFound, b: ""}},
		{reason: "revoke all sessions", revoke: true, wantN: 2, want: map[string]string{a: ecssim.CodeAccessKeyNotFound, b: ecssim.CodeAccessKeyNotFound}},
		{reason: "revoke a key that is no session", revoke: true, byKey: ownerKey, wantN: 0, want: map[string]string{a: "", b: ""}},
		{reason: "control: expire by role", control: true, byRole: externalARN, wantN: 1, want: map[string]string{a: "", b: ecssim.CodeTokenExpired}},
		{reason: "control: expire in a minute", control: true, byKey: b, after: time.Minute, advance: time.Minute, wantN: 1, want: map[string]string{a: "", b: ecssim.CodeTokenExpired}},
		{reason: "control: revoke by key", control: true, revoke: true, byKey: b, wantN: 1, want: map[string]string{a: "", b: ecssim.CodeAccessKeyNotFound}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			sim.Reset()
			user := stsClient(t, srv, ownerKey, ownerSec, "", false)
			sessions := map[string]issued{}
			var err error
			if sessions[a], err = assumeRole(user, sharerARN, a, nil); err != nil {
				t.Fatal(err)
			}
			if sessions[b], err = assumeRoleExternal(user); err != nil {
				t.Fatal(err)
			}
			sel := ecssim.SessionSelector{Role: tc.byRole}
			if s, ok := sessions[tc.byKey]; ok {
				sel.AccessKeyID = s.id
			} else if tc.byKey != "" {
				sel.AccessKeyID = tc.byKey
			}
			var n int
			switch {
			case tc.control:
				var doc struct{ Sessions int }
				path, body := "sts/revoke", fmt.Sprintf(`{"accessKeyId":%q,"role":%q}`, sel.AccessKeyID, sel.Role)
				if !tc.revoke {
					path, body = "sts/expire", fmt.Sprintf(`{"accessKeyId":%q,"role":%q,"after":%q}`, sel.AccessKeyID, sel.Role, tc.after)
				}
				if status := control(t, srv.URL, http.MethodPost, path, body, &doc); status != http.StatusOK {
					t.Fatalf("%s: POST %s: %d", tc.reason, path, status)
				}
				n = doc.Sessions
			case tc.revoke:
				n = sim.RevokeSessions(sel)
			default:
				n = sim.ExpireSessions(sel, tc.after)
			}
			if n != tc.wantN {
				t.Errorf("%s: %d sessions changed, want %d", tc.reason, n, tc.wantN)
			}
			clock.Advance(tc.advance)
			got := map[string]string{}
			for name, s := range sessions {
				_, err := describe(v4Client(t, srv, s.id, s.secret, s.token), imageID, 0, 0)
				got[name] = code(t, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s: ECS codes per session (-want +got):\n%s", tc.reason, diff)
			}
			if _, err := describe(ownerClient(t, srv), imageID, 0, 0); err != nil {
				t.Errorf("%s: a configured key stopped working: %v", tc.reason, err)
			}
		})
	}
}

func assumeRoleExternal(c *sts.Client) (issued, error) {
	return assumeRole(c, externalARN, "sess-b", func(r *sts.AssumeRoleRequest) { r.ExternalId = tea.String(externalID) })
}

// TestMetadataAfterExpiry: the instance gets a new session in place of an
// expired or revoked one.
func TestMetadataAfterExpiry(t *testing.T) {
	sim, srv := simtest.Serve(t, stsConfig())
	token := imdsToken(t, srv, "60")
	first := readCredentials(t, srv, token)
	if n := sim.ExpireSessions(ecssim.SessionSelector{Role: nodeARN}, 0); n != 1 {
		t.Fatalf("expired %d instance sessions, want 1", n)
	}
	second := readCredentials(t, srv, token)
	if second.AccessKeyID == first.AccessKeyID {
		t.Error("an expired session was handed out again")
	}
	sim.RevokeSessions(ecssim.SessionSelector{AccessKeyID: second.AccessKeyID})
	if third := readCredentials(t, srv, token); third.AccessKeyID == second.AccessKeyID {
		t.Error("a revoked session was handed out again")
	}
}

// TestControlSTS drives the STS options, token minting and principal
// attribution through the control API.
func TestControlSTS(t *testing.T) {
	clock := simtest.NewClock()
	_, srv := simtest.Serve(t, stsConfig(), ecssim.WithClock(clock.Now))
	user := stsClient(t, srv, ownerKey, ownerSec, "", false)

	if status := control(t, srv.URL, http.MethodPut, "sts", `{"sessionLifetime":"5s"}`, nil); status != http.StatusOK {
		t.Fatalf("PUT sts: %d", status)
	}
	var opts struct{ SessionLifetime string }
	if control(t, srv.URL, http.MethodGet, "sts", "", &opts); opts.SessionLifetime != "5s" {
		t.Errorf("GET sts: sessionLifetime %q, want 5s", opts.SessionLifetime)
	}
	s, err := assumeRole(user, sharerARN, "capped", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := expiration(clock.Now(), 5*time.Second); s.expiration != want {
		t.Errorf("Expiration %s after PUT sts, want %s", s.expiration, want)
	}

	var minted struct{ Token string }
	body := fmt.Sprintf(`{"provider":%q,"subject":%q,"ttl":"10m"}`, rrsaProvider, rrsaSubject)
	if status := control(t, srv.URL, http.MethodPost, "oidc/token", body, &minted); status != http.StatusOK || minted.Token == "" {
		t.Fatalf("POST oidc/token: %d", status)
	}
	if _, err := assumeRoleWithOIDC(stsClient(t, srv, "", "", "", false), rrsaProvider, rrsaARN, minted.Token); err != nil {
		t.Errorf("a minted token: %v", err)
	}

	for _, tc := range []struct{ reason, method, path, body string }{
		{reason: "a negative lifetime", method: http.MethodPut, path: "sts", body: `{"sessionLifetime":"-1s"}`},
		{reason: "an unknown STS option", method: http.MethodPut, path: "sts", body: `{"lifetime":"1s"}`},
		{reason: "a token of an unknown provider", method: http.MethodPost, path: "oidc/token", body: `{"provider":"acs:ram::1:oidc-provider/x","subject":"s"}`},
		{reason: "a token without a subject", method: http.MethodPost, path: "oidc/token", body: fmt.Sprintf(`{"provider":%q}`, rrsaProvider)},
		{reason: "a ttl that is not a duration", method: http.MethodPost, path: "oidc/token", body: fmt.Sprintf(`{"provider":%q,"subject":"s","ttl":3600}`, rrsaProvider)},
		{reason: "an unknown selector field", method: http.MethodPost, path: "sts/expire", body: `{"session":"x"}`},
		{reason: "an unknown group", method: http.MethodGet, path: "calls?by=role"},
	} {
		if status := control(t, srv.URL, tc.method, tc.path, tc.body, nil); status != http.StatusBadRequest {
			t.Errorf("%s: %s %s: %d, want 400", tc.reason, tc.method, tc.path, status)
		}
	}

	if _, err := describe(v4Client(t, srv, s.id, s.secret, s.token), imageID, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, _ = describe(v4Client(t, srv, s.id, "wrong", s.token), imageID, 0, 0)
	var byPrincipal map[string]uint64
	if status := control(t, srv.URL, http.MethodGet, "calls?by=principal", "", &byPrincipal); status != http.StatusOK {
		t.Fatalf("GET calls?by=principal: %d", status)
	}
	want := map[string]uint64{
		"acs:ram::" + owner + ":user/sim-user":              1, // the AssumeRole
		"acs:ram::" + owner + ":assumed-role/sharer/capped": 1, // the describe that authenticated
		"": 2, // the anonymous OIDC exchange and the describe with a wrong secret
	}
	if diff := cmp.Diff(want, byPrincipal); diff != "" {
		t.Errorf("calls by principal (-want +got):\n%s", diff)
	}
}
