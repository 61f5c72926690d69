// Package composition proves examples/composition with the real crossplane
// CLI: `crossplane composition render` runs the example ImageShare through
// Crossplane's own reconciler and our function, and `crossplane resource
// validate` checks every example against the provider's CRDs, the XRD and
// Crossplane's own CRDs.
// `make test` builds both binaries and sets CROSSPLANE and CROSSPLANE_CORE.
package composition

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv/xp"
)

// tool is the path of a binary that make test builds and passes in env.
func tool(t *testing.T, env string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the crossplane binaries that make test builds")
	}
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run make test, which builds it and sets it", env)
	}
	return p
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := devenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startFunction builds function-imageshare and runs it on a free loopback
// port until the test ends. It returns the address.
func startFunction(t *testing.T, root string) string {
	t.Helper()
	bin, err := xp.BuildFunction(t.Context(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	// The function takes its port from a flag, not from a listener, so a
	// free one is found first; another process could take it in between, in
	// which case the function exits and says so below.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	var log bytes.Buffer
	fn := exec.Command(bin, "--insecure", "--address="+addr, "--metrics-address=", "--debug")
	fn.Stdout, fn.Stderr = &log, &log
	if err := fn.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- fn.Wait() }()
	t.Cleanup(func() {
		_ = fn.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("function-imageshare log:\n%s", log.String())
		}
	})

	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("function-imageshare exited: %v\n%s", err, log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("function-imageshare is not listening on %s after 30s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a command and returns its stdout; the error carries its stderr.
func run(t *testing.T, dir, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.Logf("%s %s", filepath.Base(bin), strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.Join(err, errors.New(stderr.String()))
	}
	return stdout.String(), nil
}

// objects parses a YAML stream.
func objects(t *testing.T, stream string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	r := yaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%v in:\n%s", err, stream)
		}
		// Through JSON, so that numbers become int64 as from the API server.
		j, err := sigsyaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		if string(j) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("%v in:\n%s", err, doc)
		}
		out = append(out, u)
	}
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// observedSharing is the example's ImageSharing as Crossplane observes it
// once the provider has shared the image with shared (a YAML list), Ready
// or not.
func observedSharing(ready, shared string) string {
	return `apiVersion: ecs.alibabacloud.m.crossplane.io/v1beta1
kind: ImageSharing
metadata:
  name: golden-image-x7k2p
  namespace: default
  annotations:
    crossplane.io/composition-resource-name: sharing
spec:
  forProvider: {region: cn-shanghai, imageId: m-demo0004, accounts: ["2222222222222222", "3333333333333333"]}
status:
  atProvider:
    images: [{imageId: m-demo0004, sharedAccounts: ` + shared + `}]
  conditions:
  - {type: Ready, status: "` + ready + `", reason: Available, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-01-01T00:00:00Z"}
`
}

func TestRender(t *testing.T) {
	cli, core := tool(t, "CROSSPLANE"), tool(t, "CROSSPLANE_CORE")
	root := repoRoot(t)
	dir := filepath.Join(root, "examples", "composition")
	addr := startFunction(t, root)

	cases := map[string]struct {
		xr       string // the XR file; the example when empty
		observed string // composed resources Crossplane has observed, as YAML
		// wantAccounts are the accounts of the rendered ImageSharing.
		wantAccounts   []string
		wantSharedWith []string
		wantReady      string // the ImageShare's Ready condition
		wantErr        string
	}{
		"TheExampleComposesOneSharingOfItsDistinctAccounts": {
			wantAccounts:   []string{"2222222222222222", "3333333333333333"},
			wantSharedWith: []string{},
			wantReady:      "False",
		},
		"AnAccountSharedIsReported": {
			observed:       observedSharing("False", `["2222222222222222"]`),
			wantAccounts:   []string{"2222222222222222", "3333333333333333"},
			wantSharedWith: []string{"2222222222222222"},
			wantReady:      "False",
		},
		"ReadyWhenTheSharingIs": {
			observed:       observedSharing("True", `["2222222222222222", "3333333333333333"]`),
			wantAccounts:   []string{"2222222222222222", "3333333333333333"},
			wantSharedWith: []string{"2222222222222222", "3333333333333333"},
			wantReady:      "True",
		},
		"NoAccountsIsFatal": {
			xr: write(t, "xr.yaml", `apiVersion: platform.example.org/v1alpha1
kind: ImageShare
metadata: {name: nobody, namespace: default}
spec: {region: cn-shanghai, imageId: m-demo0004, accountIds: []}
`),
			wantErr: "spec.accountIds needs at least one account ID to share the image with",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			xr := tc.xr
			if xr == "" {
				xr = "imageshare.yaml"
			}
			args := []string{
				"composition", "render", xr, "composition.yaml", "functions.yaml",
				"--crossplane-binary=" + core,
				// functions.yaml says where a developer runs the function;
				// this run's is on another port.
				"--function-annotations=render.crossplane.io/runtime-development-target=" + addr,
				"--xrd=definition.yaml",
			}
			if tc.observed != "" {
				args = append(args, "--observed-resources="+write(t, "observed.yaml", tc.observed))
			}
			out, err := run(t, dir, cli, args...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("render: want an error containing %q, got %v\n%s", tc.wantErr, err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}

			var composite *unstructured.Unstructured
			var accounts []string
			sharings := 0
			for _, o := range objects(t, out) {
				switch o.GetKind() {
				case "ImageShare":
					composite = o
				case "ImageSharing":
					sharings++
					accounts = checkSharing(t, o)
				default:
					t.Errorf("render produced an unexpected %s %s", o.GetKind(), o.GetName())
				}
			}
			if composite == nil {
				t.Fatalf("render produced no ImageShare:\n%s", out)
			}
			if sharings != 1 || !slices.Equal(accounts, tc.wantAccounts) {
				t.Errorf("%d ImageSharings, the last with %v; want one with %v", sharings, accounts, tc.wantAccounts)
			}
			sharedWith, _, _ := unstructured.NestedStringSlice(composite.Object, "status", "sharedWith")
			n, _, _ := unstructured.NestedInt64(composite.Object, "status", "accounts")
			if !slices.Equal(sharedWith, tc.wantSharedWith) || n != int64(len(tc.wantAccounts)) {
				t.Errorf("ImageShare status: accounts %d, sharedWith %v; want %d, %v", n, sharedWith, len(tc.wantAccounts), tc.wantSharedWith)
			}
			if got := readyStatus(composite); got != tc.wantReady {
				t.Errorf("ImageShare Ready: %q, want %q", got, tc.wantReady)
			}
			if t.Failed() {
				t.Logf("render output:\n%s", out)
			}
		})
	}
}

func readyStatus(o *unstructured.Unstructured) string {
	conditions, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["type"] == "Ready" {
			s, _ := c["status"].(string)
			return s
		}
	}
	return ""
}

