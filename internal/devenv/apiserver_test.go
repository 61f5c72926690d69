package devenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestRestartAPIServer restarts kube-apiserver twice (envtest's process,
// then its own) and checks that the same configuration reaches it and that
// etcd kept what was written.
func TestRestartAPIServer(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if testing.Short() || assets == "" {
		t.Skip("needs the control plane binaries named by KUBEBUILDER_ASSETS (make test), and no -short")
	}
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cp, err := StartControlPlane(assets, filepath.Join(root, "package", "crds"), filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	}()
	kube, err := client.New(cp.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "survivor"}, Data: map[string]string{"k": "v"}}
	if err := kube.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		begin := time.Now()
		if err := cp.RestartAPIServer(ctx, time.Second); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		t.Logf("restart %d: serving again after %v", i+1, time.Since(begin).Round(time.Millisecond))
		got := &corev1.ConfigMap{}
		if err := kube.Get(ctx, client.ObjectKeyFromObject(cm), got); err != nil || got.Data["k"] != "v" {
			t.Fatalf("after restart %d: %v %v", i+1, err, got.Data)
		}
	}
}
