// Package xpkg opens the built Crossplane package and checks what
// Crossplane's package manager relies on. `make test` builds the package
// first and names it in XPKG.
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

func TestPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the package that make test builds")
	}
	path := os.Getenv("XPKG")
	if path == "" {
		t.Fatal("XPKG is not set: run `make test`, which builds the package and sets it")
	}
	content, entrypoint, user := files(t, path)

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
	for i, doc := range strings.Split(string(stream), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var o map[string]any
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("package.yaml document %d: %v", i, err)
		}
		switch o["kind"] {
		case "Provider":
			meta = o
		case "CustomResourceDefinition":
			crd := apiextensionsv1.CustomResourceDefinition{}
			if err := yaml.Unmarshal([]byte(doc), &crd); err != nil {
				t.Fatal(err)
			}
			crds = append(crds, crd.Name)
		}
	}
	if meta == nil || meta["apiVersion"] != "meta.pkg.crossplane.io/v1" {
		t.Fatalf("package.yaml has no meta.pkg.crossplane.io/v1 Provider: %v", meta)
	}
	annotations, _ := meta["metadata"].(map[string]any)["annotations"].(map[string]any)
	for _, a := range []string{"maintainer", "source", "license", "description", "readme"} {
		if annotations["meta.crossplane.io/"+a] == "" || annotations["meta.crossplane.io/"+a] == nil {
			t.Errorf("Provider metadata lacks meta.crossplane.io/%s", a)
		}
	}
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
}
