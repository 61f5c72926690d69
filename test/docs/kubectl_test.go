package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// ambiguousNames are the names kubectl resolves a resource type by
// (plural, singular, kind, short names) that more than one of our CRDs'
// groups answers to, with those groups: `kubectl get imagesharepermissions`
// picks one of the two scopes, not necessarily the one meant.
func ambiguousNames(t *testing.T, root string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "package", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in package/crds (%v)", err)
	}
	groups := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := crd.Spec.Names
		seen := map[string]bool{}
		for _, name := range append([]string{n.Plural, n.Singular, strings.ToLower(n.Kind)}, n.ShortNames...) {
			if name != "" && !seen[name] {
				seen[name] = true
				groups[name] = append(groups[name], crd.Spec.Group)
			}
		}
	}
	for name, g := range groups {
		if len(g) < 2 {
			delete(groups, name)
		}
	}
	return groups
}

// kubectlVerbs are the verbs whose first argument is a resource type.
var kubectlVerbs = map[string]bool{"get": true, "describe": true, "wait": true, "delete": true, "edit": true, "patch": true}

// valueFlags are kubectl's flags that take the next word as their value
// when written without '='.
var valueFlags = map[string]bool{
	"-n": true, "--namespace": true, "-o": true, "--output": true, "-l": true, "--selector": true,
	"-f": true, "--filename": true, "-k": true, "--kustomize": true, "-p": true, "--patch": true,
	"--type": true, "--for": true, "--timeout": true, "--field-selector": true, "--sort-by": true,
	"-L": true, "--label-columns": true, "--context": true, "--kubeconfig": true, "--subresource": true,
	"--template": true, "-c": true, "--container": true, "--cascade": true,
}

var (
	kubectlCall = regexp.MustCompile(`\bkubectl\s+([^|;&)\n]*)`)
	placeholder = regexp.MustCompile(`^<.*>$`)
)

// kubectlTypes are the resource types that the kubectl commands in a line
// of shell name, as written: "imagesharepermissions" of `kubectl get
// imagesharepermissions foo -n default`, both of `kubectl get a,b/x`.
func kubectlTypes(line string) []string {
	var types []string
	for _, m := range kubectlCall.FindAllStringSubmatch(line, -1) {
		var verb string
		var args []string
		words := strings.Fields(m[1])
		for i := 0; i < len(words); i++ {
			w := words[i]
			switch {
			case valueFlags[w]:
				i++ // its value
			case strings.HasPrefix(w, "-"):
			case verb == "":
				verb = w
			default:
				args = append(args, strings.Trim(w, `"'`))
			}
		}
		if !kubectlVerbs[verb] || len(args) == 0 {
			continue
		}
		// TYPE NAME... or TYPE/NAME...: only the first word names types,
		// unless every word is TYPE/NAME.
		if !strings.Contains(args[0], "/") {
			args = args[:1]
		}
		for _, a := range args {
			for t := range strings.SplitSeq(a, ",") {
				t, _, _ = strings.Cut(t, "/")
				if t != "" && !placeholder.MatchString(t) {
					types = append(types, t)
				}
			}
		}
	}
	return types
}

// shellLangs are the code blocks that hold commands.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true, "zsh": true}

// checkKubectlNames checks that every kubectl command in a shell block or a
// code span that names a resource type both scopes answer to names it
// fully qualified (imagesharepermissions.ecs.alibabacloud.m.crossplane.io)
// or asks by category (managed) instead.
func checkKubectlNames(t *testing.T, root string, docs map[string]*markdown.Doc) {
	ambiguous := ambiguousNames(t, root)
	if len(ambiguous) == 0 {
		t.Fatal("no name is shared by two of our CRDs' groups: the check would find nothing, so it is wrong")
	}
	check := func(d *markdown.Doc, line int, text string) {
		for _, typ := range kubectlTypes(text) {
			name, group, _ := strings.Cut(strings.ToLower(typ), ".")
			if gs, ok := ambiguous[name]; ok && !slices.Contains(gs, group) {
				t.Errorf("%s:%d: kubectl names %q, which both %s answer to: write it fully qualified (%s.%s) or ask by a category the CRDs list",
					d.Path, line, typ, strings.Join(gs, " and "), name, strings.Join(gs, " or "+name+"."))
			}
		}
	}
	for _, d := range sorted(docs) {
		for _, b := range d.Blocks {
			if !shellLangs[b.Lang] {
				continue
			}
			lines := strings.Split(b.Text, "\n")
			for i := 0; i < len(lines); i++ {
				start, text := b.Line+i, lines[i]
				// A command continued with a backslash is one command.
				for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
					i++
					text = strings.TrimSuffix(text, `\`) + " " + lines[i]
				}
				check(d, start, text)
			}
		}
		for _, s := range d.Spans {
			check(d, s.Line, s.Text)
		}
	}
}
