package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/ecssim"
)

// The Environment and Filesystem sources read a credentials document from
// the provider pod's own environment and files, which the examples' two
// DeploymentRuntimeConfigs fill from a Secret. Here the provider is a
// process, not a pod, and Crossplane does not run: podCredentials plays
// Crossplane and the kubelet for those DeploymentRuntimeConfigs as written,
// so that a variable or a path the example's ClusterProviderConfig names
// but its DeploymentRuntimeConfig does not provide fails the test.
const (
	envExample = "clusterproviderconfig-environment.yaml"
	fsExample  = "clusterproviderconfig-filesystem.yaml"

	// providerNamespace is the provider pod's namespace, where the Secrets
	// of its DeploymentRuntimeConfig are.
	providerNamespace = "crossplane-system"
	// runtimeContainer is the provider's container, as Crossplane names it.
	runtimeContainer = "package-runtime"

	// Set beside the examples' for scenario k: a variable nobody sets, and
	// a variable and a file holding a document cut short, whose secret
	// must appear nowhere.
	unsetVar        = "E2E_UNSET_CREDENTIALS"
	malformedVar    = "E2E_MALFORMED_CREDENTIALS"
	malformedFile   = "/etc/e2e/malformed-credentials"
	malformedSecret = "e2eMalformedDocSecret"
)

// podRoot stands for the root of the provider pod's filesystem: a path p
// in the pod is podRoot+p here. podEnv is what the pod's spec adds to its
// environment.
var (
	podRoot string
	podEnv  []string
)

// podCredentials sets podRoot to dir and podEnv from the examples'
// DeploymentRuntimeConfigs: each variable they set from a Secret key, each
// Secret volume they mount written as the kubelet writes it (a file per
// key), with the Secrets as the API server holds them.
func podCredentials(ctx context.Context, dir string) error {
	podRoot = dir
	malformed := `{"accessKeyId": "LTAIe2eMalformed0001", "accessKeySecret": "` + malformedSecret + `"`
	podEnv = []string{malformedVar + "=" + malformed}
	if err := writePodFile(malformedFile, []byte(malformed)); err != nil {
		return err
	}
	for _, path := range []string{envExample, fsExample} {
		doc, err := exampleDocument(path, "DeploymentRuntimeConfig", "", "")
		if err != nil {
			return err
		}
		var drc pkgv1beta1.DeploymentRuntimeConfig
		if err := yaml.UnmarshalStrict([]byte(doc), &drc); err != nil {
			return fmt.Errorf("examples/%s: %w", path, err)
		}
		if drc.Spec.DeploymentTemplate == nil || drc.Spec.DeploymentTemplate.Spec == nil {
			return fmt.Errorf("examples/%s: the DeploymentRuntimeConfig has no deploymentTemplate.spec", path)
		}
		pod := drc.Spec.DeploymentTemplate.Spec.Template.Spec
		i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == runtimeContainer })
		if i < 0 {
			return fmt.Errorf("examples/%s: the DeploymentRuntimeConfig changes no container named %s, the provider's", path, runtimeContainer)
		}
		c := pod.Containers[i]
		for _, e := range c.Env {
			switch {
			case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
				ref := e.ValueFrom.SecretKeyRef
				data, err := secretData(ctx, ref.Name)
				if err != nil {
					return fmt.Errorf("examples/%s: env %s: %w", path, e.Name, err)
				}
				v, ok := data[ref.Key]
				if !ok {
					return fmt.Errorf("examples/%s: env %s: Secret %s/%s has no key %q", path, e.Name, providerNamespace, ref.Name, ref.Key)
				}
				podEnv = append(podEnv, e.Name+"="+string(v))
			case e.ValueFrom == nil:
				podEnv = append(podEnv, e.Name+"="+e.Value)
			default:
				return fmt.Errorf("examples/%s: env %s: only a value or a Secret key is played here", path, e.Name)
			}
		}
		for _, m := range c.VolumeMounts {
			j := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
			if j < 0 || pod.Volumes[j].Secret == nil {
				return fmt.Errorf("examples/%s: volumeMount %s names no Secret volume", path, m.Name)
			}
			if m.SubPath != "" || len(pod.Volumes[j].Secret.Items) > 0 {
				return fmt.Errorf("examples/%s: volume %s: subPath and items are not played here", path, m.Name)
			}
			data, err := secretData(ctx, pod.Volumes[j].Secret.SecretName)
			if err != nil {
				return fmt.Errorf("examples/%s: volume %s: %w", path, m.Name, err)
			}
			for key, v := range data {
				if err := writePodFile(filepath.Join(m.MountPath, key), v); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// secretData is the data of a Secret of the provider's namespace.
func secretData(ctx context.Context, name string) (map[string][]byte, error) {
	out, err := cp.Kubectl(ctx, "", "get", "secret", name, "-n", providerNamespace, "-o", "json")
	if err != nil {
		return nil, err
	}
	var s struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return nil, err
	}
	data := make(map[string][]byte, len(s.Data))
	for k, v := range s.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, err
		}
		data[k] = b
	}
	return data, nil
}

