// Package xpkg opens the built Crossplane packages, the provider's and the
// composition function's, one file per platform, and checks what
// Crossplane's package manager, `crossplane xpkg push` and registries rely
// on: each file's platform, that the binary inside runs on it, the package
// metadata. `make test` builds them first and names them, comma-separated as
// `crossplane xpkg push -f` takes them, in XPKG_FILES and
// FUNCTION_XPKG_FILES.
package xpkg

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

const (
	source      = "https://github.com/crossplane-contrib/provider-alibabacloud-ecs"
	maintainer  = "provider-alibabacloud-ecs maintainers (" + source + "/issues)"
	docs        = source + "/blob/main/docs/"
	constraint  = ">=v2.0.0"
	annotations = "meta.crossplane.io/"
)

// platforms are what every package is built for: the nodes of an ACK
// cluster are amd64 or arm64.
var platforms = []string{"linux/amd64", "linux/arm64"}

// machines is the ELF machine a binary for each architecture has.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// pkgFile is one package file as the tests see it.
type pkgFile struct {
	path       string
	platform   string // the image config's os/arch
	content    map[string][]byte
	entrypoint []string
	user       string
}

// open reads every regular file of every layer, by path, and the image
// config's platform, entrypoint and user.
func open(t *testing.T, path string) pkgFile {
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
		_ = rc.Close()
	}
	return pkgFile{path: path, platform: cfg.OS + "/" + cfg.Architecture, content: out, entrypoint: cfg.Config.Entrypoint, user: cfg.Config.User}
}

