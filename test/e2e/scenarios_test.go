package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// testExamples applies the examples as a user would and checks what
// kubectl shows and what ECS holds.
func testExamples(t *testing.T) {
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "namespaced", "imagesharepermission.yaml"))
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "cluster", "imagesharepermission.yaml"))
	waitReady(t, namespacedISP, "default", "demo-share")
	waitReady(t, clusterISP, "", "demo-share-cluster")

	// The namespace's own ProviderConfig, with its own Secret.
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "namespaced", "secret.yaml"))
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "namespaced", "providerconfig.yaml"))
	// A tenant trusts the simulator's CA with a Secret of its own namespace.
	kubectl(t, "", "create", "secret", "generic", devenv.SimulatorCASecret, "-n", "default", "--from-literal=ca.crt="+string(sim.CABundle))
	kubectl(t, "", "patch", "providerconfig.alibabacloud.m.crossplane.io", "team", "-n", "default", "--type=merge",
		"-p", fmt.Sprintf(`{"spec":{"endpoint":%[1]q,"stsEndpoint":%[1]q,"tls":{"caBundleSecretRef":{"namespace":"default","name":%[2]q,"key":"ca.crt"}}}}`, sim.URL, devenv.SimulatorCASecret))
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "namespaced", "imagesharepermission-providerconfig.yaml"))
	waitReady(t, namespacedISP, "default", "demo-share-team")

	out := kubectl(t, "", "get", namespacedISP, "demo-share", "-n", "default")
	for _, want := range []string{"READY", "SYNCED", "EXTERNAL-NAME", "REGION", "IMAGE", "ACCOUNT", "m-demo0001:3333333333333333", "cn-hangzhou"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get lacks %q:\n%s", want, out)
		}
	}
	// The provider caches objects without their managed fields and writes
	// from the cache: the API server must keep the fields kubectl owns.
	if out := kubectl(t, "", "get", namespacedISP, "demo-share", "-n", "default", "-o", "jsonpath={.metadata.managedFields[*].manager}"); !strings.Contains(out, "kubectl") {
		t.Errorf("after the provider's writes the managed fields name %q, want kubectl's entry kept", out)
	}
	if out := kubectl(t, "", "get", "managed"); !strings.Contains(out, "demo-share-cluster") || !strings.Contains(out, "demo-share") {
		t.Errorf("kubectl get managed does not list both scopes:\n%s", out)
	}
	for _, c := range []struct{ region, image, account string }{
		{"cn-hangzhou", "m-demo0001", otherPartner},
		{"cn-shanghai", "m-demo0004", "9999999999999999"},
		{"cn-hangzhou", "m-demo0002", otherPartner},
	} {
		if !slices.Contains(sharedWith(t, c.region, c.image), c.account) {
			t.Errorf("ECS does not share %s with %s", c.image, c.account)
		}
	}
}

// testDrift removes our share behind the provider's back, leaving another
// share on the image, and expects it back within a poll.
func testDrift(t *testing.T) {
	kubectl(t, share(true, "drift", "m-drift0001", partner, ""), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "drift")
	// Within its creation grace period the provider reads a missing share
	// as ECS being slow to show a new one, and waits; drift is what happens
	// later. (The other scenarios run meanwhile.)
	time.Sleep(creationGracePeriod)
	if err := sim.Share("cn-hangzhou", "m-drift0001", false, partner); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	eventually(t, 2*poll+5*time.Second, func() string {
		if !slices.Contains(sharedWith(t, "cn-hangzhou", "m-drift0001"), partner) {
			return "the share was not restored"
		}
		return ""
	})
	t.Logf("drift repaired %v after the share was removed (poll %v)", time.Since(removed).Round(time.Millisecond), poll)
	if got := sharedWith(t, "cn-hangzhou", "m-drift0001"); !slices.Contains(got, otherPartner) {
		t.Errorf("the other share was lost: %v", got)
	}
}

