package credentials_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/credentials"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/ecs"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/metadata"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/clients/sts"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim/simtest"
)

// The chain under test is simtest's identities world: a pod's OIDC token
// gives a session of RRSA, which assumes Hop1, which assumes Hop2 in the
// image owner's account. The instance carries Node.
var userCreds = credentials.Credentials{AccessKeyID: simtest.Deployer.ID, AccessKeySecret: simtest.Deployer.Secret}

// env is a simulator, its clock, and the clients of its STS and metadata.
type env struct {
	sim   *ecssim.Simulator
	url   string
	clock *simtest.Clock
	sts   *sts.Client
	imds  *metadata.Client
	token string // the OIDC token file
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := simtest.NewClock()
	sim, srv := simtest.Serve(t, simtest.Identities(), ecssim.WithClock(clock.Now))
	c, err := sts.New(credentials.STSEndpoint{URL: srv.URL, ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	imds, err := metadata.New(srv.URL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sim: sim, url: srv.URL, clock: clock, sts: c, imds: imds, token: filepath.Join(t.TempDir(), "token")}
	e.mint(t, time.Hour)
	return e
}

// mint writes a new OIDC token to the token file, as the kubelet does.
func (e *env) mint(t *testing.T, ttl time.Duration) {
	t.Helper()
	tok, err := e.sim.MintOIDCToken(simtest.OIDCProvider, simtest.Subject, ecssim.DefaultOIDCClientID, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.token, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *env) opts() []credentials.Option {
	return []credentials.Option{credentials.WithClock(e.clock.Now)}
}

// chain is OIDC > simtest.Hop1 > simtest.Hop2.
func (e *env) chain() (base, first, second credentials.Source) {
	base = credentials.OIDC(e.sts, credentials.OIDCTokenFile{RoleARN: simtest.RRSA, ProviderARN: simtest.OIDCProvider, TokenFile: e.token, SessionName: "pod"}, e.opts()...)
	first = credentials.AssumeRole(e.sts, base, credentials.AssumeRoleInput{RoleARN: simtest.Hop1, SessionName: "one"}, e.opts()...)
	second = credentials.AssumeRole(e.sts, first, credentials.AssumeRoleInput{RoleARN: simtest.Hop2, SessionName: "two", ExternalID: simtest.ExternalID}, e.opts()...)
	return base, first, second
}

func (e *env) ecs(t *testing.T, src credentials.Source) ecs.Client {
	t.Helper()
	c, err := ecs.New(ecs.Config{Region: simtest.Region, Endpoint: e.url, Source: src, ConnectTimeout: time.Second, ReadTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) actions() map[string]uint64 {
	got := map[string]uint64{}
	for _, a := range []string{"AssumeRole", "AssumeRoleWithOIDC", "MetadataToken", "MetadataRoleName", "MetadataCredentials", ecs.ActionDescribe} {
		if n := e.sim.Calls(a); n > 0 {
			got[a] = n
		}
	}
	return got
}

func principals(sim *ecssim.Simulator, action string) map[string]uint64 {
	return sim.CallsBy(func(c ecssim.Call) string { return c.Principal }, func(c ecssim.Call) bool { return c.Action == action })
}

// TestChainSingleFlight has 100 callers ask a cold two-hop chain at once:
// one exchange per hop serves them all.
func TestChainSingleFlight(t *testing.T) {
	e := newEnv(t)
	_, _, second := e.chain()
	var wg sync.WaitGroup
	keys := make(chan string, 100)
	for range 100 {
		wg.Go(func() {
			c, err := second.Credentials(context.Background())
			if err != nil {
				t.Errorf("Credentials: %v", err)
			}
			keys <- c.AccessKeyID
		})
	}
	wg.Wait()
	close(keys)
	distinct := map[string]bool{}
	for k := range keys {
		distinct[k] = true
	}
	if len(distinct) != 1 {
		t.Errorf("callers got %d different keys, want 1", len(distinct))
	}
	if diff := cmp.Diff(map[string]uint64{"AssumeRoleWithOIDC": 1, "AssumeRole": 2}, e.actions()); diff != "" {
		t.Errorf("STS calls for 100 callers (-want +got):\n%s", diff)
	}
	if want := simtest.RRSA + " > " + simtest.Hop1 + " > " + simtest.Hop2; second.ID() != want {
		t.Errorf("ID = %q, want %q", second.ID(), want)
	}
}

// TestECSCallsThroughChain shares an image with the chain's last session,
// and keeps working when the simulator revokes or expires sessions under
// it: the ECS client's refusal and retry, and the hops' own, refetch what
// is needed, and the call does not fail.
func TestECSCallsThroughChain(t *testing.T) {
	e := newEnv(t)
	_, _, second := e.chain()
	c := e.ecs(t, second)
	ctx := context.Background()
	find := func(step string) {
		t.Helper()
		share, err := c.FindShare(ctx, simtest.Image, simtest.FriendAccount)
		if err != nil || share == nil {
			t.Fatalf("%s: FindShare = %v, %v; want the share", step, share, err)
		}
	}
	find("first call")
	wantPrincipal := "acs:ram::" + simtest.OwnerAccount + ":assumed-role/hop2/two"
	if diff := cmp.Diff(map[string]uint64{wantPrincipal: 1}, principals(e.sim, ecs.ActionDescribe)); diff != "" {
		t.Errorf("who called ECS (-want +got):\n%s", diff)
	}

	steps := []struct {
		name    string
		disturb func()
		wantSTS map[string]uint64 // new calls
		wantECS uint64            // new ECS calls
	}{
		{name: "hop 2's session revoked", disturb: func() { e.sim.RevokeSessions(ecssim.SessionSelector{Role: simtest.Hop2}) },
			wantSTS: map[string]uint64{"AssumeRole": 1}, wantECS: 2},
		{name: "hop 2's session expired early", disturb: func() { e.sim.ExpireSessions(ecssim.SessionSelector{Role: simtest.Hop2}, 0) },
			wantSTS: map[string]uint64{"AssumeRole": 1}, wantECS: 2},
		// hop 2 is refused by ECS, and hop 1's revoked session is then
		// refused by STS: both hops refetch, the OIDC base is still good.
		{name: "hop 1's and hop 2's sessions revoked", disturb: func() {
			e.sim.RevokeSessions(ecssim.SessionSelector{Role: simtest.Hop1})
			e.sim.RevokeSessions(ecssim.SessionSelector{Role: simtest.Hop2})
		}, wantSTS: map[string]uint64{"AssumeRole": 3}, wantECS: 2},
	}
	for _, s := range steps {
		before := e.actions()
		s.disturb()
		find(s.name)
		after := e.actions()
		got := map[string]uint64{}
		for k, v := range after {
			if d := v - before[k]; d > 0 && k != ecs.ActionDescribe {
				got[k] = d
			}
		}
		if diff := cmp.Diff(s.wantSTS, got); diff != "" {
			t.Errorf("%s: new STS calls (-want +got):\n%s", s.name, diff)
		}
		if d := after[ecs.ActionDescribe] - before[ecs.ActionDescribe]; d != s.wantECS {
			t.Errorf("%s: %d ECS calls, want %d (the refused one and its retry)", s.name, d, s.wantECS)
		}
	}
}

// TestRefreshAheadOfExpiry moves the simulator's clock (and the sources')
// through a 15-minute session: before the refresh is due nothing is
// fetched; once the session is no longer to be handed out, the next caller
// gets a new one; ECS calls never fail.
func TestRefreshAheadOfExpiry(t *testing.T) {
	e := newEnv(t)
	_, _, second := e.chain()
	c := e.ecs(t, second)
	first, err := second.Credentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 15m sessions: margin 3m45s, jitter under 1m53s; due at 9m22s at the
	// earliest, handed out until 14m.
	e.clock.Advance(9 * time.Minute)
	got, _ := second.Credentials(context.Background())
	if got != first || e.sim.Calls("AssumeRole") != 2 {
		t.Errorf("9m into a 15m session: %d AssumeRole calls, same key %v; want 2 and the same key", e.sim.Calls("AssumeRole"), got == first)
	}
	e.mint(t, time.Hour) // the kubelet rotated the token meanwhile
	e.clock.Advance(5*time.Minute + time.Second)
	got, err = second.Credentials(context.Background())
	if err != nil || got.AccessKeyID == first.AccessKeyID {
		t.Fatalf("14m1s into a 15m session: %v, %v; want a new session", got, err)
	}
	if _, err := c.FindShare(context.Background(), simtest.Image, simtest.FriendAccount); err != nil {
		t.Errorf("FindShare with the refreshed session: %v", err)
	}
}

func TestErrorsNameTheHop(t *testing.T) {
	e := newEnv(t)
	base := credentials.OIDC(e.sts, credentials.OIDCTokenFile{RoleARN: simtest.RRSA, ProviderARN: simtest.OIDCProvider, TokenFile: e.token}, e.opts()...)
	first := credentials.AssumeRole(e.sts, base, credentials.AssumeRoleInput{RoleARN: simtest.Hop1}, e.opts()...)
	second := credentials.AssumeRole(e.sts, first, credentials.AssumeRoleInput{RoleARN: simtest.Hop2, ExternalID: "wrong"}, e.opts()...)
	_, err := second.Credentials(context.Background())
	want := "assume-role hop 2 (" + simtest.Hop2 + "): STS AssumeRole failed: NoPermission: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %v, want one starting %q", err, want)
	}
	// Backing off: more callers cost no STS call.
	for range 20 {
		if _, err := second.Credentials(context.Background()); err == nil {
			t.Fatal("Credentials succeeded")
		}
	}
	if n := e.sim.Calls("AssumeRole"); n != 2 {
		t.Errorf("%d AssumeRole calls for 21 callers of a failing hop, want 2 (hop 1 once, hop 2 once)", n)
	}

	os.Remove(e.token)
	cold := credentials.OIDC(e.sts, credentials.OIDCTokenFile{RoleARN: simtest.RRSA, ProviderARN: simtest.OIDCProvider, TokenFile: e.token}, e.opts()...)
	if _, err := cold.Credentials(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "oidc ("+simtest.RRSA+"): cannot open the OIDC token file") {
		t.Errorf("error = %v, want the OIDC hop naming the token file", err)
	}
}

// TestOIDCSendsOnlyRRSATokens checks that a token file holding anything
// but an RRSA token, such as the Kubernetes API's service account token,
// is refused before the token leaves the provider: the STS endpoint, which
// a ClusterProviderConfig may name, never sees it.
func TestOIDCSendsOnlyRRSATokens(t *testing.T) {
	cases := []struct {
		reason   string
		audience string
		raw      string // written as the token file when set, instead of a minted token
		wantErr  string // the error's start after the hop's name; empty means a session
		wantSent uint64 // AssumeRoleWithOIDC calls the simulator sees
	}{
		{reason: "an RRSA token is exchanged", audience: ecssim.DefaultOIDCClientID, wantSent: 1},
		{reason: "the API server's token is refused and never sent", audience: "https://kubernetes.default.svc",
			wantErr: "does not hold an RRSA token: its aud does not include sts.aliyuncs.com"},
		{reason: "a token of another audience is refused and never sent", audience: "vault",
			wantErr: "does not hold an RRSA token: its aud does not include sts.aliyuncs.com"},
		{reason: "a file that is no JWT is refused and never sent", raw: "sk-some-other-credential",
			wantErr: "does not hold an RRSA token: it is not a JSON Web Token"},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			e := newEnv(t)
			tok := tc.raw
			if tok == "" {
				var err error
				if tok, err = e.sim.MintOIDCToken(simtest.OIDCProvider, simtest.Subject, tc.audience, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(e.token, []byte(tok), 0o600); err != nil {
				t.Fatal(err)
			}
			src := credentials.OIDC(e.sts, credentials.OIDCTokenFile{RoleARN: simtest.RRSA, ProviderARN: simtest.OIDCProvider, TokenFile: e.token, SessionName: "pod"}, e.opts()...)
			_, err := src.Credentials(context.Background())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("%s: Credentials: %v", tc.reason, err)
			case tc.wantErr != "":
				want := "oidc (" + simtest.RRSA + "): the OIDC token file " + e.token + " " + tc.wantErr
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("%s: error = %v, want one starting %q", tc.reason, err, want)
				}
				if err != nil && (strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), simtest.Subject) || tc.audience != "" && strings.Contains(err.Error(), tc.audience)) {
					t.Errorf("%s: error %q quotes the token or its claims", tc.reason, err)
				}
			}
			if diff := cmp.Diff(tc.wantSent, e.sim.Calls("AssumeRoleWithOIDC")); diff != "" {
				t.Errorf("%s: AssumeRoleWithOIDC calls the STS endpoint saw (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestECSRole(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"", "node"} {
		src := credentials.ECSRole(e.imds, name, e.opts()...)
		if want := "ecs-role:" + name; src.ID() != want {
			t.Errorf("ID = %q, want %q", src.ID(), want)
		}
		if _, err := src.Credentials(context.Background()); err != nil {
			t.Fatalf("ECSRole(%q): %v", name, err)
		}
	}
	// An ECS call signed with the instance role's session.
	src := credentials.ECSRole(e.imds, "", e.opts()...)
	_, err := e.ecs(t, src).FindShare(context.Background(), simtest.Image, simtest.FriendAccount)
	if !ecs.IsNotFound(err) {
		t.Errorf("FindShare as the instance role, of another account than the image's: %v, want image not found", err)
	}
	for p := range principals(e.sim, ecs.ActionDescribe) {
		if !strings.HasPrefix(p, "acs:ram::"+simtest.ClusterAccount+":assumed-role/node/") {
			t.Errorf("ECS was called as %s, want the instance role's session", p)
		}
	}
	if n := e.sim.Calls("MetadataCredentials"); n != 3 {
		t.Errorf("%d metadata credential reads, want 3 (one per source)", n)
	}
}

func TestStatic(t *testing.T) {
	src := credentials.Static(userCreds)
	got, err := src.Credentials(context.Background())
	if err != nil || got != userCreds || src.ID() != userCreds.AccessKeyID {
		t.Errorf("Static = %v, %v, ID %q", got, err, src.ID())
	}
	src.Refused(userCreds)
	if got, _ := src.Credentials(context.Background()); got != userCreds {
		t.Error("Static changed after Refused")
	}
}
