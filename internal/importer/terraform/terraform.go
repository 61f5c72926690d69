// Package terraform reads the alicloud_image_share_permission instances of
// a Terraform state, as the state file holds them (format version 4) or as
// `terraform show -json` prints them, and says how to make Terraform
// forget them without destroying them. It knows nothing of ECS or of
// Kubernetes.
package terraform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// ResourceType is the Terraform resource this package reads.
const ResourceType = "alicloud_image_share_permission"

// maxState bounds the state read: a state file of shares is kilobytes, and
// one of many other resources a few megabytes. A variable, for its test.
var maxState int64 = 256 << 20

// Instance is one alicloud_image_share_permission instance.
type Instance struct {
	// Address is the instance's full address, as terraform state rm takes
	// it: module.shares["a"].alicloud_image_share_permission.this["b"].
	Address string
	// Resource is its resource's address without instance keys, as a
	// removed block's from takes it: module.shares.alicloud_image_share_permission.this.
	Resource string
	// ProviderAlias is the alias of the provider configuration that manages
	// it, "" for the default one. Only the state file says; show -json
	// does not.
	ProviderAlias string
	ImageID       string
	AccountID     string
}

// Refusal is an instance that cannot be imported, and why.
type Refusal struct {
	Address string
	Reason  string
}

func (r Refusal) String() string { return r.Address + ": " + r.Reason }

// Read reads the instances of a state file (format version 4) or of
// `terraform show -json` output, in the order the state lists them. What it
// cannot map is refused, each instance with its reason; other resource
// types and data sources are not its business and are left out.
func Read(r io.Reader) ([]Instance, []Refusal, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxState+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > maxState {
		return nil, nil, fmt.Errorf("the state is larger than %d MiB", maxState>>20)
	}
	var head struct {
		Version       *int   `json:"version"`
		FormatVersion string `json:"format_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, nil, fmt.Errorf("the state is not JSON: %w; give the state file (terraform state pull > state.json) or the output of terraform show -json", err)
	}
	switch {
	case head.FormatVersion != "":
		return readShow(b, head.FormatVersion)
	case head.Version != nil && *head.Version == 4:
		return readState(b)
	case head.Version != nil:
		return nil, nil, fmt.Errorf("state format version %d: only version 4 (Terraform 0.12 and later) is read; upgrade it with a current Terraform (terraform state pull after terraform init), or give the output of terraform show -json", *head.Version)
	}
	return nil, nil, errors.New("neither a state file (no \"version\") nor terraform show -json output (no \"format_version\")")
}

// stateFile is the part of a version 4 state file that is read.
type stateFile struct {
	Resources []struct {
		Module    string `json:"module"`
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Provider  string `json:"provider"`
		Instances []struct {
			IndexKey   json.RawMessage `json:"index_key"`
			Status     string          `json:"status"`
			Deposed    string          `json:"deposed"`
			Attributes attributes      `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

type attributes struct {
	ID        string `json:"id"`
	ImageID   string `json:"image_id"`
	AccountID string `json:"account_id"`
}

func readState(b []byte) ([]Instance, []Refusal, error) {
	var s stateFile
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil, fmt.Errorf("cannot read the state file: %w", err)
	}
	var out []Instance
	var refused []Refusal
	for _, r := range s.Resources {
		if r.Mode != "managed" || r.Type != ResourceType {
			continue
		}
		resource := join(r.Module, r.Type+"."+r.Name)
		for _, in := range r.Instances {
			key, err := indexKey(in.IndexKey)
			address := join(r.Module, r.Type+"."+r.Name+key)
			if err != nil {
				refused = append(refused, Refusal{address, err.Error()})
				continue
			}
			i := Instance{Address: address, Resource: withoutKeys(resource), ProviderAlias: providerAlias(r.Provider)}
			if why := i.fill(in.Attributes, in.Status == "tainted", in.Deposed); why != "" {
				refused = append(refused, Refusal{address, why})
				continue
			}
			out = append(out, i)
		}
	}
	return out, refused, nil
}

// showOutput is the part of terraform show -json's output that is read.
type showOutput struct {
	Values *struct {
		RootModule module `json:"root_module"`
	} `json:"values"`
}

type module struct {
	Resources []struct {
		Address    string     `json:"address"`
		Mode       string     `json:"mode"`
		Type       string     `json:"type"`
		Tainted    bool       `json:"tainted"`
		DeposedKey string     `json:"deposed_key"`
		Values     attributes `json:"values"`
	} `json:"resources"`
	ChildModules []module `json:"child_modules"`
}

func readShow(b []byte, version string) ([]Instance, []Refusal, error) {
	if major, _, _ := strings.Cut(version, "."); major != "1" {
		return nil, nil, fmt.Errorf("terraform show -json format version %s: only 1.x is read", version)
	}
	var s showOutput
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil, fmt.Errorf("cannot read terraform show -json output: %w", err)
	}
	if s.Values == nil {
		return nil, nil, errors.New("terraform show -json printed no values: the state is empty, or this is the output for a plan; give terraform show -json of the state")
	}
	var out []Instance
	var refused []Refusal
	deep := false
	var walk func(m module, depth int)
	walk = func(m module, depth int) {
		if depth > maxModuleDepth {
			deep = true
			return
		}
		for _, r := range m.Resources {
			if r.Mode != "managed" || r.Type != ResourceType {
				continue
			}
			i := Instance{Address: r.Address, Resource: withoutKeys(r.Address)}
			if why := i.fill(r.Values, r.Tainted, r.DeposedKey); why != "" {
				refused = append(refused, Refusal{r.Address, why})
				continue
			}
			out = append(out, i)
		}
		for _, c := range m.ChildModules {
			walk(c, depth+1)
		}
	}
	walk(s.Values.RootModule, 0)
	if deep {
		return nil, nil, fmt.Errorf("modules nest more than %d deep: not a state this command reads", maxModuleDepth)
	}
	return out, refused, nil
}