// testDelete deletes shares, and checks that a policy without Delete (or
// deletionPolicy: Orphan) keeps them in ECS.
func testDelete(t *testing.T) {
	keep := "  managementPolicies: [Observe, Create, Update, LateInitialize]\n"
	cases := []struct {
		name, resource, ns, manifest, account string
		wantShared                            bool
	}{
		{"delete-ns", namespacedISP, "default", share(true, "delete-ns", "m-delete001", partner, ""), partner, false},
		{"delete-cluster", clusterISP, "", share(false, "delete-cluster", "m-delete001", otherPartner, ""), otherPartner, false},
		{"keep-ns", namespacedISP, "default", share(true, "keep-ns", "m-delete001", "4000000000000001", keep), "4000000000000001", true},
		{"orphan-cluster", clusterISP, "", share(false, "orphan-cluster", "m-delete001", "4000000000000002", "  deletionPolicy: Orphan\n"), "4000000000000002", true},
	}
	for _, c := range cases {
		kubectl(t, c.manifest, "apply", "-f", "-")
	}
	for _, c := range cases {
		waitReady(t, c.resource, c.ns, c.name)
		if !slices.Contains(sharedWith(t, "cn-hangzhou", "m-delete001"), c.account) {
			t.Fatalf("%s: not shared before delete", c.name)
		}
	}
	// Delete all at once, within the provider's creation grace period (30s
	// from each share's creation, which came before Ready): a share its
	// own object unshared is trusted gone at once, and the others are not
	// unshared, so no object waits the grace period out.
	ready := time.Now()
	for _, c := range cases {
		args := []string{"delete", c.resource, c.name, "--wait=false"}
		if c.ns != "" {
			args = append(args, "-n", c.ns)
		}
		kubectl(t, "", args...)
	}
	for _, c := range cases {
		eventually(t, time.Until(ready.Add(creationGracePeriod*2/3)), func() string {
			if _, exists := get(t, c.resource, c.ns, c.name); exists {
				return c.name + " still exists: it waits out the creation grace period"
			}
			return ""
		})
		if got := slices.Contains(sharedWith(t, "cn-hangzhou", "m-delete001"), c.account); got != c.wantShared {
			t.Errorf("%s: after delete ECS shares with %s: %v, want %v", c.name, c.account, got, c.wantShared)
		}
	}
}

// testImport adopts a share made outside Kubernetes, observe-only, and
// proves the provider made no change in ECS.
func testImport(t *testing.T) {
	before := sim.Counters()
	manifest := strings.Replace(share(true, "imported", "m-import001", partner, "  managementPolicies: [Observe]\n"),
		"  namespace: default\n", "  namespace: default\n  annotations:\n    crossplane.io/external-name: m-import001:"+partner+"\n", 1)
	kubectl(t, manifest, "apply", "-f", "-")
	o := waitReady(t, namespacedISP, "default", "imported")
	var at struct {
		ID         string `json:"id"`
		SharedTime string `json:"sharedTime"`
		Adopted    bool   `json:"adopted"`
	}
	eventually(t, 2*poll+5*time.Second, func() string {
		o, _ = get(t, namespacedISP, "default", "imported")
		if err := json.Unmarshal(o.Status.AtProvider, &at); err != nil || at.ID != "m-import001:"+partner || at.SharedTime == "" || !at.Adopted {
			return fmt.Sprintf("atProvider = %s (%v), want the share, adopted", o.Status.AtProvider, err)
		}
		return ""
	})
	events := kubectl(t, "", "get", "events", "-n", "default", "--field-selector", "involvedObject.name=imported", "-o", "custom-columns=REASON:.reason,MESSAGE:.message", "--no-headers")
	if want := "image m-import001 was already shared with account " + partner + ": taken over, not created"; !strings.Contains(events, "AdoptedExistingShare") || !strings.Contains(events, want) {
		t.Errorf("the imported share's events do not say it was taken over (%q):\n%s", want, events)
	}
	after := sim.Counters()
	if n := sum(after["ModifyImageSharePermission"]) - sum(before["ModifyImageSharePermission"]); n != 0 {
		t.Errorf("import made %d ModifyImageSharePermission calls, want none", n)
	}
	if sum(after["DescribeImageSharePermission"]) == sum(before["DescribeImageSharePermission"]) {
		t.Error("import made no DescribeImageSharePermission call: it cannot have observed ECS")
	}
	if got := sharedWith(t, "cn-hangzhou", "m-import001"); !slices.Equal(got, []string{partner}) {
		t.Errorf("shares changed to %v", got)
	}
}

func sum(m map[string]uint64) uint64 {
	var n uint64
	for _, v := range m {
		n += v
	}
	return n
}

