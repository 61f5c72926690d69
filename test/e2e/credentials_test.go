package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// The identities of TestCredentials. Every scenario calls ECS and STS as
// principals of its own (its own RAM user's key, its own session names, its
// own images), so that the simulator's call records attribute each call to
// one scenario while they run in parallel.
const (
	// target is the account a chain reaches into: it owns images but has
	// no AccessKey, so only an assumed role can share them.
	target = "4500000000000001"

	brokerRole     = "e2e-broker"     // owner's role; may only assume others
	sharerRole     = "e2e-sharer"     // target's role; trusts the broker's sessions
	untrustingRole = "e2e-untrusting" // target's role; trusts somebody else
	rrsaRole       = "e2e-rrsa"       // owner's role for the provider's service account
	instanceRole   = "e2e-instance"   // owner's role the ECS instance carries
	sharerExternal = "crossplane-e2e-7f3a9c"

	oidcProvider = "ack-rrsa-ce2e0001"
	oidcIssuer   = "https://oidc-ack.cn-hangzhou.aliyuncs.com/ce2e0001"
	// serviceAccount is the provider's, as its DeploymentRuntimeConfig
	// names it; the RRSA role trusts this subject only.
	serviceAccount = "system:serviceaccount:crossplane-system:provider-alibabacloud-ecs"

	// defaultSession is the provider's default RoleSessionName.
	defaultSession = "crossplane-provider-alibabacloud-ecs"

	// Region of every image here.
	credRegion = "cn-hangzhou"
)

// A RAM user of the owner per scenario that signs with a key.
var credUsers = map[string]ecssim.AccessKey{
	"chain":  {ID: "LTAIe2eChainUser0001", Secret: "e2eChainUserSecret", User: "chain-user"},
	"bad":    {ID: "LTAIe2eBadUser000001", Secret: "e2eBadUserSecret", User: "bad-user"},
	"scale":  {ID: "LTAIe2eScaleUser0001", Secret: "e2eScaleUserSecret", User: "scale-user"},
	"expiry": {ID: "LTAIe2eExpiryUser001", Secret: "e2eExpiryUserSecret", User: "expiry-user"},
	// j: the key the Filesystem example's file is rotated to.
	"rotated": {ID: "LTAIe2eRotatedUser01", Secret: "e2eRotatedUserSecret", User: "rotated-user"},
}

// Images per scenario, and who owns them.
var credImages = map[string]string{
	"m-rrsa00001": owner,  // a: RRSA
	"m-chain0001": target, // b: the two-hop chain
	"m-ecsrole01": owner,  // c: the instance's role
	"m-expiry001": target, // d: the chain, sessions expiring
	"m-expiry002": owner,  // d: RRSA, sessions expiring
	"m-expiry003": owner,  // d: the instance's role, sessions expiring
	"m-badcred01": target, // e: refused by STS
	"m-credscal1": target, // g: 100 shares through one chain
	"m-environ1":  owner,  // i: the pod's environment
	"m-filesys1":  owner,  // j: the pod's file
	"m-filesys2":  owner,  // j: the pod's file, rotated
	"m-podbad01":  owner,  // k: the pod lacks a good document
	"m-nssel001":  owner,  // l: a namespace the selector admits
	"m-nssel002":  owner,  // l: one it refuses
}

func roleARN(account, name string) string { return ecssim.RoleARN(account, name) }

// session is the principal a role session acts as, as STS and the
// simulator's call records name it.
func session(account, role, name string) string {
	return "acs:ram::" + account + ":assumed-role/" + role + "/" + name
}

// credentialsWorld adds TestCredentials' accounts, keys, roles, OIDC
// provider, instance and images to cfg.
func credentialsWorld(cfg *ecssim.Config) {
	for i := range cfg.Accounts {
		if cfg.Accounts[i].ID == owner {
			for _, k := range slices.Sorted(maps.Keys(credUsers)) {
				cfg.Accounts[i].AccessKeys = append(cfg.Accounts[i].AccessKeys, credUsers[k])
			}
		}
	}
	cfg.Accounts = append(cfg.Accounts, ecssim.Account{ID: target})
	cfg.OIDCProviders = append(cfg.OIDCProviders, ecssim.OIDCProvider{Account: owner, Name: oidcProvider, Issuer: oidcIssuer})
	cfg.Roles = append(cfg.Roles,
		// The first hop may do nothing but assume the next: an ECS call made
		// with its session would be refused, so a chain that stopped short
		// cannot pass for one that went through.
		ecssim.Role{Account: owner, Name: brokerRole, TrustedAccounts: []string{owner}, AllowedActions: []string{"AssumeRole"}},
		ecssim.Role{Account: target, Name: sharerRole, TrustedRoles: []string{roleARN(owner, brokerRole)}, ExternalID: sharerExternal},
		ecssim.Role{Account: target, Name: untrustingRole, TrustedAccounts: []string{"9999999999999999"}},
		ecssim.Role{Account: owner, Name: rrsaRole, TrustedOIDC: &ecssim.OIDCTrust{
			Provider: ecssim.OIDCProviderARN(owner, oidcProvider), Subjects: []string{serviceAccount},
		}},
		ecssim.Role{Account: owner, Name: instanceRole, TrustedServices: []string{"ecs.aliyuncs.com"}},
	)
	cfg.Instance = &ecssim.Instance{RoleARN: roleARN(owner, instanceRole)}
	for _, id := range slices.Sorted(maps.Keys(credImages)) {
		cfg.Images = append(cfg.Images, ecssim.Image{ID: id, Region: credRegion, Owner: credImages[id], MaxShares: 110})
	}
}

