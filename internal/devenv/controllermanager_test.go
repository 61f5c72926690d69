package devenv

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestControllerManager runs kube-controller-manager beside the control
// plane and checks that deletes behave as on a real cluster: a dependent
// goes with its owner, a foreground delete completes, a namespace empties
// and goes; and that its death is reported when the control plane stops.
func TestControllerManager(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if testing.Short() || assets == "" {
		t.Skip("needs the control plane binaries named by KUBEBUILDER_ASSETS (make test), and no -short")
	}
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(t.TempDir(), "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			if err := cp.Stop(); err != nil {
				t.Errorf("stopping the control plane: %v", err)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	kcm, err := cp.StartControllerManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-controller-manager collected its probe %v after it started", time.Since(begin).Round(time.Millisecond))
	if _, err := cp.StartControllerManager(ctx); err == nil {
		t.Error("a second kube-controller-manager started beside the first")
	}
	kube, err := client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}

	// pair creates an owner ConfigMap and a dependent that, like a composed
	// resource, blocks its owner's foreground deletion.
	pair := func(t *testing.T, ns, name string) (owner, dependent *corev1.ConfigMap) {
		t.Helper()
		owner = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if err := kube.Create(ctx, owner); err != nil {
			t.Fatal(err)
		}
		block := true
		dependent = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-dependent", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, BlockOwnerDeletion: &block,
		}}}}
		if err := kube.Create(ctx, dependent); err != nil {
			t.Fatal(err)
		}
		return owner, dependent
	}
	gone := func(t *testing.T, o client.Object) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			err := kube.Get(ctx, client.ObjectKeyFromObject(o), o)
			if apierrors.IsNotFound(err) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%T %s/%s is still there a minute on (finalizers %v); kube-controller-manager's output ends:\n%s",
					o, o.GetNamespace(), o.GetName(), o.GetFinalizers(), kcm.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("DependentGoesWithItsOwner", func(t *testing.T) {
		owner, dependent := pair(t, "default", "background")
		if err := kube.Delete(ctx, owner, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		gone(t, dependent)
	})

	t.Run("ForegroundDeleteCompletes", func(t *testing.T) {
		owner, dependent := pair(t, "default", "foreground")
		if err := kube.Delete(ctx, owner, client.PropagationPolicy(metav1.DeletePropagationForeground)); err != nil {
			t.Fatal(err)
		}
		// The API server holds the owner behind the foregroundDeletion
		// finalizer, which only the garbage collector removes, once the
		// dependent is gone.
		if err := kube.Get(ctx, client.ObjectKeyFromObject(owner), owner); err == nil && !slices.Contains(owner.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Errorf("the owner, deleted in the foreground, has finalizers %v; want %s", owner.Finalizers, metav1.FinalizerDeleteDependents)
		}
		gone(t, dependent)
		gone(t, owner)
	})

	t.Run("NamespaceEmptiesAndGoes", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
		if err := kube.Create(ctx, ns); err != nil {
			t.Fatal(err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "content"}}
		if err := kube.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
		if err := kube.Delete(ctx, ns); err != nil {
			t.Fatal(err)
		}
		gone(t, cm)
		gone(t, ns)
	})

	// A kube-controller-manager that died under the tests is reported, with
	// its output, when the control plane stops.
	if err := kcm.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-kcm.Done()
	stopped = true
	if err := cp.Stop(); err == nil || !strings.Contains(err.Error(), "kube-controller-manager had exited") {
		t.Errorf("stopping the control plane after kube-controller-manager died: got %v, want its death reported", err)
	}
}
