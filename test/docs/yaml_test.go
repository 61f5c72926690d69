package docs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xp"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// yamlDoc is one YAML document of a ```yaml block or an example file.
type yamlDoc struct {
	where string // file:line of its first line
	text  string
}

var docSeparator = regexp.MustCompile(`^---(\s.*)?$`)

// splitYAML cuts a YAML stream into its documents, each with the line it
// starts on (line is the stream's first).
func splitYAML(file string, line int, text string) []yamlDoc {
	var out []yamlDoc
	start, body := line, []string{}
	flush := func() {
		if strings.TrimSpace(strings.Join(body, "\n")) != "" {
			out = append(out, yamlDoc{fmt.Sprintf("%s:%d", file, start), strings.Join(body, "\n")})
		}
	}
	for i, l := range strings.Split(text, "\n") {
		if docSeparator.MatchString(l) {
			flush()
			start, body = line+i+1, nil
			continue
		}
		body = append(body, l)
	}
	flush()
	return out
}

// exampleSkip holds no Kubernetes objects: the composition function's Go
// module and its package metadata (crossplane.yaml, which no API server
// serves; test/composition validates it against Crossplane's meta schema).
const exampleSkip = "examples/composition/function"

// yamlDocs are every YAML document of the docs' ```yaml blocks and of the
// files under examples/.
func yamlDocs(t *testing.T, root string, docs map[string]*markdown.Doc) []yamlDoc {
	t.Helper()
	var out []yamlDoc
	for _, d := range sorted(docs) {
		for _, b := range d.Blocks {
			if b.Lang == "yaml" || b.Lang == "yml" {
				out = append(out, splitYAML(d.Path, b.Line, b.Text)...)
			}
		}
	}
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if rel == exampleSkip {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, splitYAML(rel, 1, string(b))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkYAML checks that every YAML document is whole: a Kubernetes object
// that a real API server with our CRDs, Crossplane's and the composition
// example's XRD accepts (server-side dry run, unknown fields refused), or
// an ECS simulator state file that its strict parser loads.
func checkYAML(t *testing.T, root string, docs map[string]*markdown.Doc) {
	var objects []*unstructured.Unstructured
	where := map[*unstructured.Unstructured]string{}
	for _, y := range yamlDocs(t, root, docs) {
		j, err := yaml.YAMLToJSONStrict([]byte(y.text))
		if err != nil {
			t.Errorf("%s: not YAML: %v", y.where, err)
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal(j, &m); err != nil {
			t.Errorf("%s: a YAML block must be a map (a Kubernetes object or a simulator state file): %v", y.where, err)
			continue
		}
		_, hasAPIVersion := m["apiVersion"]
		_, hasKind := m["kind"]
		switch {
		case hasAPIVersion && hasKind:
			o := &unstructured.Unstructured{Object: m}
			objects = append(objects, o)
			where[o] = y.where
		case hasAPIVersion || hasKind:
			t.Errorf("%s: a Kubernetes object needs both apiVersion and kind: write the whole object, or show a fragment in a ```text block", y.where)
		default:
			cfg, err := ecssim.ParseConfig([]byte(y.text))
			if err == nil {
				_, err = ecssim.New(cfg)
			}
			if err != nil {
				t.Errorf("%s: without apiVersion and kind, a YAML block must be an ECS simulator state file, and the simulator refuses it: %v (a fragment of an object belongs in a ```text block)", y.where, err)
			}
		}
	}

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if testing.Short() || assets == "" {
		t.Skip("the Kubernetes objects need the control plane binaries named by KUBEBUILDER_ASSETS (make test), and no -short")
	}
	core := os.Getenv("CROSSPLANE_CORE")
	if core == "" {
		t.Fatal("CROSSPLANE_CORE is not set: make test builds Crossplane core, which establishes the composition example's XRD, and sets it")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	kube := startAPIServer(ctx, t, root, assets, core)

	// Namespaces are created for real first, as a user would have them.
	namespaces := map[string]bool{}
	for _, o := range objects {
		namespaced, err := kube.IsObjectNamespaced(o)
		if err != nil {
			continue // reported below, by the dry run
		}
		if namespaced && o.GetNamespace() == "" {
			o.SetNamespace(metav1.NamespaceDefault) // as kubectl does
		}
		namespaces[o.GetNamespace()] = namespaced
	}
	for ns, namespaced := range namespaces {
		if !namespaced {
			continue
		}
		if err := kube.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !kerrors.IsAlreadyExists(err) {
			t.Fatalf("cannot create namespace %s: %v", ns, err)
		}
	}
	for _, o := range objects {
		if err := dryRun(ctx, kube, o); err != nil {
			t.Errorf("%s: the API server refuses %s %s %q: %v", where[o], o.GetAPIVersion(), o.GetKind(), o.GetName(), err)
		}
	}
}

// dryRun creates o with a server-side dry run, refusing unknown fields; an
// object that exists already (the XRD, a namespace) is updated instead.
func dryRun(ctx context.Context, kube client.Client, o *unstructured.Unstructured) error {
	err := kube.Create(ctx, o.DeepCopy(), client.DryRunAll, client.FieldValidation("Strict"))
	if !kerrors.IsAlreadyExists(err) {
		return err
	}
	existing := &unstructured.Unstructured{}
	existing.SetGroupVersionKind(o.GroupVersionKind())
	if err := kube.Get(ctx, client.ObjectKeyFromObject(o), existing); err != nil {
		return err
	}
	update := o.DeepCopy()
	update.SetResourceVersion(existing.GetResourceVersion())
	return kube.Update(ctx, update, client.DryRunAll, client.FieldValidation("Strict"))
}

// startAPIServer starts etcd and kube-apiserver with our CRDs, and
// Crossplane core (which installs its own CRDs) to establish the
// composition example's XRD, so that the example's XR kind is served too.
// Everything stops when the test ends.
func startAPIServer(ctx context.Context, t *testing.T, root, assets, core string) client.Client {
	t.Helper()
	dir := t.TempDir()
	cp, err := devenv.StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	w, err := xp.Start(ctx, xp.Options{ControlPlane: cp, Dir: dir, CoreBinary: core})
	if err != nil {
		t.Fatalf("%v\n%s", err, xp.LogTails(filepath.Join(dir, "logs")))
	}
	t.Cleanup(func() { _ = w.Close() }) //nolint:contextcheck // Stopping must not depend on a context that may have ended.

	b, err := os.ReadFile(filepath.Join(root, "examples", "composition", "definition.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	xrd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &xrd.Object); err != nil {
		t.Fatal(err)
	}
	kube, err := client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.Create(ctx, xrd); err != nil {
		t.Fatalf("cannot create the composition example's XRD: %v", err)
	}
	for {
		if err := kube.Get(ctx, client.ObjectKeyFromObject(xrd), xrd); err != nil {
			t.Fatal(err)
		}
		conditions, _, _ := unstructured.NestedSlice(xrd.Object, "status", "conditions")
		if slices.ContainsFunc(conditions, func(c any) bool {
			m, _ := c.(map[string]any)
			return m["type"] == "Established" && m["status"] == "True"
		}) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Crossplane did not establish the XRD %s: %v\n%s", xrd.GetName(), ctx.Err(), xp.LogTails(filepath.Join(dir, "logs")))
		case <-time.After(250 * time.Millisecond):
		}
	}
	// A new client, whose REST mapper discovers the XR's kind.
	kube, err = client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return kube
}