// writePodFile writes the file at path p of the pod, whole or not at all
// (the kubelet swaps a symlink to the same end).
func writePodFile(p string, content []byte) error {
	path := filepath.Join(podRoot, p)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// examplePrincipal is who the key of examples/secret.yaml, the document the
// examples' DeploymentRuntimeConfigs give the pod, acts as.
var examplePrincipal = "acs:ram::" + owner + ":user/" + ecssim.DefaultUser

// testEnvironment applies the Environment example as written: the variable
// its DeploymentRuntimeConfig sets from the example Secret must serve a
// share, and the configuration must say whom it acts as.
func testEnvironment(t *testing.T) {
	kubectl(t, exampleDoc(t, envExample, "ClusterProviderConfig", "", simulatorEndpoint()), "apply", "-f", "-")
	kubectl(t, shareIn("default", "cred-env", "m-environ1", partner, "ClusterProviderConfig", "environment"), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "cred-env")
	if got := sharedWith(t, credRegion, "m-environ1"); !slices.Equal(got, []string{partner}) {
		t.Errorf("m-environ1 is shared with %v, want [%s]", got, partner)
	}
	madeBy(t, "m-environ1", examplePrincipal)
	waitIdentityAs(t, clusterPC, "", "environment", "RAMUser", examplePrincipal, owner)
}

// testFilesystem applies the Filesystem example, its path moved under
// podRoot, then rotates the file as the kubelet does when the Secret
// changes: the provider must read it again without a restart, as the
// example says.
func testFilesystem(t *testing.T) {
	doc := exampleDoc(t, fsExample, "ClusterProviderConfig", "", simulatorEndpoint(), "path: /", "path: "+podRoot+"/")
	var pc struct {
		Spec struct {
			Credentials struct {
				Fs struct {
					Path string `json:"path"`
				} `json:"fs"`
			} `json:"credentials"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(doc), &pc); err != nil {
		t.Fatal(err)
	}
	kubectl(t, doc, "apply", "-f", "-")
	kubectl(t, shareIn("default", "cred-fs", "m-filesys1", partner, "ClusterProviderConfig", "filesystem"), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "cred-fs")
	if got := sharedWith(t, credRegion, "m-filesys1"); !slices.Equal(got, []string{partner}) {
		t.Errorf("m-filesys1 is shared with %v, want [%s]", got, partner)
	}
	madeBy(t, "m-filesys1", examplePrincipal)
	waitIdentityAs(t, clusterPC, "", "filesystem", "RAMUser", examplePrincipal, owner)

	rotated := credUsers["rotated"]
	creds, err := json.Marshal(map[string]string{"accessKeyId": rotated.ID, "accessKeySecret": rotated.Secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := writePodFile(strings.TrimPrefix(pc.Spec.Credentials.Fs.Path, podRoot), creds); err != nil {
		t.Fatal(err)
	}
	kubectl(t, shareIn("default", "cred-fs-rotated", "m-filesys2", partner, "ClusterProviderConfig", "filesystem"), "apply", "-f", "-")
	waitReady(t, namespacedISP, "default", "cred-fs-rotated")
	madeBy(t, "m-filesys2", "acs:ram::"+owner+":user/"+rotated.User)
}

// testPodDocumentBad names a variable nobody set, a file nobody mounted,
// and a variable and a file holding a document cut short: each must fail
// on the share and on the configuration, naming the variable or path and
// what to do, quoting no secret, and reaching neither STS nor ECS.
func testPodDocumentBad(t *testing.T) {
	const image = "m-podbad01"
	missingFile := podRoot + "/etc/alibabacloud/absent"
	cases := []struct {
		name, credentials, want string
	}{
		{"pod-env-unset", "{source: Environment, env: {name: " + unsetVar + "}}",
			"credentials are empty: environment variable " + unsetVar + " of the provider's pod is unset or empty; set it to the credentials document, e.g. from a Secret with the DeploymentRuntimeConfig the Provider names"},
		{"pod-file-missing", "{source: Filesystem, fs: {path: " + missingFile + "}}",
			"cannot read credentials from file " + missingFile + " of the provider's pod: it is missing, unreadable or not a file; mount a Secret holding the credentials document there with the DeploymentRuntimeConfig the Provider names"},
		{"pod-env-malformed", "{source: Environment, env: {name: " + malformedVar + "}}",
			"credentials in environment variable " + malformedVar + " of the provider's pod: the credentials are not a JSON object"},
		{"pod-file-malformed", "{source: Filesystem, fs: {path: " + podRoot + malformedFile + "}}",
			"credentials in file " + podRoot + malformedFile + " of the provider's pod: the credentials are not a JSON object"},
	}
	var manifest strings.Builder
	for i, c := range cases {
		fmt.Fprintf(&manifest, `---
apiVersion: alibabacloud.m.crossplane.io/v1beta1
kind: ClusterProviderConfig
metadata: {name: %s}
spec:
%s  credentials: %s
`, c.name, simulatorEndpoint(), c.credentials)
		manifest.WriteString(shareIn("default", c.name, image, fmt.Sprintf("42%014d", i), "ClusterProviderConfig", c.name))
	}
	kubectl(t, manifest.String(), "apply", "-f", "-")
	for _, c := range cases {
		waitSyncedFalse(t, namespacedISP, "default", c.name, c.want)
		o, _ := get(t, namespacedISP, "default", c.name)
		t.Logf("%s: Synced=False: %s", c.name, o.condition("Synced").Message)
		eventually(t, 90*time.Second, func() string {
			pc := getConfig(t, clusterPC, "", c.name)
			a := pc.condition("Authenticated")
			if a.Status != "False" || a.Reason != "AuthenticationFailed" || !strings.Contains(a.Message, c.want) {
				return fmt.Sprintf("%s: Authenticated=%s %s %q, want False AuthenticationFailed with %q", c.name, a.Status, a.Reason, a.Message, c.want)
			}
			if pc.Status.Identity != nil {
				return fmt.Sprintf("%s: status.identity %+v on a configuration that never authenticated", c.name, *pc.Status.Identity)
			}
			return ""
		})
	}
	seen := kubectl(t, "", "get", namespacedISP+","+clusterPC, "-A", "-o", "json") + kubectl(t, "", "get", "events", "-A", "-o", "json")
	if strings.Contains(seen, malformedSecret) {
		t.Error("a malformed document's secret is in a condition or an event")
	}
	if calls := sim.CallsBy(func(c ecssim.Call) string { return c.Action }, onImages(image)); len(calls) > 0 {
		t.Errorf("ECS was called for configurations without credentials: %v", calls)
	}
	if calls := sim.CallsBy(func(c ecssim.Call) string { return c.Action }, func(c ecssim.Call) bool {
		return strings.HasPrefix(c.AccessKeyID, "LTAIe2eMalformed")
	}); len(calls) > 0 {
		t.Errorf("the malformed document's key reached the simulator: %v", calls)
	}
}

// testNamespaceSelector applies the namespaceSelector example as written
// and labels a namespace with the command its comment gives: a share in
// that namespace is served with the example Secret's key, one in a
// namespace without the label is refused, saying what to do, and reaches
// no endpoint.
func testNamespaceSelector(t *testing.T) {
	const path = "clusterproviderconfig-namespaceselector.yaml"
	b, err := os.ReadFile(filepath.Join(root, "examples", path))
	if err != nil {
		t.Fatal(err)
	}
	var label []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if _, cmd, ok := strings.Cut(line, "kubectl label namespace "); ok {
			label = append([]string{"label", "namespace"}, strings.Fields(cmd)...)
		}
	}
	if len(label) != 4 {
		t.Fatalf("examples/%s no longer says how to label a namespace (kubectl label namespace <name> <key>=<value>)", path)
	}
	admitted, refused := label[2], "cred-unlabelled"
	kubectl(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", admitted, refused), "apply", "-f", "-")
	kubectl(t, "", label...)
	kubectl(t, exampleDoc(t, path, "ClusterProviderConfig", "", simulatorEndpoint()), "apply", "-f", "-")
	kubectl(t, shareIn(admitted, "selected", "m-nssel001", partner, "ClusterProviderConfig", "golden-images")+
		shareIn(refused, "unselected", "m-nssel002", partner, "ClusterProviderConfig", "golden-images"), "apply", "-f", "-")

	waitReady(t, namespacedISP, admitted, "selected")
	madeBy(t, "m-nssel001", examplePrincipal)
	waitIdentityAs(t, clusterPC, "", "golden-images", "RAMUser", examplePrincipal, owner)
	waitSyncedFalse(t, namespacedISP, refused, "unselected",
		`ClusterProviderConfig "golden-images" does not admit namespace "`+refused+`": its spec.namespaceSelector (matchLabels `+label[3]+`) does not match the namespace's labels; ask the cluster administrator to label the namespace`)
	if calls := sim.CallsBy(func(c ecssim.Call) string { return c.Action }, onImages("m-nssel002")); len(calls) > 0 {
		t.Errorf("ECS was called for a namespace the selector refuses: %v", calls)
	}
}
