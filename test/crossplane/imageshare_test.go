package crossplane

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xpworld"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

const (
	// mrs are the namespaced ImageSharings the function composes, one.
	mrs = "imagesharings.ecs.alibabacloud.m.crossplane.io"
	// xrs are the example's composite resources.
	xrs = "imageshares.platform.example.org"
	// added is an account of the simulator's demo tenant the example does
	// not share with.
	added = "9999999999999999"
	// upgradeVersion is the provider package's second release.
	upgradeVersion = "v0.1.1"
	// settle is how long the GC-dependent waits may take: the garbage
	// collector learns of new kinds at its next discovery, every 30 s.
	settle = 90 * time.Second
)

// example is examples/composition/imageshare.yaml, applied as it is.
type example struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Region     string   `json:"region"`
		ImageID    string   `json:"imageId"`
		AccountIDs []string `json:"accountIds"`
	} `json:"spec"`
}

// TestImageShare is the composition example's life through Crossplane, one
// step after another: installed, composed, an account added, one dropped,
// the provider upgraded, the ImageShare deleted. At each step Kubernetes
// and ECS (the simulator) must agree with the ImageShare's accounts.
func TestImageShare(t *testing.T) {
	dir := filepath.Join(world.Root, "examples", "composition")
	var ex example
	b, err := os.ReadFile(filepath.Join(dir, "imageshare.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	if len(distinct(ex.Spec.AccountIDs)) == len(ex.Spec.AccountIDs) || slices.Contains(ex.Spec.AccountIDs, added) {
		t.Fatalf("imageshare.yaml's accounts %v should repeat one and not hold %s: the steps below count on both", ex.Spec.AccountIDs, added)
	}
	accounts := ex.Spec.AccountIDs

	step(t, "1 Crossplane installed and activated the packages", func(t *testing.T) {
		provider, _ := get(t, "provider.pkg.crossplane.io", world.Provider)
		if want := world.Repository + ":" + xpworld.FirstVersion; provider.Status.CurrentIdentifier != want {
			t.Errorf("Provider %s runs %q, want %q", world.Provider, provider.Status.CurrentIdentifier, want)
		}
		for _, o := range []string{"provider.pkg.crossplane.io/" + world.Provider, "function.pkg.crossplane.io/" + world.Function} {
			got, _ := get(t, o)
			for _, c := range []string{"Installed", "Healthy"} {
				if got.condition(c).Status != "True" {
					t.Errorf("%s: %s=%s %s", o, c, got.condition(c).Status, got.condition(c).Message)
				}
			}
		}
		for _, crd := range xpworld.CRDs {
			mrd, ok := get(t, "managedresourcedefinitions", crd)
			if !ok || mrd.Spec.State != "Active" || mrd.condition("Established").Status != "True" {
				t.Errorf("ManagedResourceDefinition %s: exists=%v state=%q Established=%s, want Active and True", crd, ok, mrd.Spec.State, mrd.condition("Established").Status)
			}
		}
		checkCRDOwners(t, provider.Status.CurrentRevision)
		// Each package is in the registry as `make publish` pushes it: one
		// image index with an image per platform.
		fn, err := xpworld.PackageOf(world.FunctionsYAML(), "Function")
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{world.Repository + ":" + xpworld.FirstVersion, fn} {
			platforms, err := world.Platforms(t.Context(), strings.TrimPrefix(ref, xpworld.Registry))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, sorted(platforms)); diff != "" {
				t.Errorf("the registry's %s (-want +got platforms):\n%s", ref, diff)
			}
		}
	})

	step(t, "2 the composition README, run as written, composes one ImageSharing of the distinct accounts", func(t *testing.T) {
		// Its commands install the provider and the function again (the
		// same manifests Start applied: nothing changes), define
		// ImageShare, compose the example and wait until it is Ready.
		runReadme(t, filepath.Join(dir, "README.md"), "On a cluster")
		converged(t, ex, accounts)
	})

	step(t, "3 an added account is shared", func(t *testing.T) {
		accounts = append(slices.Clone(accounts), added)
		setAccounts(t, ex, accounts)
		converged(t, ex, accounts)
	})

	step(t, "4 a dropped account is unshared", func(t *testing.T) {
		dropped := accounts[1]
		accounts = slices.DeleteFunc(slices.Clone(accounts), func(a string) bool { return a == dropped })
		setAccounts(t, ex, accounts)
		converged(t, ex, accounts)
	})

	step(t, "5 a provider upgrade keeps every share Ready without a Modify call", func(t *testing.T) {
		testUpgrade(t, ex, accounts)
	})

	step(t, "6 deleting the ImageShare unshares every account", func(t *testing.T) {
		kubectl(t, "", "delete", xrs, ex.Metadata.Name, "-n", ex.Metadata.Namespace, "--wait=false")
		// The XR goes first; the garbage collector then deletes its
		// composed resources, and the provider each share.
		converged(t, ex, nil)
	})
}

