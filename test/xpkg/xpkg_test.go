// Package xpkg opens the built Crossplane packages, the provider's and the
// composition function's, and checks what Crossplane's package manager
// relies on. `make test` builds them first and names them in XPKG and
// FUNCTION_XPKG.
package xpkg

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// files reads every regular file of every layer, by path, and the image
// config's entrypoint and user.
func files(t *testing.T, path string) (map[string][]byte, []string, string) {
	t.Helper()
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatalf("%s is not an image tarball: %v", path, err)
	}
	if _, err := img.Manifest(); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				out[strings.TrimPrefix(h.Name, "/")] = b
			}
		}
		rc.Close()
	}
	return out, cfg.Config.Entrypoint, cfg.Config.User
}

// built is the package file that `make test` names in env.
func built(t *testing.T, env string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the package that make test builds")
	}
	path := os.Getenv(env)
	if path == "" {
		t.Fatalf("%s is not set: run `make test`, which builds the package and sets it", env)
	}
	return path
}

// objects parses package.yaml, the package's YAML stream.
func objects(t *testing.T, stream []byte) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for i, doc := range strings.Split(string(stream), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("package.yaml document %d: %v", i, err)
		}
		objs = append(objs, o)
	}
	return objs
}

// checkMetaAnnotations checks the annotations a registry shows of a package.
func checkMetaAnnotations(t *testing.T, meta map[string]any) {
	t.Helper()
	annotations, _ := meta["metadata"].(map[string]any)["annotations"].(map[string]any)
	for _, a := range []string{"maintainer", "source", "license", "description", "readme"} {
		if annotations["meta.crossplane.io/"+a] == "" || annotations["meta.crossplane.io/"+a] == nil {
			t.Errorf("%s metadata lacks meta.crossplane.io/%s", meta["kind"], a)
		}
	}
}

func TestPackage(t *testing.T) {
	content, entrypoint, user := files(t, built(t, "XPKG"))

	// The runtime image is embedded: the provider binary, run as non-root.
	if _, ok := content["usr/local/bin/provider"]; !ok {
		t.Error("the package does not hold usr/local/bin/provider: the runtime image is not embedded")
	}
	if !slices.Equal(entrypoint, []string{"/usr/local/bin/provider"}) || user != "65532" {
		t.Errorf("entrypoint %v, user %q; want [/usr/local/bin/provider] and 65532", entrypoint, user)
	}

	stream, ok := content["package.yaml"]
	if !ok {
		t.Fatal("no package.yaml in the package")
	}
	var meta map[string]any
	var crds []string
	for _, o := range objects(t, stream) {
		switch o["kind"] {
		case "Provider":
			meta = o
		case "CustomResourceDefinition":
			name, _ := o["metadata"].(map[string]any)["name"].(string)
			crds = append(crds, name)
		}
	}
	if meta == nil || meta["apiVersion"] != "meta.pkg.crossplane.io/v1" {
		t.Fatalf("package.yaml has no meta.pkg.crossplane.io/v1 Provider: %v", meta)
	}
	checkMetaAnnotations(t, meta)
	caps, _ := meta["spec"].(map[string]any)["capabilities"].([]any)
	if !slices.Contains(caps, any("safe-start")) {
		t.Errorf("capabilities %v lack safe-start", caps)
	}

	want, err := filepath.Glob("../../package/crds/*.yaml")
	if err != nil || len(want) == 0 {
		t.Fatalf("no CRDs in package/crds: %v", err)
	}
	for _, f := range want {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(crds, crd.Name) {
			t.Errorf("the package lacks CRD %s", crd.Name)
		}
	}
	// Crossplane keeps the provider configuration kinds as CRDs rather than
	// managed resource definitions. There is no ClusterProviderConfigUsage:
	// core v2.3.4 only names that kind in its CRD-to-MRD converter's skip
	// list, and every usage, of either namespaced kind, is a namespaced
	// ProviderConfigUsage beside its managed resource.
	for _, kind := range []string{"providerconfigs", "clusterproviderconfigs", "providerconfigusages"} {
		if !slices.Contains(crds, kind+".alibabacloud.m.crossplane.io") {
			t.Errorf("the package lacks %s.alibabacloud.m.crossplane.io", kind)
		}
	}

	// The examples are what a user applies; the function's package
	// metadata, which lives under examples/, is none of them.
	for _, o := range objects(t, content[".up/examples.yaml"]) {
		if apiVersion, _ := o["apiVersion"].(string); strings.HasPrefix(apiVersion, "meta.pkg.crossplane.io/") {
			t.Errorf("the examples hold package metadata, a %s %s", apiVersion, o["kind"])
		}
	}
}

// TestFunctionPackage checks the package of examples/composition/function:
// one Function that Crossplane may run in a composition pipeline, and its
// runtime image.
func TestFunctionPackage(t *testing.T) {
	content, entrypoint, user := files(t, built(t, "FUNCTION_XPKG"))

	if _, ok := content["usr/local/bin/function-imageshare"]; !ok {
		t.Error("the package does not hold usr/local/bin/function-imageshare: the runtime image is not embedded")
	}
	if !slices.Equal(entrypoint, []string{"/usr/local/bin/function-imageshare"}) || user != "65532" {
		t.Errorf("entrypoint %v, user %q; want [/usr/local/bin/function-imageshare] and 65532", entrypoint, user)
	}

	stream, ok := content["package.yaml"]
	if !ok {
		t.Fatal("no package.yaml in the package")
	}
	// A function package is its metadata alone: anything else (the
	// provider's examples picked up by a default --examples-root, say) is
	// a build mistake.
	objs := objects(t, stream)
	if len(objs) != 1 {
		kinds := make([]any, 0, len(objs))
		for _, o := range objs {
			kinds = append(kinds, o["kind"])
		}
		t.Fatalf("package.yaml holds %v; want the Function alone", kinds)
	}
	meta := objs[0]
	if meta["apiVersion"] != "meta.pkg.crossplane.io/v1beta1" || meta["kind"] != "Function" {
		t.Fatalf("package.yaml holds a %v %v; want a meta.pkg.crossplane.io/v1beta1 Function", meta["apiVersion"], meta["kind"])
	}
	if name := meta["metadata"].(map[string]any)["name"]; name != "function-imageshare" {
		t.Errorf("the Function is named %v; want function-imageshare, as the Composition's functionRef", name)
	}
	checkMetaAnnotations(t, meta)
	caps, _ := meta["spec"].(map[string]any)["capabilities"].([]any)
	if !slices.Contains(caps, any("composition")) {
		t.Errorf("capabilities %v lack composition: Crossplane would mark the Composition's revisions MissingCapabilities", caps)
	}
}