// testBadInput covers input the API server refuses, and mistakes only ECS
// or the configuration reveals, each reported on the object; a healthy
// resource is served all the while.
func testBadInput(t *testing.T) {
	refused := []struct {
		name, manifest, want string
	}{
		{"bad-account", share(true, "bad-account", "m-demo0001", "alice", ""), "accountId must be the numeric ID of an Alibaba Cloud account"},
		{"bad-image", share(true, "bad-image", "ubuntu_22_04", partner, ""), "imageId must be a custom image ID"},
		{"bad-region", share(false, "bad-region", "m-demo0001", partner, ""), ""},
	}
	refused[2].manifest = strings.Replace(refused[2].manifest, "region: cn-hangzhou", "region: Hangzhou", 1)
	refused[2].want = "region must be an Alibaba Cloud region ID"
	refused = append(refused,
		struct{ name, manifest, want string }{"tenant-borrows-env", `apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ProviderConfig
metadata: {name: borrow, namespace: default}
spec:
  credentials: {source: Environment, env: {name: ALIBABA_CLOUD_CREDENTIALS}}
`, "a namespaced ProviderConfig may only use credentials.source Secret"},
		struct{ name, manifest, want string }{"plain-http", `apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ClusterProviderConfig
metadata: {name: plain-http}
spec:
  endpoint: http://ecs.cn-hangzhou.aliyuncs.com
  credentials: {source: Secret, secretRef: {namespace: crossplane-system, name: alibabacloud-credentials, key: credentials}}
`, "endpoint uses plain http to a host that is not loopback"},
	)
	for _, c := range refused {
		out, err := kubectlErr(c.manifest, "apply", "-f", "-")
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: kubectl apply gave %v: %s; want a refusal saying %q", c.name, err, out, c.want)
		}
	}

	// Configurations that are wrong in ways only the provider can see.
	// Each config is wrong in one way: its key's secret, a missing Secret
	// key, or an endpoint whose certificate it does not trust.
	clusterConfig := func(name, endpoint, secret, key string) string {
		return fmt.Sprintf(`---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ClusterProviderConfig
metadata: {name: %s}
spec:
%s  credentials:
    source: Secret
    secretRef: {namespace: crossplane-system, name: %s, key: %s}
`, name, endpoint, secret, key)
	}
	kubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: wrong-secret, namespace: crossplane-system}
stringData:
  credentials: '{"accessKeyId": "LTAIdemoOwnerKey0001", "accessKeySecret": %q}'
`, wrongSecret)+
		clusterConfig("wrong-secret", simulatorEndpoint(), "wrong-secret", "credentials")+
		clusterConfig("missing-key", simulatorEndpoint(), "alibabacloud-credentials", "nokey")+
		clusterConfig("untrusted", "  endpoint: "+sim.URL+"\n  stsEndpoint: "+sim.URL+"\n", "alibabacloud-credentials", "credentials")+
		// A tenant's endpoint the operator has not admitted
		// (--tenant-endpoints admits Alibaba Cloud's hosts and loopback).
		`---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ProviderConfig
metadata: {name: elsewhere, namespace: default}
spec:
  endpoint: https://ecs.internal.example
  credentials: {source: Secret, secretRef: {namespace: default, name: alibabacloud-credentials, key: credentials}}