// projectedToken plays the kubelet for the provider's RRSA token: it writes
// a fresh token the simulator's OIDC provider signed, and replaces it well
// before it expires, as a projected service account token is. The tokens
// live shorter than a scenario, so a provider that read the file once, or
// cached its content, would be refused AuthenticationFail.OIDCToken.Expired.
type projectedToken struct {
	path string
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	minted []string
	err    error
}

// Lifetime and rotation of projected tokens: ACK's default is an hour,
// rotated at 80%; these are short for the reason above.
const (
	tokenTTL    = 30 * time.Second
	tokenRotate = 10 * time.Second
)

func projectToken(dir string) (*projectedToken, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &projectedToken{path: filepath.Join(dir, "token"), done: make(chan struct{})}
	if err := p.rotate(); err != nil {
		return nil, err
	}
	p.wg.Go(func() {
		tick := time.NewTicker(tokenRotate)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
				if err := p.rotate(); err != nil {
					p.mu.Lock()
					p.err = err
					p.mu.Unlock()
				}
			}
		}
	})
	return p, nil
}

// rotate writes a new token by rename, so that a reader never sees half of
// one (the kubelet swaps a symlink to the same end).
func (p *projectedToken) rotate() error {
	token, err := sim.MintOIDCToken(ecssim.OIDCProviderARN(owner, oidcProvider), serviceAccount, "sts.aliyuncs.com", tokenTTL)
	if err != nil {
		return err
	}
	tmp := p.path + ".new"
	if err := os.WriteFile(tmp, []byte(token), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, p.path); err != nil {
		return err
	}
	p.mu.Lock()
	p.minted = append(p.minted, token)
	p.mu.Unlock()
	return nil
}

// tokens are every token written so far, and the first rotation error.
func (p *projectedToken) tokens() ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.minted), p.err
}

func (p *projectedToken) stop() {
	close(p.done)
	p.wg.Wait()
}

// rrsaEnv is what ACK's pod identity webhook injects into the provider's
// pod, pointed at the simulator's STS and the projected token.
func rrsaEnv() []string {
	return []string{
		"ALIBABA_CLOUD_ROLE_ARN=" + roleARN(owner, rrsaRole),
		"ALIBABA_CLOUD_OIDC_PROVIDER_ARN=" + ecssim.OIDCProviderARN(owner, oidcProvider),
		"ALIBABA_CLOUD_OIDC_TOKEN_FILE=" + kubelet.path,
		"ALIBABA_CLOUD_STS_ENDPOINT=" + sim.URL,
	}
}

// TestCredentials proves each credential source end to end: the provider
// binary, the real API server, and the simulator's STS and metadata
// services, with every ECS call attributed to the principal that made it.
func TestCredentials(t *testing.T) {
	t.Run("independent", func(t *testing.T) {
		scenario(t, "a RRSA: the pod's token becomes a role session", true, testRRSA)
		scenario(t, "b a two-hop chain into another account, with ExternalId", true, testChain)
		scenario(t, "c ECSRole: the instance's role from the metadata service", true, testECSRole)
		scenario(t, "e STS refusals are reported with what to fix", true, testSTSRefusals)
		scenario(t, "f a tenant cannot ask for the pod's identity", true, testTenantRefused)
		scenario(t, "g 100 shares cost one AssumeRole per hop", true, testSessionsShared)
		scenario(t, "i Environment: the pod's variable, set from a Secret", true, testEnvironment)
		scenario(t, "j Filesystem: the pod's file, mounted from a Secret and rotated", true, testFilesystem)
		scenario(t, "k a missing or malformed document in the pod says where and what to do", true, testPodDocumentBad)
		scenario(t, "l a namespaceSelector admits the namespaces labelled as its example says, only", true, testNamespaceSelector)
	})
	// Alone: it shortens every session the simulator issues, which would
	// change the others' STS counts.
	scenario(t, "d sessions expire mid-run and are renewed in time", false, testExpiry)
	scenario(t, "h no token or pod-held key in logs, events or status", false, testNoTokens)
}

