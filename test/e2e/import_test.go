package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// The shares the import scenario takes over: those the Terraform state
// fixture of internal/importer/terraform holds, and one image read from
// ECS. The world holds them as Terraform and a console made them.
var importedImages = []ecssim.Image{
	{ID: "m-tfroot001", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{partner}},
	{ID: "m-tfcount01", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{partner, otherPartner}},
	{ID: "m-tfgold001", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{partner, otherPartner}},
	{ID: "m-tfsh00001", Region: "cn-shanghai", Owner: owner, SharedWith: []string{partner}},
	{ID: "m-ecsimp001", Region: "cn-hangzhou", Owner: owner, SharedWith: []string{partner, otherPartner}},
}

// ecsShares runs the import command, built from cmd/ecs-shares, and
// returns what it said on standard error.
func ecsShares(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ecsSharesBin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ecs-shares %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stderr.String()
}

// testImportCommand: the shares a console and Terraform made are written
// as objects by the import command, from ECS and from the Terraform state;
// applied as written, every object is Ready and has taken its share over,
// with no ModifyImageSharePermission call and nothing in ECS changed; and
// the command says how to make Terraform forget them.
func testImportCommand(t *testing.T) {
	var ids []string
	before := map[string][]string{}
	for _, im := range importedImages {
		ids = append(ids, im.ID)
		before[im.ID] = sharedWith(t, im.Region, im.ID)
	}
	writes := func() uint64 {
		return sim.CallsBy(func(ecssim.Call) string { return "" }, func(c ecssim.Call) bool {
			return c.Action == "ModifyImageSharePermission" && slices.Contains(ids, c.Image)
		})[""]
	}

	fromECS, fromTF := t.TempDir(), t.TempDir()
	said := ecsShares(t, "import", "ecs", "--kubeconfig", cp.Kubeconfig, "--region", "cn-hangzhou", "--image", "m-ecsimp001",
		"--kind", "ImageSharing", "--namespace", "default", "--output-dir", fromECS)
	if !strings.Contains(said, "2 shares as 1 ImageSharing objects") {
		t.Errorf("import ecs says:\n%s", said)
	}
	said = ecsShares(t, "import", "terraform", filepath.Join(root, "internal", "importer", "terraform", "testdata", "state-v4.json"),
		"--region", "cn-hangzhou", "--region-for-alias", "shanghai=cn-shanghai", "--namespace", "default", "--output-dir", fromTF)
	for _, want := range []string{"6 shares as 6 ImageSharePermission objects", "taken to be in cn-hangzhou (--region)", "removed.tf"} {
		if !strings.Contains(said, want) {
			t.Errorf("import terraform does not say %q:\n%s", want, said)
		}
	}
	// As docs/migration.md has it: create, which refuses to replace an object.
	kubectl(t, "", "create", "-f", fromECS, "-f", fromTF)

	waitReady(t, namespacedSharing, "default", "m-ecsimp001")
	for _, name := range []string{
		"m-tfroot001-" + partner, "m-tfcount01-" + partner, "m-tfcount01-" + otherPartner,
		"m-tfgold001-" + partner, "m-tfgold001-" + otherPartner, "m-tfsh00001-" + partner,
	} {
		waitReady(t, namespacedISP, "default", name)
	}
	// A poll more, for any write that would follow a first observation.
	time.Sleep(poll + time.Second)
	if n := writes(); n != 0 {
		t.Errorf("taking the shares over made %d ModifyImageSharePermission calls, want none", n)
	}
	for _, im := range importedImages {
		if got := sharedWith(t, im.Region, im.ID); !slices.Equal(got, before[im.ID]) {
			t.Errorf("%s is shared with %v, was %v", im.ID, got, before[im.ID])
		}
	}

	stateRm, err := os.ReadFile(filepath.Join(fromTF, "terraform-state-rm.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `'module.golden["base"].alicloud_image_share_permission.this["` + otherPartner + `"]'`; !strings.Contains(string(stateRm), want) {
		t.Errorf("terraform-state-rm.sh lacks %s:\n%s", want, stateRm)
	}
	removed, err := os.ReadFile(filepath.Join(fromTF, "removed.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "from = module.golden.alicloud_image_share_permission.this"; !strings.Contains(string(removed), want) {
		t.Errorf("removed.tf lacks %s:\n%s", want, removed)
	}
}
