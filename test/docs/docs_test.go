// Package docs holds docs that cannot rot: it reads every Markdown file in
// the repository and checks what each one promises against the code. Links
// and anchors resolve; every provider and simulator flag is documented and
// every flag documented exists; likewise the provider's metrics; every YAML
// block (and every file under examples/) is accepted by a real API server
// with our CRDs and Crossplane's, or by the ECS simulator's strict state
// file parser; kubectl commands name a resource type that exists in both
// scopes fully qualified. Each failure names file:line and what to fix.
//
// It reads whatever Markdown exists, so it needs no list of docs to keep.
// The YAML check needs a control plane and Crossplane core: make test sets
// KUBEBUILDER_ASSETS and CROSSPLANE_CORE.
package docs

import (
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// skipDirs hold no docs of the project: build output, tool caches, test
// fixtures and git's own files.
var skipDirs = map[string]bool{".git": true, ".cache": true, "_output": true, "testdata": true, "node_modules": true}

// readDocs parses every Markdown file under root.
func readDocs(t *testing.T, root string) map[string]*markdown.Doc {
	t.Helper()
	docs := map[string]*markdown.Doc{}
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if skipDirs[e.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.EqualFold(filepath.Ext(p), ".md") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		d, err := markdown.Read(root, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		docs[d.Path] = d
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if docs["README.md"] == nil {
		t.Fatalf("no README.md under %s", root)
	}
	return docs
}

// sorted is the docs in path order, so that failures come in a stable order.
func sorted(docs map[string]*markdown.Doc) []*markdown.Doc {
	out := make([]*markdown.Doc, 0, len(docs))
	for _, p := range slices.Sorted(maps.Keys(docs)) {
		out = append(out, docs[p])
	}
	return out
}

func TestDocs(t *testing.T) {
	root, err := devenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	docs := readDocs(t, root)
	t.Run("Links", func(t *testing.T) { checkLinks(t, root, docs) })
	t.Run("Flags", func(t *testing.T) { checkFlags(t, root, docs) })
	t.Run("Metrics", func(t *testing.T) { checkMetrics(t, docs) })
	t.Run("KubectlNames", func(t *testing.T) { checkKubectlNames(t, root, docs) })
	t.Run("YAML", func(t *testing.T) { checkYAML(t, root, docs) })
	t.Run("StateFileReference", func(t *testing.T) { checkStateFileReference(t, docs) })
}

var scheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)

// checkLinks checks that every relative link names a file or directory in
// the repository and every #anchor a heading or explicit anchor of its
// Markdown file. Links with a scheme (https:, mailto:) are not fetched.
func checkLinks(t *testing.T, root string, docs map[string]*markdown.Doc) {
	for _, d := range sorted(docs) {
		for _, l := range d.Links {
			if scheme.MatchString(l.Text) || l.Text == "" {
				continue
			}
			target, anchor, _ := strings.Cut(l.Text, "#")
			target, err := url.PathUnescape(target)
			if err != nil {
				t.Errorf("%s:%d: link %q: %v", d.Path, l.Line, l.Text, err)
				continue
			}
			switch {
			case target == "":
				target = d.Path
			case strings.HasPrefix(target, "/"): // GitHub: from the repository root
				target = path.Clean(strings.TrimPrefix(target, "/"))
			default:
				target = path.Join(path.Dir(d.Path), target)
			}
			if target == ".." || strings.HasPrefix(target, "../") {
				t.Errorf("%s:%d: link %q leaves the repository", d.Path, l.Line, l.Text)
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
				t.Errorf("%s:%d: link %q: %s does not exist: fix the path or add the file", d.Path, l.Line, l.Text, target)
				continue
			}
			if anchor == "" {
				continue
			}
			to, ok := docs[target]
			if !ok {
				t.Errorf("%s:%d: link %q: an anchor can only name a heading of a Markdown file, and %s is none", d.Path, l.Line, l.Text, target)
				continue
			}
			if !to.Anchors[anchor] {
				t.Errorf("%s:%d: link %q: %s has no heading with the anchor #%s (headings are lower case, punctuation dropped, spaces as -): fix the anchor or the heading",
					d.Path, l.Line, l.Text, target, anchor)
			}
		}
	}
}