// testRRSA applies the RRSA example as it is (every field from the
// webhook's variables, the STS endpoint included) and checks that the
// share is made by the role's session and that the configuration says so.
func testRRSA(t *testing.T) {
	// The role trusts the service account the example's
	// DeploymentRuntimeConfig names, which rrsaEnv's token is for.
	var drc pkgv1beta1.DeploymentRuntimeConfig
	if err := yaml.UnmarshalStrict([]byte(exampleDoc(t, "clusterproviderconfig-rrsa.yaml", "DeploymentRuntimeConfig", "", "")), &drc); err != nil {
		t.Fatal(err)
	}
	if sa := drc.Spec.ServiceAccountTemplate; sa == nil || sa.Metadata == nil || sa.Metadata.Name == nil ||
		"system:serviceaccount:"+providerNamespace+":"+*sa.Metadata.Name != serviceAccount {
		t.Errorf("examples/clusterproviderconfig-rrsa.yaml's DeploymentRuntimeConfig does not name the service account %s", serviceAccount)
	}
	kubectl(t, exampleDoc(t, "clusterproviderconfig-rrsa.yaml", "ClusterProviderConfig", "", "  endpoint: "+sim.URL+"\n"+
		"  tls: {caBundleSecretRef: {namespace: crossplane-system, name: "+devenv.SimulatorCASecret+", key: ca.crt}}\n"), "apply", "-f", "-")
	kubectl(t, shareIn("default", "cred-rrsa", "m-rrsa00001", partner, "ClusterProviderConfig", "rrsa"), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "cred-rrsa")

	want := session(owner, rrsaRole, defaultSession)
	madeBy(t, "m-rrsa00001", want)
	waitIdentity(t, clusterPC, "", "rrsa", want, owner)
	if out := kubectl(t, "", "get", clusterPC, "rrsa"); !strings.Contains(out, "IDENTITY") || !strings.Contains(out, want) {
		t.Errorf("kubectl get lacks the IDENTITY column with %s:\n%s", want, out)
	}
}

// testChain signs with a tenant's key, assumes a role of its own account,
// and with that session a role of another account that demands an
// ExternalId; then the same with the assume-role example, as written.
func testChain(t *testing.T) {
	const ns = "cred-chain"
	kubectl(t, tenantNamespace(ns, credUsers["chain"])+chainConfig(ns, "chain", sharerExternal, "", ""), "apply", "-f", "-")
	kubectl(t, shareIn(ns, "chained", "m-chain0001", partner, "ProviderConfig", "chain"), "apply", "-f", "-")

	// The example, in a namespace of its own.
	const exNS = "cred-example"
	kubectl(t, tenantNamespace(exNS, ecssim.AccessKey{ID: "LTAIdemoOwnerKey0001", Secret: demoSecret}), "apply", "-f", "-")
	kubectl(t, exampleDoc(t, "namespaced/providerconfig-assumerole.yaml", "ProviderConfig", exNS, simulatorEndpointIn(exNS)), "apply", "-f", "-")
	kubectl(t, exampleDoc(t, "namespaced/imagesharepermission-assumerole.yaml", "ImageSharePermission", exNS, ""), "apply", "-f", "-")

	waitReady(t, namespacedISP, ns, "chained")
	want := session(target, sharerRole, defaultSession)
	madeBy(t, "m-chain0001", want)
	waitIdentity(t, namespacedPC, ns, "chain", want, target)

	waitReady(t, namespacedISP, exNS, "partner-share")
	madeBy(t, devenv.PartnerImage, session(devenv.PartnerAccount, devenv.PartnerRole, defaultSession))
	if got := sharedWith(t, credRegion, devenv.PartnerImage); !slices.Contains(got, otherPartner) {
		t.Errorf("the example's share is not in ECS: %v", got)
	}
}