`,
		"apply", "-f", "-")
	ref := func(kind, name string) string {
		return fmt.Sprintf("  providerConfigRef: {kind: %s, name: %s}\n", kind, name)
	}
	reported := []struct{ name, manifest, want string }{
		{"no-config", share(true, "no-config", "m-demo0001", "4100000000000001", ref("ClusterProviderConfig", "nonexistent")), `ClusterProviderConfig "nonexistent" not found`},
		{"missing-key", share(true, "missing-key", "m-demo0001", "4100000000000002", ref("ClusterProviderConfig", "missing-key")), `credentials are empty: key "nokey" of Secret crossplane-system/alibabacloud-credentials`},
		{"wrong-secret", share(true, "wrong-secret", "m-demo0001", "4100000000000003", ref("ClusterProviderConfig", "wrong-secret")), "SignatureDoesNotMatch"},
		{"untrusted", share(true, "untrusted", "m-demo0001", "4100000000000004", ref("ClusterProviderConfig", "untrusted")), "presented a certificate that is not trusted"},
		{"foreign-image", share(true, "foreign-image", "m-foreign01", partner, ""), "InvalidImageId.NotFound"},
		{"fifty-first", share(true, "fifty-first", "m-full00001", partner, ""), "QuotaExceed.ShareImageUser"},
		// Orphaned on deletion, which needs no connection, since it never
		// gets one.
		{"tenant-endpoint", share(true, "tenant-endpoint", "m-demo0001", "4100000000000005",
			ref("ProviderConfig", "elsewhere")+"  managementPolicies: [Observe, Create, Update, LateInitialize]\n"),
			"ProviderConfig default/elsewhere: spec.endpoint's host ecs.internal.example is not one the provider's operator admits (--tenant-endpoints=*.aliyuncs.com,127.0.0.1)"},
	}
	for _, c := range reported {
		kubectl(t, c.manifest, "apply", "-f", "-")
	}
	for _, c := range reported {
		waitSyncedFalse(t, namespacedISP, "default", c.name, c.want)
	}
	// The refused tenant sees it on its ProviderConfig too, before any
	// resource has tried.
	eventually(t, time.Minute, func() string {
		a := getConfig(t, "providerconfigs.alibabacloud.m.crossplane.io", "default", "elsewhere").condition("Authenticated")
		if a.Status != "False" || !strings.Contains(a.Message, "is not one the provider's operator admits (--tenant-endpoints=") {
			return fmt.Sprintf("elsewhere: Authenticated=%s %q, want False naming --tenant-endpoints", a.Status, a.Message)
		}
		return ""
	})
	if n := len(sharedWith(t, "cn-hangzhou", "m-full00001")); n != 50 {
		t.Errorf("the full image has %d shares, want 50", n)
	}

	// CEL immutability, on an object that exists.
	kubectl(t, share(true, "healthy", "m-healthy01", partner, ""), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "healthy")
	out, err := kubectlErr("", "patch", namespacedISP, "healthy", "-n", "default", "--type=merge", "-p", `{"spec":{"forProvider":{"imageId":"m-other0001"}}}`)
	if err == nil || !strings.Contains(out, "imageId is immutable: create a new ImageSharePermission instead") {
		t.Errorf("changing imageId: %v: %s", err, out)
	}
	for _, c := range reported {
		kubectl(t, "", "delete", namespacedISP, c.name, "-n", "default", "--wait=true", "--timeout=90s")
	}
}

// testRestart kills the provider mid-flight, makes a change while it is
// down, and starts it again.
func testRestart(t *testing.T) {
	kubectl(t, share(true, "restart-a", "m-restart01", partner, ""), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "restart-a")
	before := modifySuccesses()

	providerM.Lock()
	provider.Kill()
	providerM.Unlock()
	// Created while the provider is down: must not be lost.
	kubectl(t, share(true, "restart-b", "m-restart01", otherPartner, ""), "apply", "-f", "-")
	if err := startProvider(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, namespacedISP, "default", "restart-b")
	for _, name := range []string{"restart-a", "demo-share", "drift", "imported", "healthy"} {
		waitReady(t, namespacedISP, "default", name)
	}
	waitReady(t, clusterISP, "", "demo-share-cluster")
	if got := sharedWith(t, "cn-hangzhou", "m-restart01"); !slices.Equal(got, []string{partner, otherPartner}) {
		t.Errorf("shares after restart: %v", got)
	}
	// Only restart-b needed a change; everything else was found as it was.
	if n := modifySuccesses() - before; n != 1 {
		t.Errorf("%d successful Modify calls across the restart, want exactly 1 (restart-b)", n)
	}
}

// testNoSecrets reads everything a person or a log collector can see.
func testNoSecrets(t *testing.T) {
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) == 0 {
		t.Fatal("the provider logged nothing: the check would prove nothing")
	}
	seen := map[string]string{
		"provider log": string(log),
		"events":       kubectl(t, "", "get", "events", "-A", "-o", "json"),
		"conditions":   kubectl(t, "", "get", "managed", "-A", "-o", "json"),
	}
	for where, text := range seen {
		for _, secret := range []string{demoSecret, wrongSecret} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s contains a secret", where)
			}
		}
	}
	if !strings.Contains(seen["events"], "SignatureDoesNotMatch") {
		t.Error("events do not report the wrong secret's failure: the check would prove nothing")
	}
}

// The two ImageSharing kinds, by their full resource names.
const (
	namespacedSharing = "imagesharings.ecs.alibabacloud.m.crossplane.io"
	clusterSharing    = "imagesharings.ecs.alibabacloud.crossplane.io"
)

// testImageSharing applies the ImageSharing examples, publishes a new
// version of the family one follows and expects it shared, and the version
// it pushes out unshared, within a poll; deleting unshares.
func testImageSharing(t *testing.T) {
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "namespaced", "imagesharing.yaml"))
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "namespaced", "imagesharing-family.yaml"))
	kubectl(t, "", "apply", "-f", filepath.Join(root, "examples", "cluster", "imagesharing.yaml"))
	waitReady(t, namespacedSharing, "default", "demo-sharing")
	waitReady(t, clusterSharing, "", "demo-sharing-cluster")
	waitReady(t, namespacedSharing, "default", "golden-base")
	for _, c := range []struct {
		region, image string
		accounts      []string
	}{
		{"cn-hangzhou", "m-demo0002", []string{partner, otherPartner}},
		{"cn-shanghai", "m-demo0004", []string{partner, "9999999999999999"}},
		{"cn-hangzhou", "m-golden02", []string{partner, otherPartner}},
		{"cn-hangzhou", "m-golden01", []string{partner, otherPartner}},
	} {
		got := sharedWith(t, c.region, c.image)
		for _, a := range c.accounts {
			if !slices.Contains(got, a) {
				t.Errorf("ECS does not share %s with %s: %v", c.image, a, got)
			}
		}
	}
	out := kubectl(t, "", "get", namespacedSharing, "golden-base", "-n", "default")
	for _, want := range []string{"READY", "EXTERNAL-NAME", "family/cn-hangzhou/golden-base", "m-golden02"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl get lacks %q:\n%s", want, out)
		}
	}

	if _, err := sim.PublishVersion("cn-hangzhou", "golden-base", ecssim.Image{ID: "m-golden03", Name: "golden-base-v3"}); err != nil {
		t.Fatal(err)
	}
	published := time.Now()
	eventually(t, 2*poll+10*time.Second, func() string {
		if got := sharedWith(t, "cn-hangzhou", "m-golden03"); !slices.Contains(got, partner) || !slices.Contains(got, otherPartner) {
			return fmt.Sprintf("the new version is shared with %v", got)
		}
		if got := sharedWith(t, "cn-hangzhou", "m-golden01"); len(got) > 0 {
			return fmt.Sprintf("the version pushed out of the two kept is still shared with %v", got)
		}
		return ""
	})
	t.Logf("a new version was shared, and the oldest unshared, %v after it was published (poll %v)", time.Since(published).Round(time.Millisecond), poll)
	o := waitReady(t, namespacedSharing, "default", "golden-base")
	var obs struct {
		Images []struct {
			ImageID string `json:"imageId"`
		} `json:"images"`
	}
	if err := json.Unmarshal(o.Status.AtProvider, &obs); err != nil || len(obs.Images) != 2 || obs.Images[0].ImageID != "m-golden03" || obs.Images[1].ImageID != "m-golden02" {
		t.Errorf("status.atProvider.images = %s (%v): want m-golden03 then m-golden02", o.Status.AtProvider, err)
	}

	kubectl(t, "", "delete", namespacedSharing, "golden-base", "-n", "default", "--timeout=60s")
	kubectl(t, "", "delete", clusterSharing, "demo-sharing-cluster", "--timeout=60s")
	for _, c := range []struct{ region, image string }{{"cn-hangzhou", "m-golden03"}, {"cn-hangzhou", "m-golden02"}, {"cn-shanghai", "m-demo0004"}} {
		if got := sharedWith(t, c.region, c.image); slices.Contains(got, partner) {
			t.Errorf("after the delete, %s is still shared with %s: %v", c.image, partner, got)
		}
	}

	// An ImageSharePermission of the same share holds it: deleting the
	// ImageSharing leaves it shared.
	kubectl(t, share(true, "sharing-held", "m-demo0002", partner, ""), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "sharing-held")
	kubectl(t, "", "delete", namespacedSharing, "demo-sharing", "-n", "default", "--timeout=60s")
	if got := sharedWith(t, "cn-hangzhou", "m-demo0002"); !slices.Contains(got, partner) {
		t.Errorf("deleting the ImageSharing unshared m-demo0002 from %s, whose share the ImageSharePermission sharing-held manages: %v", partner, got)
	}
	kubectl(t, "", "delete", namespacedISP, "sharing-held", "-n", "default", "--timeout=60s")
}