// maxModuleDepth bounds how deep modules nest: far past any real
// configuration. (Decoding has recursed as deep already, bounded by the
// state's size; the bound is so that no module is left out unsaid.)
const maxModuleDepth = 64

// fill takes the share from the instance's attributes, or says why it
// cannot.
func (i *Instance) fill(a attributes, tainted bool, deposed string) string {
	switch {
	case deposed != "":
		return "a deposed object (left by create_before_destroy), which Terraform will destroy: run terraform apply to settle it first"
	case tainted:
		return "tainted: Terraform will replace it; run terraform untaint on it, or terraform apply, first"
	}
	image, account, ok := strings.Cut(a.ID, ":")
	if !ok || image == "" || account == "" || strings.Contains(account, ":") {
		return fmt.Sprintf("id %q is not <image_id>:<account_id>", a.ID)
	}
	if (a.ImageID != "" && a.ImageID != image) || (a.AccountID != "" && a.AccountID != account) {
		return fmt.Sprintf("id %q disagrees with image_id %q and account_id %q", a.ID, a.ImageID, a.AccountID)
	}
	i.ImageID, i.AccountID = image, account
	return ""
}

// indexKey is an instance key as an address writes it: [0] for count,
// ["key"] for for_each, nothing without either.
func indexKey(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", fmt.Errorf("index_key is unreadable: %w", err)
	}
	switch v := v.(type) {
	case json.Number:
		return "[" + v.String() + "]", nil
	case string:
		return "[" + strconv.Quote(v) + "]", nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return "", fmt.Errorf("index_key is unreadable: %w", err)
	}
	return "", fmt.Errorf("index_key %s is neither a number nor a string", compact.String())
}

// join puts a resource in its module: module is "" for the root one.
func join(module, resource string) string {
	if module == "" {
		return resource
	}
	return module + "." + resource
}

// withoutKeys drops an address's instance keys, of its modules and of its
// resource: module.a["x"].t.n[0] is module.a.t.n.
func withoutKeys(address string) string {
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for _, r := range address {
		switch {
		case depth > 0 && quoted && escaped:
			escaped = false
		case depth > 0 && quoted && r == '\\':
			escaped = true
		case depth > 0 && r == '"':
			quoted = !quoted
		case !quoted && r == '[':
			depth++
		case !quoted && r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// providerAlias reads the alias of a provider configuration address:
// provider["registry.terraform.io/aliyun/alicloud"].hangzhou is hangzhou.
func providerAlias(provider string) string {
	i := strings.LastIndex(provider, "]")
	if i < 0 {
		return ""
	}
	return strings.TrimPrefix(provider[i+1:], ".")
}

// StateRm is the terraform state rm command that makes Terraform forget
// the instances, each address quoted for a POSIX shell.
func StateRm(instances []Instance) string {
	var b strings.Builder
	b.WriteString("terraform state rm")
	for _, i := range instances {
		b.WriteString(" \\\n  '" + strings.ReplaceAll(i.Address, "'", `'\''`) + "'")
	}
	b.WriteString("\n")
	return b.String()
}

// RemovedBlocks are the removed blocks (Terraform 1.7 and later) that make
// Terraform forget the instances' resources without destroying them: one
// per resource, since a removed block names a resource, not an instance.
func RemovedBlocks(instances []Instance) string {
	var resources []string
	for _, i := range instances {
		if !slices.Contains(resources, i.Resource) {
			resources = append(resources, i.Resource)
		}
	}
	var b strings.Builder
	for n, r := range resources {
		if n > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "removed {\n  from = %s\n\n  lifecycle {\n    destroy = false\n  }\n}\n", r)
	}
	return b.String()
}