// testECSRole applies the ECSRole example as it is (the role name
// discovered) against the simulator's metadata service.
func testECSRole(t *testing.T) {
	kubectl(t, exampleDoc(t, "clusterproviderconfig-ecsrole.yaml", "ClusterProviderConfig", "", simulatorEndpoint()), "apply", "-f", "-")
	kubectl(t, shareIn("default", "cred-ecsrole", "m-ecsrole01", partner, "ClusterProviderConfig", "ecs-role"), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "cred-ecsrole")

	// The metadata service names its session after the instance.
	want := session(owner, instanceRole, ecssim.DefaultInstanceID)
	madeBy(t, "m-ecsrole01", want)
	waitIdentity(t, clusterPC, "", "ecs-role", want, owner)
	c := sim.Counters()
	if c["MetadataToken"]["Success"] == 0 || c["MetadataRoleName"]["Success"] == 0 {
		t.Errorf("metadata calls %v: want an IMDSv2 token, and the role name discovered", c)
	}
	for _, a := range []string{"MetadataRoleName", "MetadataCredentials"} {
		if n := c[a]["Unauthorized"]; n > 0 {
			t.Errorf("%d %s calls without a valid token: the client tried IMDSv1", n, a)
		}
	}
	// testExpiry shortens the instance's sessions and counts how often the
	// metadata service is asked: this share must then be quiet. Paused, not
	// deleted, which would wait out the creation grace period.
	kubectl(t, "", "annotate", namespacedISP, "cred-ecsrole", "-n", "default", "crossplane.io/paused=true")
	eventually(t, 30*time.Second, func() string {
		o, _ := get(t, namespacedISP, "default", "cred-ecsrole")
		if s := o.condition("Synced"); s.Reason != "ReconcilePaused" {
			return fmt.Sprintf("cred-ecsrole: Synced %s %s, want reason ReconcilePaused", s.Status, s.Reason)
		}
		return ""
	})
}

// testSTSRefusals configures a chain whose ExternalId is wrong and one
// whose role does not trust the caller; both must fail on the share and on
// the configuration with STS's code and what to change, and nothing may
// reach ECS.
func testSTSRefusals(t *testing.T) {
	const ns = "cred-bad"
	kubectl(t, tenantNamespace(ns, credUsers["bad"])+
		chainConfig(ns, "wrong-external-id", "not-the-agreed-id", "", "")+
		fmt.Sprintf(`---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ProviderConfig
metadata: {name: untrusted, namespace: %[1]s}
spec:
%[2]s  credentials:
    source: Secret
    secretRef: {namespace: %[1]s, name: alibabacloud-credentials, key: credentials}
  assumeRoleChain:
    - roleARN: %[3]s
`, ns, simulatorEndpointIn(ns), roleARN(target, untrustingRole)), "apply", "-f", "-")
	kubectl(t, shareIn(ns, "wrong-external-id", "m-badcred01", partner, "ProviderConfig", "wrong-external-id")+
		shareIn(ns, "untrusted", "m-badcred01", otherPartner, "ProviderConfig", "untrusted"), "apply", "-f", "-")

	cases := []struct {
		name string
		want []string // in the share's Synced and the configuration's Authenticated messages
	}{
		{"wrong-external-id", []string{"NoPermission", "ExternalId", roleARN(target, sharerRole)}},
		{"untrusted", []string{"NoPermission", "trust policy", "AliyunSTSAssumeRoleAccess", roleARN(target, untrustingRole)}},
	}
	for _, c := range cases {
		waitSyncedFalse(t, namespacedISP, ns, c.name, "NoPermission")
		o, _ := get(t, namespacedISP, ns, c.name)
		msg := o.condition("Synced").Message
		t.Logf("%s: Synced=False: %s", c.name, msg)
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: Synced message %q lacks %q", c.name, msg, w)
			}
		}
		eventually(t, 90*time.Second, func() string {
			pc := getConfig(t, namespacedPC, ns, c.name)
			a := pc.condition("Authenticated")
			if a.Status != "False" || a.Reason != "AuthenticationFailed" {
				return fmt.Sprintf("%s: Authenticated=%s %s %q, want False AuthenticationFailed", c.name, a.Status, a.Reason, a.Message)
			}
			for _, w := range c.want {
				if !strings.Contains(a.Message, w) {
					return fmt.Sprintf("%s: Authenticated message %q lacks %q", c.name, a.Message, w)
				}
			}
			if pc.Status.Identity != nil {
				return fmt.Sprintf("%s: status.identity %+v on a configuration that never authenticated", c.name, *pc.Status.Identity)
			}
			return ""
		})
	}
	if calls := sim.CallsBy(func(c ecssim.Call) string { return c.Action }, onImages("m-badcred01")); len(calls) > 0 {
		t.Errorf("ECS was called for the refused configurations: %v", calls)
	}
}

