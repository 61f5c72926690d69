package crossplane

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// kubectl runs kubectl against the world and fails the test if it fails.
func kubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := world.ControlPlane.Kubectl(ctx, stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// eventually polls check every 250ms until it returns "" (done) or timeout
// passes; then it fails with check's last word. It fails at once when
// Crossplane, the provider or the function has exited.
func eventually(t *testing.T, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if err := world.Err(); err != nil {
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

type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// object is what the suite reads of any object.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		Labels            map[string]string `json:"labels"`
		Finalizers        []string          `json:"finalizers"`
		DeletionTimestamp string            `json:"deletionTimestamp"`
		OwnerReferences   []struct {
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			Controller bool   `json:"controller"`
		} `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		ForProvider struct {
			Region    string   `json:"region"`
			ImageID   string   `json:"imageId"`
			AccountID string   `json:"accountId"`
			Accounts  []string `json:"accounts"`
		} `json:"forProvider"`
		// A package revision's.
		DesiredState string `json:"desiredState"`
		// A ManagedResourceDefinition's.
		State string `json:"state"`
	} `json:"spec"`
	Status struct {
		Conditions        []condition `json:"conditions"`
		Accounts          *int        `json:"accounts"`
		SharedWith        []string    `json:"sharedWith"`
		CurrentRevision   string      `json:"currentRevision"`
		CurrentIdentifier string      `json:"currentIdentifier"`
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

func (o object) String() string {
	s := fmt.Sprintf("%s %s", o.Kind, o.Metadata.Name)
	if o.Metadata.DeletionTimestamp != "" {
		s += fmt.Sprintf(" (deleting since %s, finalizers %v)", o.Metadata.DeletionTimestamp, o.Metadata.Finalizers)
	}
	return s
}

// list reads the objects `kubectl get args...` names.
func list(t *testing.T, args ...string) []object {
	t.Helper()
	out := kubectl(t, "", append([]string{"get", "-o", "json"}, args...)...)
	var l struct {
		Items []object `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return l.Items
}

// get reads one object; false when it does not exist.
func get(t *testing.T, args ...string) (object, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := world.ControlPlane.Kubectl(ctx, "", append([]string{"get", "-o", "json"}, args...)...)
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

// sorted is a sorted copy, for comparing sets of accounts.
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
