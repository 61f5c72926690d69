package terraform

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	partner = "2222222222222222"
	other   = "3333333333333333"
)

func TestRead(t *testing.T) {
	cases := []struct {
		reason      string
		file        string
		input       string
		want        []Instance
		wantRefused []Refusal
		wantErr     string
	}{
		{
			reason: "A state file as the alicloud provider writes it: a root instance, count and for_each keys, a module instance, an aliased provider; data sources and other types are left out.",
			file:   "testdata/state-v4.json",
			want: []Instance{
				{Address: "alicloud_image_share_permission.partner", Resource: "alicloud_image_share_permission.partner", ImageID: "m-tfroot001", AccountID: partner},
				{Address: "alicloud_image_share_permission.counted[0]", Resource: "alicloud_image_share_permission.counted", ImageID: "m-tfcount01", AccountID: partner},
				{Address: "alicloud_image_share_permission.counted[1]", Resource: "alicloud_image_share_permission.counted", ImageID: "m-tfcount01", AccountID: other},
				{Address: `module.golden["base"].alicloud_image_share_permission.this["` + partner + `"]`, Resource: "module.golden.alicloud_image_share_permission.this", ImageID: "m-tfgold001", AccountID: partner},
				{Address: `module.golden["base"].alicloud_image_share_permission.this["` + other + `"]`, Resource: "module.golden.alicloud_image_share_permission.this", ImageID: "m-tfgold001", AccountID: other},
				{Address: "alicloud_image_share_permission.shanghai", Resource: "alicloud_image_share_permission.shanghai", ProviderAlias: "shanghai", ImageID: "m-tfsh00001", AccountID: partner},
			},
		},
		{
			reason: "What cannot be mapped is refused, each instance with its reason, and what can is still read.",
			file:   "testdata/refused-v4.json",
			want: []Instance{
				{Address: "alicloud_image_share_permission.fine", Resource: "alicloud_image_share_permission.fine", ImageID: "m-tfroot001", AccountID: partner},
			},
			wantRefused: []Refusal{
				{Address: "alicloud_image_share_permission.tainted", Reason: "tainted: Terraform will replace it; run terraform untaint on it, or terraform apply, first"},
				{Address: "alicloud_image_share_permission.replaced", Reason: "a deposed object (left by create_before_destroy), which Terraform will destroy: run terraform apply to settle it first"},
				{Address: "alicloud_image_share_permission.odd", Reason: `id "m-tfroot001" is not <image_id>:<account_id>`},
				{Address: "alicloud_image_share_permission.mismatch", Reason: `id "m-tfroot001:` + partner + `" disagrees with image_id "m-tfroot001" and account_id "` + other + `"`},
				{Address: "alicloud_image_share_permission.keyed", Reason: `index_key {"a":1} is neither a number nor a string`},
			},
		},
		{
			reason: "terraform show -json output: nested modules are walked, addresses taken as printed; tainted is refused.",
			file:   "testdata/show.json",
			want: []Instance{
				{Address: "alicloud_image_share_permission.partner", Resource: "alicloud_image_share_permission.partner", ImageID: "m-tfroot001", AccountID: partner},
				{Address: "alicloud_image_share_permission.counted[0]", Resource: "alicloud_image_share_permission.counted", ImageID: "m-tfcount01", AccountID: partner},
				{Address: `module.golden["base"].alicloud_image_share_permission.this["` + partner + `"]`, Resource: "module.golden.alicloud_image_share_permission.this", ImageID: "m-tfgold001", AccountID: partner},
				{Address: `module.golden["base"].module.inner.alicloud_image_share_permission.x`, Resource: "module.golden.module.inner.alicloud_image_share_permission.x", ImageID: "m-tfgold001", AccountID: other},
			},
			wantRefused: []Refusal{
				{Address: `module.golden["base"].module.inner.alicloud_image_share_permission.y`, Reason: "tainted: Terraform will replace it; run terraform untaint on it, or terraform apply, first"},
			},
		},
		{
			reason:  "An old state format is refused with what to do.",
			input:   `{"version": 3, "modules": []}`,
			wantErr: "state format version 3: only version 4",
		},
		{
			reason:  "A plan's show -json output has no values.",
			input:   `{"format_version": "1.2", "planned_values": {}}`,
			wantErr: "the state is empty, or this is the output for a plan",
		},
		{
			reason:  "Modules nested past the bound are refused, not left out.",
			input:   `{"format_version": "1.0", "values": {"root_module": ` + strings.Repeat(`{"child_modules": [`, 66) + `{}` + strings.Repeat(`]}`, 66) + `}}`,
			wantErr: "modules nest more than 64 deep",
		},
		{
			reason:  "A future show -json format is refused.",
			input:   `{"format_version": "2.0", "values": {"root_module": {}}}`,
			wantErr: "format version 2.0: only 1.x",
		},
		{
			reason:  "Something else is neither.",
			input:   `{"resources": []}`,
			wantErr: "neither a state file",
		},
		{
			reason:  "Not JSON says what to give.",
			input:   `resource "alicloud_image_share_permission" "x" {}`,
			wantErr: "terraform state pull",
		},
		{
			reason: "An escaped quote in a for_each key does not confuse the resource address.",
			input: `{"version": 4, "resources": [{"module": "module.m[\"a]\\\"b\"]", "mode": "managed", "type": "alicloud_image_share_permission", "name": "n", "provider": "provider[\"registry.terraform.io/aliyun/alicloud\"]",
				"instances": [{"index_key": "k]\"", "attributes": {"id": "m-x1:1", "image_id": "m-x1", "account_id": "1"}}]}]}`,
			want: []Instance{{Address: `module.m["a]\"b"].alicloud_image_share_permission.n["k]\""]`, Resource: "module.m.alicloud_image_share_permission.n", ImageID: "m-x1", AccountID: "1"}},
		},
	}
	for _, tc := range cases {
		input := tc.input
		if tc.file != "" {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			input = string(b)
		}
		got, refused, err := Read(strings.NewReader(input))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s\nerror = %v, want one saying %q", tc.reason, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s\nRead: %v", tc.reason, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s\ninstances: -want, +got:\n%s", tc.reason, diff)
		}
		if diff := cmp.Diff(tc.wantRefused, refused, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s\nrefused: -want, +got:\n%s", tc.reason, diff)
		}
	}
}