// testTenantRefused asks, as a tenant, for the provider pod's identities.
func testTenantRefused(t *testing.T) {
	for _, source := range []string{"RRSA", "ECSRole"} {
		manifest := fmt.Sprintf(`apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ProviderConfig
metadata: {name: borrow-%s, namespace: default}
spec:
  credentials: {source: %s}
`, strings.ToLower(source), source)
		out, err := kubectlErr(manifest, "apply", "-f", "-")
		if want := "a namespaced ProviderConfig may only use credentials.source Secret"; err == nil || !strings.Contains(out, want) {
			t.Errorf("source %s: kubectl apply gave %v: %s; want a refusal saying %q", source, err, out, want)
		}
	}
}

// testSessionsShared applies 100 shares through one two-hop chain: all of
// them, and the configuration's identity check, must share one session per
// hop.
func testSessionsShared(t *testing.T) {
	const (
		ns     = "cred-scale"
		shares = 100
		image  = "m-credscal1"
	)
	kubectl(t, tenantNamespace(ns, credUsers["scale"])+chainConfig(ns, "chain", sharerExternal, "e2e-scale-hop1", "e2e-scale-hop2"), "apply", "-f", "-")
	// Gone before the next scenario, whatever this one's outcome: polled
	// every few seconds, a hundred shares would take most of the provider's
	// reconcile rate from the scenarios after it, TestScale's counts among
	// them.
	t.Cleanup(func() {
		if out, err := kubectlErr("", "delete", namespacedISP, "--all", "-n", ns, "--wait=true", "--timeout=3m"); err != nil {
			t.Errorf("deleting %s's shares: %v: %s", ns, err, out)
		}
	})
	var manifest strings.Builder
	for i := range shares {
		manifest.WriteString(shareIn(ns, fmt.Sprintf("s%03d", i), image, fmt.Sprintf("81%014d", i), "ProviderConfig", "chain"))
	}
	begin := time.Now()
	kubectl(t, manifest.String(), "apply", "-f", "-")
	eventually(t, 3*time.Minute, func() string {
		ready := 0
		for _, o := range list(t, namespacedISP, ns) {
			if o.condition("Ready").Status == "True" && o.condition("Synced").Status == "True" {
				ready++
			}
		}
		if ready < shares {
			return fmt.Sprintf("%d of %d ready", ready, shares)
		}
		return ""
	})
	t.Logf("%d shares ready through the chain in %v", shares, time.Since(begin).Round(time.Millisecond))
	if n := len(sharedWith(t, credRegion, image)); n != shares {
		t.Errorf("ECS holds %d shares of %s, want %d", n, image, shares)
	}
	waitIdentity(t, namespacedPC, ns, "chain", session(target, sharerRole, "e2e-scale-hop2"), target)

	hop1 := assumeRoleCalls(func(c ecssim.Call) bool { return c.AccessKeyID == credUsers["scale"].ID })
	hop2 := assumeRoleCalls(func(c ecssim.Call) bool { return c.Principal == session(owner, brokerRole, "e2e-scale-hop1") })
	t.Logf("AssumeRole calls for %d shares: hop 1 %v, hop 2 %v", shares, hop1, hop2)
	for i, got := range []map[string]uint64{hop1, hop2} {
		if !maps.Equal(got, map[string]uint64{"Success": 1}) {
			t.Errorf("hop %d: AssumeRole calls by outcome %v, want exactly one, successful", i+1, got)
		}
	}
	madeBy(t, image, session(target, sharerRole, "e2e-scale-hop2"))
}