// checkSharing checks a rendered ImageSharing against the example
// ImageShare and returns its accounts.
func checkSharing(t *testing.T, o *unstructured.Unstructured) []string {
	t.Helper()
	accounts, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "forProvider", "accounts")
	if got, want := o.GetAPIVersion(), "ecs.alibabacloud.m.crossplane.io/v1beta1"; got != want {
		t.Errorf("ImageSharing: apiVersion %s, want %s", got, want)
	}
	if got, want := o.GetNamespace(), "default"; got != want {
		t.Errorf("ImageSharing: namespace %q, want %q", got, want)
	}
	if got, want := o.GetAnnotations()["crossplane.io/composition-resource-name"], "sharing"; got != want {
		t.Errorf("ImageSharing: composition resource name %q, want %q", got, want)
	}
	fp, _, _ := unstructured.NestedMap(o.Object, "spec", "forProvider")
	if fp["region"] != "cn-shanghai" || fp["imageId"] != "m-demo0004" || len(fp) != 3 {
		t.Errorf("ImageSharing: forProvider %v, want region cn-shanghai, imageId m-demo0004 and the accounts", fp)
	}
	return accounts
}

func TestValidate(t *testing.T) {
	cli := tool(t, "CROSSPLANE")
	root := repoRoot(t)
	// Crossplane's own CRDs, from the module core is built from: validate
	// would otherwise download them in Crossplane's image.
	crossplaneCRDs, err := xp.CRDDir(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	extensions := strings.Join([]string{
		filepath.Join(root, "package", "crds"),
		filepath.Join(root, "examples", "composition", "definition.yaml"),
		crossplaneCRDs,
		// Package metadata schemas, for the function's crossplane.yaml.
		filepath.Join(filepath.Dir(crossplaneCRDs), "meta"),
	}, ",")
	example := func(path, from, to string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, "examples", path))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), from) {
			t.Fatalf("examples/%s no longer contains %q", path, from)
		}
		return write(t, filepath.Base(path), strings.Replace(string(b), from, to, 1))
	}
	tooMany := make([]string, 51)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("  - \"%016d\"", 2222222222222222+i)
	}

	cases := map[string]struct {
		resources string
		wantErr   string // in validate's output; "" for success
	}{
		"EveryExample": {
			resources: filepath.Join(root, "examples"),
		},
		"AnImageShareWithAlice": {
			resources: example("composition/imageshare.yaml", `"3333333333333333"`, "alice"),
			wantErr:   "each of accountIds must be the numeric ID of an Alibaba Cloud account",
		},
		"AnImageShareWithTooManyAccounts": {
			resources: example("composition/imageshare.yaml", "  - \"2222222222222222\"\n  - \"3333333333333333\"\n  - \"2222222222222222\"", strings.Join(tooMany, "\n")),
			wantErr:   "must have at most 50 items",
		},
		"AnImageSharePermissionWithAlice": {
			resources: example("namespaced/imagesharepermission.yaml", `"3333333333333333"`, "alice"),
			wantErr:   "accountId must be the numeric ID of an Alibaba Cloud account",
		},
		"AFunctionWithAMisspeltPackage": {
			resources: example("composition/functions.yaml", "  package:", "  pakage:"),
			wantErr:   "spec.package: Required value",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := run(t, root, cli, "resource", "validate", extensions, tc.resources,
				// Crossplane's CRDs are among the extensions: no download of
				// its image, and no cache in the home directory.
				"--crossplane-image=", "--cache-dir="+t.TempDir(),
				// A resource of a kind nobody defined would else pass.
				"--error-on-missing-schemas")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v\n%s", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out+err.Error(), tc.wantErr) {
				t.Fatalf("validate: want a failure mentioning %q, got %v\n%s", tc.wantErr, err, out)
			}
		})
	}
}