// built opens the package files that `make test` names in env, one per
// platform, and checks what each must have whatever its kind: its name says
// its platform, every platform is there once, and the binary at bin (the
// runtime image's entrypoint, run as non-root) is built for that platform.
func built(t *testing.T, env, bin string) []pkgFile {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the packages that make test builds")
	}
	list := os.Getenv(env)
	if list == "" {
		t.Fatalf("%s is not set: run `make test`, which builds the packages and sets it", env)
	}
	var files []pkgFile
	var got []string
	for _, path := range strings.Split(list, ",") {
		f := open(t, path)
		files = append(files, f)
		got = append(got, f.platform)
		if want := "-" + strings.ReplaceAll(f.platform, "/", "_") + ".xpkg"; !strings.HasSuffix(filepath.Base(path), want) {
			t.Errorf("%s holds a %s image; its name should end in %s", filepath.Base(path), f.platform, want)
		}
		b, ok := f.content[strings.TrimPrefix(bin, "/")]
		if !ok {
			t.Errorf("%s does not hold %s: the runtime image is not embedded", filepath.Base(path), bin)
			continue
		}
		e, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %s is not an ELF binary: %v", filepath.Base(path), bin, err)
			continue
		}
		_, arch, _ := strings.Cut(f.platform, "/")
		if want, ok := machines[arch]; !ok || e.Machine != want {
			t.Errorf("%s: %s is built for %v; its image is %s, which runs %v", filepath.Base(path), bin, e.Machine, f.platform, want)
		}
		if !slices.Equal(f.entrypoint, []string{bin}) || f.user != "65532" {
			t.Errorf("%s: entrypoint %v, user %q; want [%s] and 65532", filepath.Base(path), f.entrypoint, f.user, bin)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(platforms, got); diff != "" {
		t.Errorf("%s: the platforms of the files (-want +got):\n%s", env, diff)
	}
	return files
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

// meta is the package's metadata object, the same in every platform's file:
// the metadata describes the package, not one of its images.
func meta(t *testing.T, files []pkgFile, kind string) (map[string]any, [][]map[string]any) {
	t.Helper()
	var streams [][]map[string]any
	var first []byte
	for _, f := range files {
		stream, ok := f.content["package.yaml"]
		if !ok {
			t.Fatalf("no package.yaml in %s", f.path)
		}
		if first == nil {
			first = stream
		} else if !bytes.Equal(first, stream) {
			t.Errorf("%s's package.yaml differs from %s's", filepath.Base(f.path), filepath.Base(files[0].path))
		}
		streams = append(streams, objects(t, stream))
	}
	for _, o := range streams[0] {
		if o["kind"] == kind && strings.HasPrefix(o["apiVersion"].(string), "meta.pkg.crossplane.io/") {
			return o, streams
		}
	}
	t.Fatalf("package.yaml holds no meta.pkg.crossplane.io %s", kind)
	return nil, nil
}

// metadata is what registries, marketplaces and Crossplane read of a
// package's metadata object.
type metadata struct {
	APIVersion string
	Name       string
	// Maintainer, Source, License, FriendlyName are annotations, exactly.
	Maintainer, Source, License, FriendlyName string
	Constraint                                string
	Capabilities                              []string
}

func read(m map[string]any) metadata {
	md, _ := m["metadata"].(map[string]any)
	a, _ := md["annotations"].(map[string]any)
	spec, _ := m["spec"].(map[string]any)
	xp, _ := spec["crossplane"].(map[string]any)
	out := metadata{APIVersion: str(m["apiVersion"]), Name: str(md["name"]),
		Maintainer: str(a[annotations+"maintainer"]), Source: str(a[annotations+"source"]), License: str(a[annotations+"license"]),
		FriendlyName: str(a["friendly-name.meta.crossplane.io"]), Constraint: str(xp["version"])}
	caps, _ := spec["capabilities"].([]any)
	for _, c := range caps {
		out.Capabilities = append(out.Capabilities, str(c))
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// checkText checks the free-text annotations: a one-line description and a
// readme that tells what a marketplace reader needs.
func checkText(t *testing.T, m map[string]any, readmeMentions []string) {
	t.Helper()
	a, _ := m["metadata"].(map[string]any)["annotations"].(map[string]any)
	if d := strings.TrimSpace(str(a[annotations+"description"])); d == "" || strings.Contains(d, "\n") {
		t.Errorf("meta.crossplane.io/description %q: want one sentence on one line", d)
	}
	readme := strings.Join(strings.Fields(str(a[annotations+"readme"])), " ")
	for _, want := range readmeMentions {
		if !strings.Contains(readme, want) {
			t.Errorf("meta.crossplane.io/readme does not mention %q", want)
		}
	}
}

func TestPackageMetadata(t *testing.T) {
	cases := map[string]struct {
		reason string
		env    string
		bin    string
		kind   string
		want   metadata
		readme []string
	}{
		"Provider": {
			reason: "The provider needs Crossplane v2 (namespaced managed resources, ClusterProviderConfig, safe-start, activation policies) and is safe-start; its readme is what `kubectl describe` and marketplaces show, so it names both kinds of configuration, the activation policy and where the docs are.",
			env:    "XPKG_FILES",
			bin:    "/usr/local/bin/provider",
			kind:   "Provider",
			want: metadata{APIVersion: "meta.pkg.crossplane.io/v1", Name: "provider-alibabacloud-ecs",
				Maintainer: maintainer, Source: source, License: "Apache-2.0", FriendlyName: "Provider Alibaba Cloud ECS",
				Constraint: constraint, Capabilities: []string{"safe-start"}},
			readme: []string{"ProviderConfig (alibabacloud.m.crossplane.io, namespaced)", "ClusterProviderConfig",
				"imagesharepermissions.ecs.alibabacloud.m.crossplane.io", "imagesharepermissions.ecs.alibabacloud.crossplane.io",
				"ManagedResourceActivationPolicy", "examples/install/activation-policy.yaml",
				docs + "install.md", docs + "credentials.md", docs + "troubleshooting.md", source + "/issues"},
		},
		"Function": {
			reason: "The function composes namespaced composite resources, Crossplane v2's, and must declare the composition capability, else Crossplane marks the Composition's revisions MissingCapabilities; it is named as the Composition's functionRef.",
			env:    "FUNCTION_XPKG_FILES",
			bin:    "/usr/local/bin/function-imageshare",
			kind:   "Function",
			want: metadata{APIVersion: "meta.pkg.crossplane.io/v1beta1", Name: "function-imageshare",
				Maintainer: maintainer, Source: source, License: "Apache-2.0", FriendlyName: "Function ImageShare",
				Constraint: constraint, Capabilities: []string{"composition"}},
			readme: []string{"ImageSharePermission", "ProviderConfig", "ClusterProviderConfig",
				source + "/blob/main/examples/composition/README.md", source + "/issues"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			files := built(t, tc.env, tc.bin)
			m, _ := meta(t, files, tc.kind)
			if diff := cmp.Diff(tc.want, read(m)); diff != "" {
				t.Errorf("%s\nthe package metadata (-want +got):\n%s", tc.reason, diff)
			}
			checkText(t, m, tc.readme)
		})
	}
}

func TestPackage(t *testing.T) {
	_, streams := meta(t, built(t, "XPKG_FILES", "/usr/local/bin/provider"), "Provider")
	var crds []string
	for _, o := range streams[0] {
		if o["kind"] == "CustomResourceDefinition" {
			name, _ := o["metadata"].(map[string]any)["name"].(string)
			crds = append(crds, name)
		}
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

// TestPackageExamples checks the examples the provider's package embeds
// (.up/examples.yaml), which marketplaces show: what a user applies, the
// install manifests among them, and no package metadata (the function's
// lives under examples/).
func TestPackageExamples(t *testing.T) {
	files := built(t, "XPKG_FILES", "/usr/local/bin/provider")
	kinds := map[string]bool{}
	for _, o := range objects(t, files[0].content[".up/examples.yaml"]) {
		apiVersion, _ := o["apiVersion"].(string)
		if strings.HasPrefix(apiVersion, "meta.pkg.crossplane.io/") {
			t.Errorf("the examples hold package metadata, a %s %s", apiVersion, o["kind"])
		}
		kinds[apiVersion+" "+str(o["kind"])] = true
	}
	for _, want := range []string{
		"pkg.crossplane.io/v1 Provider", "pkg.crossplane.io/v1beta1 DeploymentRuntimeConfig",
		"apiextensions.crossplane.io/v1alpha1 ManagedResourceActivationPolicy",
		"ecs.alibabacloud.m.crossplane.io/v1beta1 ImageSharePermission",
	} {
		if !kinds[want] {
			t.Errorf("the package's examples hold no %s", want)
		}
	}
}

// TestFunctionPackage checks the package of examples/composition/function:
// its metadata alone, besides the runtime image.
func TestFunctionPackage(t *testing.T) {
	_, streams := meta(t, built(t, "FUNCTION_XPKG_FILES", "/usr/local/bin/function-imageshare"), "Function")
	// A function package is its metadata alone: anything else (the
	// provider's examples picked up by a default --examples-root, say) is
	// a build mistake.
	if len(streams[0]) != 1 {
		kinds := make([]any, 0, len(streams[0]))
		for _, o := range streams[0] {
			kinds = append(kinds, o["kind"])
		}
		t.Fatalf("package.yaml holds %v; want the Function alone", kinds)
	}
}