// testExpiry makes every new session last sessionLifetime, runs a chain, an
// RRSA and an ECSRole configuration through more than two lifetimes, and
// expects the provider to renew each hop ahead of expiry: no resource falls
// out of Ready or Synced, ECS never refuses a call, and each hop costs about
// one STS call per lifetime.
func testExpiry(t *testing.T) {
	const (
		ns              = "cred-expiry"
		sessionLifetime = 20 * time.Second
		watch           = 5 * sessionLifetime / 2
	)
	if err := sim.SetSTS(ecssim.STSOptions{SessionLifetime: ecssim.Duration{Duration: sessionLifetime}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.SetSTS(ecssim.STSOptions{}); err != nil {
			t.Error(err)
		}
	})
	// The metadata service hands out the instance's current session until
	// half of it is left: retire the hour-long one testECSRole got, so that
	// the next is a short one.
	sim.ExpireSessions(ecssim.SessionSelector{Role: roleARN(owner, instanceRole)}, 0)

	images := []string{"m-expiry001", "m-expiry002", "m-expiry003"}
	kubectl(t, tenantNamespace(ns, credUsers["expiry"])+chainConfig(ns, "chain", sharerExternal, "e2e-expiry-hop1", "e2e-expiry-hop2")+
		fmt.Sprintf(`---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ClusterProviderConfig
metadata: {name: rrsa-expiring}
spec:
%[1]s  credentials:
    source: RRSA
    rrsa: {sessionName: e2e-expiry-rrsa}
---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ClusterProviderConfig
metadata: {name: ecs-role-expiring}
spec:
%[1]s  credentials:
    source: ECSRole
    ecsRole: {roleName: %[2]s}
`, simulatorEndpoint(), instanceRole), "apply", "-f", "-")
	kubectl(t, shareIn(ns, "chain", images[0], partner, "ProviderConfig", "chain")+
		shareIn(ns, "rrsa", images[1], partner, "ClusterProviderConfig", "rrsa-expiring")+
		shareIn(ns, "ecs-role", images[2], partner, "ClusterProviderConfig", "ecs-role-expiring"), "apply", "-f", "-")
	for _, name := range []string{"chain", "rrsa", "ecs-role"} {
		waitReady(t, namespacedISP, ns, name)
	}

	// What each hop costs, counted by who asked: the chain's first hop
	// signs with the tenant's key and its second with the first's session;
	// RRSA and the metadata service are anonymous, and nothing else renews
	// them meanwhile.
	hops := []struct {
		name  string
		count func() uint64
	}{
		{"chain hop 1 (AssumeRole)", func() uint64 {
			return assumeRoleCalls(func(c ecssim.Call) bool { return c.AccessKeyID == credUsers["expiry"].ID })["Success"]
		}},
		{"chain hop 2 (AssumeRole)", func() uint64 {
			return assumeRoleCalls(func(c ecssim.Call) bool { return c.Principal == session(owner, brokerRole, "e2e-expiry-hop1") })["Success"]
		}},
		{"RRSA (AssumeRoleWithOIDC)", func() uint64 { return sim.Counters()["AssumeRoleWithOIDC"]["Success"] }},
		{"ECSRole (metadata credentials)", func() uint64 { return sim.Counters()["MetadataCredentials"]["Success"] }},
	}
	before := make([]uint64, len(hops))
	for i, h := range hops {
		before[i] = h.count()
	}

	// Watch every resource as often as kubectl allows: a resource that
	// lost its credentials would show Synced=False at least until its
	// retry a second or more later.
	begin := time.Now()
	var dropped []string
	for time.Since(begin) < watch {
		if err := providerExited(); err != nil {
			t.Fatal(err)
		}
		for _, o := range list(t, namespacedISP, ns) {
			r, s := o.condition("Ready"), o.condition("Synced")
			if r.Status != "True" || s.Status != "True" {
				dropped = append(dropped, fmt.Sprintf("%s after %v: Ready=%s Synced=%s %s",
					o.Metadata.Name, time.Since(begin).Round(time.Second), r.Status, s.Status, s.Message))
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	watched := time.Since(begin)
	if len(dropped) > 0 {
		t.Errorf("resources left Ready or Synced while their sessions were renewed:\n%s", strings.Join(dropped, "\n"))
	}

	// Renewed ahead of expiry means ECS never saw an expired or unknown
	// session: every call about these images succeeded, from the first.
	outcomes := sim.CallsBy(func(c ecssim.Call) string { return c.Outcome }, onImages(images...))
	if outcomes["Success"] == 0 || len(outcomes) != 1 {
		t.Errorf("ECS calls for the expiring configurations, by outcome: %v; want only Success", outcomes)
	}

	// About one renewal per lifetime: the provider renews with a margin
	// (a quarter of the lifetime, less jitter), so at most twice a lifetime;
	// a provider that let sessions lapse, or renewed per reconcile, falls
	// outside.
	lifetimes := float64(watched) / float64(sessionLifetime)
	lo, hi := uint64(lifetimes), uint64(2*lifetimes)+1
	for i, h := range hops {
		n := h.count() - before[i]
		t.Logf("%s: %d sessions in %v (%.1f lifetimes of %v)", h.name, n, watched.Round(time.Second), lifetimes, sessionLifetime)
		if n < lo || n > hi {
			t.Errorf("%s: %d new sessions in %.1f session lifetimes, want %d to %d", h.name, n, lifetimes, lo, hi)
		}
	}
	for _, image := range images {
		if got := sharedWith(t, credRegion, image); !slices.Equal(got, []string{partner}) {
			t.Errorf("%s is shared with %v, want [%s]", image, got, partner)
		}
	}
}

// testNoTokens reads everything a person or a log collector can see for
// the RRSA tokens the provider exchanged, and for the secrets of the keys
// it read from its pod's environment and files (a malformed document's
// too); STS session secrets the simulator issued are checked by the
// provider's own tests, which can see them, and the example Secret's by
// TestProvider.
func testNoTokens(t *testing.T) {
	tokens, err := kubelet.tokens()
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{
		"provider log":   string(log),
		"events":         kubectl(t, "", "get", "events", "-A", "-o", "json"),
		"managed":        kubectl(t, "", "get", "managed", "-A", "-o", "json"),
		"configurations": kubectl(t, "", "get", clusterPC+","+namespacedPC+","+clusterScopedPC, "-A", "-o", "json"),
	}
	for where, text := range seen {
		for _, token := range tokens {
			// The signature alone identifies a token, and survives any
			// truncation of the rest.
			if sig := token[strings.LastIndexByte(token, '.')+1:]; strings.Contains(text, sig) {
				t.Errorf("the %s contains an RRSA token", where)
			}
		}
	}
	for where, text := range seen {
		for _, secret := range []string{malformedSecret, credUsers["rotated"].Secret} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s contains the secret of a key the pod held", where)
			}
		}
	}
	if !strings.Contains(seen["configurations"], "AuthenticationFailed") || !strings.Contains(seen["configurations"], "IdentityVerified") {
		t.Error("the configurations report no identity checks: the check would prove nothing")
	}
}

// Provider configuration kinds, by their full resource names.
const (
	clusterPC       = "clusterproviderconfigs.alibabacloud.m.crossplane.io"
	namespacedPC    = "providerconfigs.alibabacloud.m.crossplane.io"
	clusterScopedPC = "providerconfigs.alibabacloud.crossplane.io"
)

// shareIn is a namespaced ImageSharePermission using the named
// configuration, as one document of a manifest.
func shareIn(ns, name, image, account, configKind, config string) string {
	return fmt.Sprintf(`---
apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharePermission
metadata: {name: %s, namespace: %s}
spec:
  providerConfigRef: {kind: %s, name: %s}
  forProvider:
    region: %s
    imageId: %s
    accountId: "%s"
`, name, ns, configKind, config, credRegion, image, account)
}

// tenantNamespace is a tenant's namespace with its key in the Secret
// alibabacloud-credentials and the simulator's CA.
func tenantNamespace(ns string, key ecssim.AccessKey) string {
	creds, err := json.Marshal(map[string]string{"accessKeyId": key.ID, "accessKeySecret": key.Secret})
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`---
apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: Secret
metadata: {name: alibabacloud-credentials, namespace: %[1]s}
stringData:
  credentials: %[2]q
---
apiVersion: v1
kind: Secret
metadata: {name: %[3]s, namespace: %[1]s}
stringData:
  ca.crt: %[4]q
`, ns, creds, devenv.SimulatorCASecret, sim.CABundle)
}

