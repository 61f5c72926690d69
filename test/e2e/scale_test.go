package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// The scale tenant: an owner of its own, so that its calls are told apart
// from the other scenarios' by AccessKey, and its rate limit is its own.
const (
	scaleOwner     = "5100000000000001"
	scaleKey       = "LTAIscaleOwnerKey001"
	scaleSecret    = "scaleOwnerSecret"
	scaleNamespace = "scale-a"
	scaleRegion    = "cn-hangzhou"
	// scaleAccounts share each scale image; with two images that is 100
	// resources, each image holding ECS's default quota of 50.
	scaleAccounts = 50

	// A second tenant: another account whose key reads the same image ids,
	// from a ProviderConfig of the same name in another namespace.
	otherTenant          = "5200000000000001"
	otherTenantKey       = "LTAIscaleOtherKey001"
	otherTenantSecret    = "scaleOtherSecret"
	otherTenantNamespace = "scale-b"

	// unmanaged is shared out of band; no resource names it.
	unmanaged = "6999999999999999"

	// accountsPerModify is how many AddAccount.N (and RemoveAccount.N) one
	// ModifyImageSharePermission call carries.
	accountsPerModify = 10

	describeAction = "DescribeImageSharePermission"
	modifyAction   = "ModifyImageSharePermission"
)

var scaleImages = []string{"m-scale0001", "m-scale0002"}

func scaleAccount(i int) string { return fmt.Sprintf("6%015d", i) }

