package docs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// checkStateFileReference checks that the state file under the simulator
// README's "State file" heading sets every key the simulator's parser
// accepts, so that a key added to ecssim.Config without a line in the
// reference fails here (the README's example once left out five).
func checkStateFileReference(t *testing.T, docs map[string]*markdown.Doc) {
	d := docs[simulatorReadme]
	if d == nil {
		t.Fatalf("%s is missing", simulatorReadme)
	}
	blocks, found := d.Section("State file")
	if !found {
		t.Fatalf("%s has no \"State file\" heading: the state file's reference lives under it", simulatorReadme)
	}
	var example *markdown.Block
	for i := range blocks {
		if blocks[i].Lang == "yaml" {
			example = &blocks[i]
			break
		}
	}
	if example == nil {
		t.Fatalf("%s: no yaml block under \"State file\"", simulatorReadme)
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(example.Text), &m); err != nil {
		t.Fatalf("%s:%d: %v", simulatorReadme, example.Line, err)
	}
	set := map[string]bool{}
	valuePaths("", m, set)
	var missing []string
	for _, p := range typePaths("", reflect.TypeFor[ecssim.Config]()) {
		if !set[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s:%d: the state file reference leaves out keys the simulator accepts: %s; set each in the example, with a comment saying what it does",
			simulatorReadme, example.Line, strings.Join(missing, ", "))
	}
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// typePaths lists the JSON keys of t, nested keys joined by dots and a
// list's elements marked [] (images[].maxShares). A type that decodes
// itself (a duration, a time) is one key.
func typePaths(prefix string, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 {
		return typePaths(prefix+"[]", t.Elem())
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshaler) {
		return []string{prefix}
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out = append(out, typePaths(p, f.Type)...)
	}
	return out
}

// valuePaths records, in set, the keys a decoded YAML value sets, named as
// typePaths names them; a list sets what any of its elements sets.
func valuePaths(prefix string, v any, set map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		if prefix != "" {
			set[prefix] = true
		}
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			valuePaths(p, e, set)
		}
	case []any:
		set[prefix] = true
		for _, e := range v {
			valuePaths(prefix+"[]", e, set)
		}
	default:
		set[prefix] = true
	}
}

func TestPaths(t *testing.T) {
	type inner struct {
		Max int `json:"max,omitempty"`
	}
	type outer struct {
		Name   string         `json:"name"`
		Items  []inner        `json:"items,omitempty"`
		Inner  *inner         `json:"inner,omitempty"`
		Tags   []string       `json:"tags,omitempty"`
		Labels map[string]int `json:"labels,omitempty"`
		Hidden string         `json:"-"`
		Wait   ecssim.Duration
	}
	cases := map[string]struct {
		reason string
		got    []string
		want   []string
	}{
		"Type": {
			reason: "a struct's keys nest with dots, a list's elements are [], lists of scalars, maps and self-decoding types are one key, json:\"-\" fields are none",
			got:    typePaths("", reflect.TypeFor[outer]()),
			want:   []string{"name", "items[].max", "inner.max", "tags[]", "labels", "Wait"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.got); diff != "" {
				t.Errorf("%s\n-want +got:\n%s", tc.reason, diff)
			}
		})
	}
	set := map[string]bool{}
	valuePaths("", map[string]any{"name": "a", "items": []any{map[string]any{"max": 1}}, "tags": []any{"x"}}, set)
	for _, p := range []string{"name", "items", "items[].max", "tags", "tags[]"} {
		if !set[p] {
			t.Errorf("valuePaths did not record %q: %v", p, set)
		}
	}
}