// chainConfig is a tenant's ProviderConfig that signs with its Secret,
// assumes the broker role, and with that session the target's sharer role,
// sending externalID. Empty session names leave the provider's default.
func chainConfig(ns, name, externalID, session1, session2 string) string {
	sessionName := func(s string) string {
		if s == "" {
			return ""
		}
		return "\n      sessionName: " + s
	}
	return fmt.Sprintf(`---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ProviderConfig
metadata: {name: %[2]s, namespace: %[1]s}
spec:
%[3]s  credentials:
    source: Secret
    secretRef: {namespace: %[1]s, name: alibabacloud-credentials, key: credentials}
  assumeRoleChain:
    - roleARN: %[4]s%[5]s
    - roleARN: %[6]s
      externalID: %[7]s%[8]s
`, ns, name, simulatorEndpointIn(ns), roleARN(owner, brokerRole), sessionName(session1), roleARN(target, sharerRole), externalID, sessionName(session2))
}

// exampleDoc is the document of kind in examples/<path>, moved from the
// namespace default to ns (unless ns is empty), with extraSpec (YAML
// indented to sit under spec, such as the simulator's endpoints) added and
// each pair of replace (old, new; old must occur exactly once) applied
// before it is applied, so that the example is used as written, changed
// only where the test world differs from a cluster's, and never reaches for
// Alibaba Cloud's real endpoints.
func exampleDoc(t *testing.T, path, kind, ns, extraSpec string, replace ...string) string {
	t.Helper()
	doc, err := exampleDocument(path, kind, ns, extraSpec, replace...)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// exampleDocument is exampleDoc for TestMain, which has no t.
func exampleDocument(path, kind, ns, extraSpec string, replace ...string) (string, error) {
	if len(replace)%2 != 0 {
		return "", fmt.Errorf("examples/%s: replacements come in pairs, got %q", path, replace)
	}
	b, err := os.ReadFile(filepath.Join(root, "examples", path))
	if err != nil {
		return "", err
	}
	for doc := range strings.SplitSeq(string(b), "\n---\n") {
		if !strings.Contains(doc, "\nkind: "+kind+"\n") {
			continue
		}
		if ns != "" {
			moved := strings.ReplaceAll(doc, "namespace: default", "namespace: "+ns)
			if moved == doc {
				return "", fmt.Errorf("examples/%s no longer names the namespace default", path)
			}
			doc = moved
		}
		withSpec := strings.Replace(doc, "\nspec:\n", "\nspec:\n"+extraSpec, 1)
		if withSpec == doc && extraSpec != "" {
			return "", fmt.Errorf("examples/%s: the %s has no spec", path, kind)
		}
		for i := 0; i < len(replace); i += 2 {
			if n := strings.Count(withSpec, replace[i]); n != 1 {
				return "", fmt.Errorf("examples/%s: the %s says %q %d times, want once", path, kind, replace[i], n)
			}
			withSpec = strings.Replace(withSpec, replace[i], replace[i+1], 1)
		}
		return withSpec, nil
	}
	return "", fmt.Errorf("examples/%s has no %s", path, kind)
}

// configObject is a provider configuration as kubectl shows it.
type configObject struct {
	Status struct {
		Conditions []condition `json:"conditions"`
		Identity   *struct {
			Type        string `json:"type"`
			AccountID   string `json:"accountId"`
			ARN         string `json:"arn"`
			PrincipalID string `json:"principalId"`
			VerifiedAt  string `json:"verifiedAt"`
		} `json:"identity"`
	} `json:"status"`
}

func (o configObject) condition(typ string) condition {
	for _, c := range o.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return condition{Type: typ, Status: "Unknown"}
}

func getConfig(t *testing.T, resource, ns, name string) configObject {
	t.Helper()
	args := []string{"get", resource, name, "-o", "json"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	var o configObject
	if out := kubectl(t, "", args...); json.Unmarshal([]byte(out), &o) != nil {
		t.Fatalf("cannot read %s: %s", name, out)
	}
	return o
}

// waitIdentity waits until a configuration reports, in its Authenticated
// condition and status.identity, that it acts as arn of account.
func waitIdentity(t *testing.T, resource, ns, name, arn, account string) {
	t.Helper()
	waitIdentityAs(t, resource, ns, name, "AssumedRoleUser", arn, account)
}

// waitIdentityAs is waitIdentity for an identity of type typ (a role
// session's AssumedRoleUser, a RAM user's RAMUser, an account's Account).
func waitIdentityAs(t *testing.T, resource, ns, name, typ, arn, account string) {
	t.Helper()
	eventually(t, 90*time.Second, func() string {
		o := getConfig(t, resource, ns, name)
		a := o.condition("Authenticated")
		if wantMsg := "The credentials act as " + arn + " (" + typ + " of account " + account + ")."; a.Status != "True" || a.Reason != "IdentityVerified" || a.Message != wantMsg {
			return fmt.Sprintf("%s: Authenticated=%s %s %q, want True IdentityVerified %q", name, a.Status, a.Reason, a.Message, wantMsg)
		}
		id := o.Status.Identity
		if id == nil || id.Type != typ || id.AccountID != account || id.ARN != arn || id.PrincipalID == "" || id.VerifiedAt == "" {
			return fmt.Sprintf("%s: status.identity %+v, want %s %s of %s with a principal ID and a time", name, id, typ, arn, account)
		}
		return ""
	})
}

// onImages keeps the ECS calls about these images.
func onImages(images ...string) func(ecssim.Call) bool {
	return func(c ecssim.Call) bool { return c.Region == credRegion && slices.Contains(images, c.Image) }
}

// madeBy checks that every ECS call about image was made, and accepted, as
// principal.
func madeBy(t *testing.T, image, principal string) {
	t.Helper()
	got := sim.CallsBy(func(c ecssim.Call) string { return c.Principal + " " + c.Outcome }, onImages(image))
	if len(got) != 1 || got[principal+" Success"] == 0 {
		t.Errorf("ECS calls about %s by principal and outcome: %v; want all by %s, successful", image, got, principal)
	}
}

// assumeRoleCalls counts AssumeRole calls whose caller matches, by outcome.
func assumeRoleCalls(caller func(ecssim.Call) bool) map[string]uint64 {
	return sim.CallsBy(func(c ecssim.Call) string { return c.Outcome }, func(c ecssim.Call) bool {
		return c.Action == "AssumeRole" && caller(c)
	})
}
