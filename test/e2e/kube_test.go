package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

// kubectl runs kubectl and fails the test if it fails.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectlErr(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kubectlErr(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return cp.Kubectl(ctx, stdin, args...)
}

// eventually polls check every 250ms until it returns "" (done) or timeout
// passes; then it fails with check's last word.
func eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if err := providerExited(); err != nil {
			t.Fatal(err)
		}
		last := check()
		if last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// condition is one status condition of an object.
type condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason"`
	Message            string    `json:"message"`
	LastTransitionTime time.Time `json:"lastTransitionTime"`
}

type object struct {
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		Annotations       map[string]string `json:"annotations"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
	} `json:"metadata"`
	Status struct {
		Conditions []condition     `json:"conditions"`
		AtProvider json.RawMessage `json:"atProvider"`
	} `json:"status"`
}

func (o object) condition(typ string) condition {
	for _, c := range o.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return condition{Type: typ, Status: "Unknown"}
}

// get reads an object; ns is "" for a cluster-scoped one.
func get(t *testing.T, resource, ns, name string) (object, bool) {
	t.Helper()
	args := []string{"get", resource, name, "-o", "json"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	out, err := kubectlErr("", args...)
	if err != nil {
		if strings.Contains(out, "NotFound") {
			return object{}, false
		}
		t.Fatal(err)
	}
	var o object
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return o, true
}

// The two ImageSharePermission kinds, by their full resource names.
const (
	namespacedISP = "imagesharepermissions.ecs.alibabacloud.m.crossplane.io"
	clusterISP    = "imagesharepermissions.ecs.alibabacloud.crossplane.io"
)

// share is an ImageSharePermission manifest, namespaced (in default) or
// cluster-scoped; extraSpec is YAML indented to sit under spec (e.g.
// "  managementPolicies: [Observe]\n").
func share(namespaced bool, name, image, account, extraSpec string) string {
	group, meta := "ecs.alibabacloud.crossplane.io", "  name: "+name+"\n"
	if namespaced {
		group, meta = "ecs.alibabacloud.m.crossplane.io", meta+"  namespace: default\n"
	}
	return fmt.Sprintf(`apiVersion: %s/v1beta1
kind: ImageSharePermission
metadata:
%sspec:
%s  forProvider:
    region: cn-hangzhou
    imageId: %s
    accountId: "%s"
`, group, meta, extraSpec, image, account)
}

// waitReady waits for Ready=True and Synced=True.
func waitReady(t *testing.T, resource, ns, name string) object {
	t.Helper()
	var o object
	eventually(t, 90*time.Second, func() string {
		var ok bool
		if o, ok = get(t, resource, ns, name); !ok {
			return name + " does not exist"
		}
		r, s := o.condition("Ready"), o.condition("Synced")
		if r.Status != "True" || s.Status != "True" {
			return fmt.Sprintf("%s: Ready=%s Synced=%s %s", name, r.Status, s.Status, s.Message)
		}
		return ""
	})
	return o
}

// waitSyncedFalse waits until Synced=False with a message containing want.
func waitSyncedFalse(t *testing.T, resource, ns, name, want string) {
	t.Helper()
	eventually(t, 90*time.Second, func() string {
		o, ok := get(t, resource, ns, name)
		if !ok {
			return name + " does not exist"
		}
		if s := o.condition("Synced"); s.Status != "False" || !strings.Contains(s.Message, want) {
			return fmt.Sprintf("%s: Synced=%s %q, want False with %q", name, s.Status, s.Message, want)
		}
		return ""
	})
}

// sharedWith is the simulator's true list of accounts for an image.
func sharedWith(t *testing.T, region, image string) []string {
	t.Helper()
	got, err := sim.SharedWith(region, image)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func modifySuccesses() uint64 {
	return sim.Counters()["ModifyImageSharePermission"]["Success"]
}

// simulatorEndpoint is the YAML, indented to sit under spec, that points a
// provider configuration at the simulator for ECS and STS (where the
// provider checks who the credentials act as) and trusts its test CA.
func simulatorEndpoint() string {
	return simulatorEndpointIn("crossplane-system")
}

// simulatorEndpointIn is simulatorEndpoint with the CA Secret in ns, as a
// namespaced ProviderConfig must have it.
func simulatorEndpointIn(ns string) string {
	return fmt.Sprintf("  endpoint: %[1]s\n  stsEndpoint: %[1]s\n  tls: {caBundleSecretRef: {namespace: %[2]s, name: %[3]s, key: ca.crt}}\n",
		sim.URL, ns, devenv.SimulatorCASecret)
}