// checkCRDOwners checks that Crossplane made our CRDs: each is owned by its
// ManagedResourceDefinition and controlled by the provider's revision.
func checkCRDOwners(t *testing.T, revision string) {
	t.Helper()
	for _, name := range xpworld.CRDs {
		crd, _ := get(t, "crd", name)
		var owners []string
		mrd, controller := false, ""
		for _, o := range crd.Metadata.OwnerReferences {
			owners = append(owners, o.Kind+"/"+o.Name)
			mrd = mrd || o.Kind == "ManagedResourceDefinition" && o.Name == name
			if o.Controller {
				controller = o.Kind + "/" + o.Name
			}
		}
		if want := "ProviderRevision/" + revision; !mrd || controller != want {
			t.Errorf("CRD %s is owned by %v (controller %q), want its ManagedResourceDefinition and controller %s", name, owners, controller, want)
		}
	}
}

// setAccounts changes the ImageShare's accounts, as its owner would.
func setAccounts(t *testing.T, ex example, accounts []string) {
	t.Helper()
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"accountIds": accounts}})
	if err != nil {
		t.Fatal(err)
	}
	kubectl(t, "", "patch", xrs, ex.Metadata.Name, "-n", ex.Metadata.Namespace, "--type=merge", "-p", string(patch))
}

// converged waits until Kubernetes and ECS agree with accounts: exactly one
// Ready ImageSharing of the distinct accounts (nothing else in the
// namespace, nothing left deleting), exactly those accounts shared in ECS,
// and the ImageShare Ready with its status counting them. With no accounts,
// the ImageShare must be gone, and its ImageSharing and every share with it.
func converged(t *testing.T, ex example, accounts []string) {
	t.Helper()
	want := sorted(distinct(accounts))
	ns := ex.Metadata.Namespace
	eventually(t, settle, func() string {
		shared, err := sim.SharedWith(ex.Spec.Region, ex.Spec.ImageID)
		if err != nil {
			t.Fatal(err)
		}
		if got := sorted(shared); !slices.Equal(got, want) {
			return fmt.Sprintf("ECS shares %s in %s with %v, want %v", ex.Spec.ImageID, ex.Spec.Region, got, want)
		}
		var got []string
		sharings := list(t, mrs, "-n", ns)
		if len(sharings) > 1 {
			t.Fatalf("%d ImageSharings in %s, want one", len(sharings), ns)
		}
		for _, mr := range sharings {
			fp := mr.Spec.ForProvider
			if mr.Metadata.DeletionTimestamp != "" {
				return mr.String() + " is still there"
			}
			if owner := mr.Metadata.Labels["crossplane.io/composite"]; owner != ex.Metadata.Name {
				t.Fatalf("%s in %s was composed by %q, not the ImageShare %s", mr, ns, owner, ex.Metadata.Name)
			}
			if fp.Region != ex.Spec.Region || fp.ImageID != ex.Spec.ImageID {
				t.Fatalf("%s shares %s in %s, want %s in %s", mr, fp.ImageID, fp.Region, ex.Spec.ImageID, ex.Spec.Region)
			}
			if r, s := mr.condition("Ready"), mr.condition("Synced"); r.Status != "True" || s.Status != "True" {
				return fmt.Sprintf("%s (accounts %v): Ready=%s Synced=%s %s", mr, fp.Accounts, r.Status, s.Status, s.Message)
			}
			got = fp.Accounts
		}
		if got = sorted(got); !slices.Equal(got, want) {
			return fmt.Sprintf("the ImageSharing in %s shares with %v, want %v", ns, got, want)
		}
		xr, ok := get(t, xrs, ex.Metadata.Name, "-n", ns)
		switch {
		case len(accounts) == 0 && ok:
			return xr.String() + " is still there"
		case len(accounts) == 0:
			return ""
		case !ok:
			t.Fatalf("the ImageShare %s/%s is gone", ns, ex.Metadata.Name)
		}
		if r := xr.condition("Ready"); r.Status != "True" {
			return fmt.Sprintf("ImageShare %s: Ready=%s %s %s", xr.Metadata.Name, r.Status, r.Reason, r.Message)
		}
		if n := xr.Status.Accounts; n == nil || *n != len(want) {
			return fmt.Sprintf("ImageShare %s: status.accounts=%v, want %d", xr.Metadata.Name, n, len(want))
		}
		if got := sorted(xr.Status.SharedWith); !slices.Equal(got, want) {
			return fmt.Sprintf("ImageShare %s: status.sharedWith=%v, want %v", xr.Metadata.Name, got, want)
		}
		return ""
	})
}