// TestScale shares two images with 50 accounts each, as one manifest of
// 100 namespaced ImageSharePermissions, and judges the provider by what it
// spends in ECS calls: converging, at rest, under drift and deleting, with
// a second tenant reading the same image id through its own key.
func TestScale(t *testing.T) {
	if err := sim.AddAccount(ecssim.Account{ID: scaleOwner, AccessKeys: []ecssim.AccessKey{{ID: scaleKey, Secret: scaleSecret}}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddAccount(ecssim.Account{ID: otherTenant, AccessKeys: []ecssim.AccessKey{{ID: otherTenantKey, Secret: otherTenantSecret}}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range scaleImages {
		// Room past the 50 managed shares for the unmanaged one.
		if err := sim.PutImage(ecssim.Image{ID: id, Region: scaleRegion, Owner: scaleOwner, MaxShares: scaleAccounts + 10}); err != nil {
			t.Fatal(err)
		}
	}
	// Each account gets a bucket below what the provider starts pacing one
	// key at (20 Describe/s plus 10 Modify/s), so a provider spending calls
	// one resource at a time would be throttled and the counts would show
	// it; the coalesced provider needs a few calls a second.
	before := sim.Faults()
	limited := before
	limited.RateLimits.PerAccount = &ecssim.Rate{PerSecond: 20, Burst: 20}
	if err := sim.SetFaults(limited); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.SetFaults(before); err != nil {
			t.Error(err)
		}
		for _, ns := range []string{scaleNamespace, otherTenantNamespace} {
			_, _ = kubectlErr("", "delete", "namespace", ns, "--wait=false", "--ignore-not-found")
		}
	})

	kubectl(t, tenant(scaleNamespace, scaleKey, scaleSecret), "apply", "-f", "-")
	var manifest strings.Builder
	var want int
	for _, image := range scaleImages {
		for i := range scaleAccounts {
			manifest.WriteString(scaleShare(scaleNamespace, image, scaleAccount(i)))
			want++
		}
	}
	minModify := len(scaleImages) * ceilDiv(scaleAccounts, accountsPerModify)

	// 1. Converging.
	p := startPhase()
	kubectl(t, manifest.String(), "apply", "-f", "-")
	t.Logf("kubectl apply of %d resources took %v", want, time.Since(p.begin).Round(time.Millisecond))
	eventually(t, 5*time.Minute, func() string {
		items := list(t, namespacedISP, scaleNamespace)
		ready := 0
		for _, o := range items {
			if o.condition("Ready").Status == "True" && o.condition("Synced").Status == "True" {
				ready++
			}
		}
		if ready < want {
			return fmt.Sprintf("%d of %d ready", ready, want)
		}
		return ""
	})
	converged := time.Now()
	got := p.end(t, "converging")
	wantShares := make([]string, scaleAccounts)
	for i := range wantShares {
		wantShares[i] = scaleAccount(i)
	}
	for _, image := range scaleImages {
		if shares := sharedWith(t, scaleRegion, image); !sameSet(shares, wantShares) {
			t.Errorf("%s is shared with %d accounts, want the %d managed ones: %v", image, len(shares), scaleAccounts, shares)
		}
	}
	checkBatched(t, "converging", got, minModify)
	if n, bound := got.action(describeAction), p.readsBound(got); n > bound {
		t.Errorf("converging made %d %s calls in %v, want at most %d (1 per image per poll %v, +1 per image, +1 per failed call)",
			n, describeAction, p.took.Round(time.Millisecond), bound, poll)
	}
	if n := got.throttled(""); n > uint64(len(scaleImages)) {
		t.Errorf("converging was throttled %d times, want at most %d (one per image before its pace adapts)", n, len(scaleImages))
	}

	// 2. At rest: every resource polls; the listings answer for them.
	p = startPhase()
	time.Sleep(2*poll + time.Second)
	got = p.end(t, "at rest")
	if n := got.action(modifyAction); n != 0 {
		t.Errorf("at rest the provider made %d %s calls, want none", n, modifyAction)
	}
	if n, bound := got.action(describeAction), p.readsBound(got); n > bound {
		t.Errorf("at rest the provider made %d %s calls in %v, want at most %d (1 per image per poll %v, +1 per image, +1 per failed call)",
			n, describeAction, p.took.Round(time.Millisecond), bound, poll)
	}
	if n := got.throttled(""); n != 0 {
		t.Errorf("at rest the provider was throttled %d times", n)
	}

	// 3. Another tenant, the same image id.
	testTenantSeparation(t)

	// 4. Drift. Within the creation grace period the provider reads a
	// missing share as ECS lagging, so drift is made after it.
	time.Sleep(time.Until(converged.Add(creationGracePeriod)))
	p = startPhase()
	drifted, extra := scaleImages[0], scaleImages[1]
	if err := sim.Share(scaleRegion, drifted, false, scaleAccount(7)); err != nil {
		t.Fatal(err)
	}
	if err := sim.Share(scaleRegion, extra, true, unmanaged); err != nil {
		t.Fatal(err)
	}
	removed := time.Now()
	// The image's listing may have been read just before the share went,
	// and answers for a poll (the freshness); the resource polls within a
	// poll +10% jitter after that, then joins a batch: 2.1 polls, and a
	// margin for the reconcile itself.
	eventually(t, 2*poll+5*time.Second, func() string {
		if !slices.Contains(sharedWith(t, scaleRegion, drifted), scaleAccount(7)) {
			return "the share was not restored"
		}
		return ""
	})
	repaired := time.Since(removed)
	// Every resource of the image with the extra share reads a listing that
	// holds it within two polls.
	time.Sleep(2*poll + time.Second)
	got = p.end(t, "drift")
	t.Logf("drift repaired %v after the share was removed (poll %v)", repaired.Round(time.Millisecond), poll)
	if !slices.Contains(sharedWith(t, scaleRegion, extra), unmanaged) {
		t.Errorf("the provider removed %s's share of %s, which no resource manages", unmanaged, extra)
	}
	if n := got.action(modifyAction); n != 1 {
		t.Errorf("repairing one share made %d %s calls, want 1", n, modifyAction)
	}

	// 5. Delete all at once, as one kubectl command. The repaired share is
	// new, within its creation grace period: gone by its own unshare, its
	// object goes as soon as the others.
	p = startPhase()
	kubectl(t, "", "delete", namespacedISP, "--all", "-n", scaleNamespace, "--wait=false")
	eventually(t, 5*time.Minute, func() string {
		if n := len(list(t, namespacedISP, scaleNamespace)); n > 0 {
			return fmt.Sprintf("%d of %d left", n, want)
		}
		return ""
	})
	got = p.end(t, "deleting")
	if shares := sharedWith(t, scaleRegion, drifted); len(shares) != 0 {
		t.Errorf("after deleting every resource %s is still shared with %v", drifted, shares)
	}
	if shares := sharedWith(t, scaleRegion, extra); !slices.Equal(shares, []string{unmanaged}) {
		t.Errorf("after deleting every resource %s is shared with %v, want only the unmanaged %s", extra, shares, unmanaged)
	}
	checkBatched(t, "deleting", got, minModify)
}

// checkBatched bounds a phase's Modify calls: batches of ten need
// minModify; 20% more, and one more per image for a batch its window
// sealed before it filled, as where an image's flow of shares starts or
// pauses; each throttled call is tried again. One call per resource would
// be 100.
func checkBatched(t *testing.T, phase string, got calls, minModify int) {
	t.Helper()
	if n, bound := got.action(modifyAction), uint64(minModify*12/10+len(scaleImages))+got.throttled(modifyAction); n > bound {
		t.Errorf("%s made %d %s calls, want at most %d (%d batches of %d, +20%%, +1 per image, +1 per throttled call)",
			phase, n, modifyAction, bound, minModify, accountsPerModify)
	}
}

// testTenantSeparation reads an image another tenant owns, by the same id,
// through a key that cannot see it: ECS says it is not there, whatever the
// owner's fresh listing in the provider holds. The account asked for is
// one that listing shares with, so a listing served across tenants would
// show as Ready.
func testTenantSeparation(t *testing.T) {
	image := scaleImages[0]
	describes := func() map[string]uint64 {
		return sim.CallsBy(func(c ecssim.Call) string { return c.AccessKeyID + " " + c.Outcome }, func(c ecssim.Call) bool {
			return c.Action == describeAction && c.Region == scaleRegion && c.Image == image
		})
	}
	before, begin := describes(), time.Now()
	kubectl(t, tenant(otherTenantNamespace, otherTenantKey, otherTenantSecret)+scaleShare(otherTenantNamespace, image, scaleAccount(0)), "apply", "-f", "-")
	name := shareName(image, scaleAccount(0))
	waitSyncedFalse(t, namespacedISP, otherTenantNamespace, name, ecssim.CodeImageNotFound)
	// The refusal of the resource's first share shows when ECS gives it.
	// Queued before the tenant's identity check moved its calls to its
	// account's budget, it once went unseen, and the error showed only when
	// the share was made again after the creation grace period.
	if o, ok := get(t, namespacedISP, otherTenantNamespace, name); ok {
		if shown := o.condition("Synced").LastTransitionTime.Sub(o.Metadata.CreationTimestamp); shown >= gracePeriod {
			t.Errorf("the other tenant's resource showed ECS's refusal %v after it was created, want it before the creation grace period (%v) ended", shown, gracePeriod)
		}
	}
	// The owner's resources poll meanwhile and keep their listing fresh;
	// the other tenant's resource retries and must keep failing.
	time.Sleep(2*poll + time.Second)
	o, ok := get(t, namespacedISP, otherTenantNamespace, name)
	if !ok {
		t.Fatalf("%s/%s is gone", otherTenantNamespace, name)
	}
	if r, s := o.condition("Ready"), o.condition("Synced"); r.Status == "True" || !strings.Contains(s.Message, ecssim.CodeImageNotFound) {
		t.Errorf("the other tenant's resource is Ready=%s, Synced=%s %q; want not ready, failing with %s", r.Status, s.Status, s.Message, ecssim.CodeImageNotFound)
	}
	after := describes()
	got := map[string]uint64{}
	for k, n := range after {
		if d := n - before[k]; d > 0 {
			got[k] = d
		}
	}
	t.Logf("tenant separation: %s calls on %s in %v by AccessKey and outcome: %v",
		describeAction, image, time.Since(begin).Round(time.Millisecond), got)
	if got[scaleKey+" Success"] == 0 {
		t.Errorf("the owner's key read no listing of %s meanwhile: the check would prove nothing", image)
	}
	if got[otherTenantKey+" "+ecssim.CodeImageNotFound] == 0 {
		t.Errorf("the other tenant's key made no %s call of its own on %s", describeAction, image)
	}
	if n := got[otherTenantKey+" Success"]; n > 0 {
		t.Errorf("the other tenant's key read %s %d times with success: it cannot see that image", image, n)
	}
	kubectl(t, "", "delete", namespacedISP, name, "-n", otherTenantNamespace, "--wait=true", "--timeout=90s")
}

// tenant is a namespace with its own credentials, trust of the simulator's
// CA and a ProviderConfig "tenant" using them.
func tenant(ns, key, secret string) string {
	creds, err := json.Marshal(map[string]string{"accessKeyId": key, "accessKeySecret": secret})
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`apiVersion: v1
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
---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ProviderConfig
metadata: {name: tenant, namespace: %[1]s}
spec:
  endpoint: %[5]s
  stsEndpoint: %[5]s
  tls: {caBundleSecretRef: {namespace: %[1]s, name: %[3]s, key: ca.crt}}
  credentials:
    source: Secret
    secretRef: {namespace: %[1]s, name: alibabacloud-credentials, key: credentials}
`, ns, creds, devenv.SimulatorCASecret, sim.CABundle, sim.URL)
}

func shareName(image, account string) string { return image + "-" + account }

// scaleShare is one document of a multi-document manifest: a namespaced
// ImageSharePermission using its namespace's ProviderConfig "tenant".
func scaleShare(ns, image, account string) string {
	return fmt.Sprintf(`---
apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharePermission
metadata: {name: %s, namespace: %s}
spec:
  providerConfigRef: {kind: ProviderConfig, name: tenant}
  forProvider: {region: %s, imageId: %s, accountId: "%s"}
`, shareName(image, account), ns, scaleRegion, image, account)
}

// list reads every object of a resource in a namespace with one kubectl.
func list(t *testing.T, resource, ns string) []object {
	t.Helper()
	out := kubectl(t, "", "get", resource, "-n", ns, "-o", "json")
	var l struct {
		Items []object `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return l.Items
}

// phase is a stretch of the scenario whose ECS calls by the scale tenant
// are counted; the other scenarios' calls are told apart by key and image.
type phase struct {
	begin  time.Time
	took   time.Duration
	before calls
}

// calls are counts by action, outcome and, for a write, how many accounts
// it carried.
type calls map[callKey]uint64

type callKey struct {
	action, outcome string
	accounts        int
}

func scaleCalls() calls {
	by := sim.CallsBy(func(c ecssim.Call) string { return fmt.Sprintf("%s %s %d", c.Action, c.Outcome, c.Accounts) }, func(c ecssim.Call) bool {
		return c.AccessKeyID == scaleKey && c.Region == scaleRegion && slices.Contains(scaleImages, c.Image)
	})
	out := calls{}
	for k, n := range by {
		var key callKey
		if _, err := fmt.Sscanf(k, "%s %s %d", &key.action, &key.outcome, &key.accounts); err != nil {
			panic(fmt.Sprintf("call group %q: %v", k, err))
		}
		out[key] = n
	}
	return out
}

func startPhase() *phase { return &phase{begin: time.Now(), before: scaleCalls()} }

// end returns the phase's calls and logs them with how long it took.
func (p *phase) end(t *testing.T, name string) calls {
	t.Helper()
	p.took = time.Since(p.begin)
	after, got := scaleCalls(), calls{}
	for k, n := range after {
		if d := n - p.before[k]; d > 0 {
			got[k] = d
		}
	}
	t.Logf("%s: %v; ECS calls: %s", name, p.took.Round(time.Millisecond), got)
	return got
}

// readsBound is the most listing reads the phase allows, given its calls:
// a listing answers for the poll (the default freshness) from when its
// read started, and only one read of an image is in flight at a time, so
// reads of an image start at least a poll apart. A failed read keeps
// nothing, and a failed write drops the listing, since what it did is
// unknown: each may cost one more read.
func (p *phase) readsBound(got calls) uint64 {
	return uint64(len(scaleImages))*uint64(p.took/poll+1) + got.failed(describeAction) + got.failed(modifyAction)
}

func (c calls) action(a string) uint64 {
	var n uint64
	for k, v := range c {
		if k.action == a {
			n += v
		}
	}
	return n
}

// failed counts calls of action that did not succeed.
func (c calls) failed(action string) uint64 {
	var ok uint64
	for k, v := range c {
		if k.action == action && k.outcome == "Success" {
			ok += v
		}
	}
	return c.action(action) - ok
}

// throttled counts throttled calls of action, or of every action for "".
func (c calls) throttled(action string) uint64 {
	var n uint64
	for k, v := range c {
		if k.outcome == ecssim.CodeThrottlingUser && (action == "" || k.action == action) {
			n += v
		}
	}
	return n
}

// String gives the counts by action and outcome, and how many accounts the
// successful writes carried: "ModifyImageSharePermission/Success=12 (by
// accounts carried: 10×9 5×2 1×1)".
func (c calls) String() string {
	byOutcome, carried := map[[2]string]uint64{}, map[int]uint64{}
	for k, v := range c {
		byOutcome[[2]string{k.action, k.outcome}] += v
		if k.action == modifyAction && k.outcome == "Success" {
			carried[k.accounts] += v
		}
	}
	keys := slices.SortedFunc(maps.Keys(byOutcome), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		part := fmt.Sprintf("%s/%s=%d", k[0], k[1], byOutcome[k])
		if k == [2]string{modifyAction, "Success"} {
			sizes := slices.Sorted(maps.Keys(carried))
			slices.Reverse(sizes)
			by := make([]string, len(sizes))
			for i, n := range sizes {
				by[i] = fmt.Sprintf("%d×%d", n, carried[n])
			}
			part += " (by accounts carried: " + strings.Join(by, " ") + ")"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