func TestForgetting(t *testing.T) {
	instances := []Instance{
		{Address: "alicloud_image_share_permission.counted[0]", Resource: "alicloud_image_share_permission.counted"},
		{Address: "alicloud_image_share_permission.counted[1]", Resource: "alicloud_image_share_permission.counted"},
		{Address: `module.golden["it's"].alicloud_image_share_permission.this["1"]`, Resource: "module.golden.alicloud_image_share_permission.this"},
	}
	wantRm := `terraform state rm \
  'alicloud_image_share_permission.counted[0]' \
  'alicloud_image_share_permission.counted[1]' \
  'module.golden["it'\''s"].alicloud_image_share_permission.this["1"]'
`
	if diff := cmp.Diff(wantRm, StateRm(instances)); diff != "" {
		t.Errorf("state rm names every instance, each quoted for the shell: -want, +got:\n%s", diff)
	}
	wantRemoved := `removed {
  from = alicloud_image_share_permission.counted

  lifecycle {
    destroy = false
  }
}

removed {
  from = module.golden.alicloud_image_share_permission.this

  lifecycle {
    destroy = false
  }
}
`
	if diff := cmp.Diff(wantRemoved, RemovedBlocks(instances)); diff != "" {
		t.Errorf("one removed block per resource, without instance keys, never destroying: -want, +got:\n%s", diff)
	}
}

func TestReadIsBounded(t *testing.T) {
	defer func(was int64) { maxState = was }(maxState)
	maxState = 1 << 10
	_, _, err := Read(strings.NewReader(`{"version": 4, "resources": [` + strings.Repeat(" ", int(maxState)) + `]}`))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a state past %d bytes: error = %v, want one saying it is too large", maxState, err)
	}
}