// testUpgrade publishes a second release of the provider's package and
// upgrades the Provider to it. Crossplane must make a new revision active
// (the package runtime then replaces the provider's process) and hand it
// the CRDs, while every share stays Ready and ECS sees no Modify call: the
// new process only observes what the old one made.
func testUpgrade(t *testing.T, ex example, accounts []string) {
	before := list(t, mrs, "-n", ex.Metadata.Namespace)
	modifies := sim.Calls("ModifyImageSharePermission")
	old := world.Process(world.Provider)
	if old == nil {
		t.Fatal("no process runs the provider")
	}
	if err := world.PushProvider(t.Context(), upgradeVersion); err != nil {
		t.Fatal(err)
	}
	if err := world.ApplyProvider(t.Context(), upgradeVersion); err != nil {
		t.Fatal(err)
	}
	want := world.Repository + ":" + upgradeVersion
	var provider object
	eventually(t, 2*time.Minute, func() string {
		// Throughout: the ImageSharing Ready, the ImageShare too.
		mrs := list(t, mrs, "-n", ex.Metadata.Namespace)
		if len(mrs) != len(before) {
			t.Fatalf("%d ImageSharings during the upgrade, %d before", len(mrs), len(before))
		}
		for _, mr := range mrs {
			if r := mr.condition("Ready"); r.Status != "True" {
				t.Fatalf("%s left Ready during the upgrade: %s %s", mr, r.Reason, r.Message)
			}
		}
		if xr, _ := get(t, xrs, ex.Metadata.Name, "-n", ex.Metadata.Namespace); xr.condition("Ready").Status != "True" {
			t.Fatalf("ImageShare %s left Ready during the upgrade: %s", ex.Metadata.Name, xr.condition("Ready").Message)
		}

		provider, _ = get(t, "provider.pkg.crossplane.io", world.Provider)
		if provider.Status.CurrentIdentifier != want || provider.condition("Healthy").Status != "True" {
			return fmt.Sprintf("Provider %s: runs %q, Healthy=%s %s; want %s", world.Provider, provider.Status.CurrentIdentifier,
				provider.condition("Healthy").Status, provider.condition("Healthy").Message, want)
		}
		p := world.Process(world.Provider)
		if p == nil || p.Pid() == old.Pid() {
			return fmt.Sprintf("the provider's process (pid %d) has not been replaced", old.Pid())
		}
		// The new process has listed the image's shares twice: it has
		// observed every share, and acted on what it saw, at least once.
		if n := describesBy(p.Pid()); n < 2 {
			return fmt.Sprintf("the new provider process (pid %d) made %d DescribeImageSharePermission calls, want 2", p.Pid(), n)
		}
		return ""
	})
	if n := sim.Calls("ModifyImageSharePermission") - modifies; n != 0 {
		t.Errorf("%d ModifyImageSharePermission calls during the upgrade, want none", n)
	}
	for _, rev := range list(t, "providerrevisions.pkg.crossplane.io", "-l", "pkg.crossplane.io/package="+world.Provider) {
		active := rev.Metadata.Name == provider.Status.CurrentRevision
		if state := rev.Spec.DesiredState; (state == "Active") != active {
			t.Errorf("ProviderRevision %s is %s, current revision %s", rev.Metadata.Name, state, provider.Status.CurrentRevision)
		}
	}
	checkCRDOwners(t, provider.Status.CurrentRevision)
	converged(t, ex, accounts)
}

// describesBy counts the DescribeImageSharePermission calls the provider
// process pid made: the provider names its pid in its User-Agent.
func describesBy(pid int) uint64 {
	mark := fmt.Sprintf("(pid %d)", pid)
	calls := sim.CallsBy(func(c ecssim.Call) string { return c.UserAgent }, func(c ecssim.Call) bool {
		return c.Action == "DescribeImageSharePermission" && c.Outcome == "Success"
	})
	var n uint64
	for ua, c := range calls {
		if strings.Contains(ua, mark) {
			n += c
		}
	}
	return n
}

// distinct is ids without repeats, as the function composes them.
func distinct(ids []string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
