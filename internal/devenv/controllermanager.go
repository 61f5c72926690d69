package devenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// controllerManagerArgs are kube-controller-manager's flags beside the
// kubeconfig: of all its controllers only the garbage collector, which
// deletes dependents whose owners are gone and finishes foreground deletions
// (removes the foregroundDeletion finalizer once the dependents that block it
// are gone), and the namespace controller, which empties and finishes
// deleted namespaces. Without them an API server alone leaves both stuck, as
// a real cluster never does. It is the only instance, so no leader
// election; each controller uses the admin kubeconfig rather than a service
// account of its own (which would need the token controller and a signing
// key); and it serves nothing (no /healthz, no metrics), so it takes no port.
var controllerManagerArgs = []string{
	"--controllers=garbagecollector,namespace",
	"--leader-elect=false",
	"--use-service-account-credentials=false",
	"--secure-port=0",
}

// ControllerManager is kube-controller-manager running beside the control
// plane, started by StartControllerManager and stopped with it.
type ControllerManager struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how it exited, never nil once done is closed
	log  *tailBuffer
}

// StartControllerManager runs kube-controller-manager (built beside
// kube-apiserver by `make controlplane`) against the control plane as an
// administrator, with only the garbage-collector and namespace controllers,
// no leader election and no port, and returns once its garbage collector has
// collected a probe: a ConfigMap in kube-system owned by one that is then
// deleted. Stop stops it before the API server; its output is kept for the
// errors that report its failures.
//
// The garbage collector learns of kinds whose CRDs appear after it starts
// (Crossplane's composite and managed resources) at its next discovery,
// within 30 seconds: until then it does not see objects of those kinds, and
// it catches up once it does.
func (c *ControlPlane) StartControllerManager(ctx context.Context) (*ControllerManager, error) {
	if c.controllerManager != nil {
		return nil, errors.New("kube-controller-manager is already running beside this control plane")
	}
	bin := filepath.Join(c.env.BinaryAssetsDirectory, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("kube-controller-manager is missing from %s: run `make controlplane` to build it", c.env.BinaryAssetsDirectory)
	}
	cmd := exec.Command(bin, append([]string{"--kubeconfig=" + c.Kubeconfig}, controllerManagerArgs...)...)
	// Its own process group, as envtest's processes: a terminal's Ctrl-C
	// reaches the test, which stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m := &ControllerManager{cmd: cmd, done: make(chan struct{}), log: &tailBuffer{max: 16 << 10}}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start kube-controller-manager: %w", err)
	}
	go func() {
		// It runs until stopped: even a clean exit is a failure to report.
		if m.err = cmd.Wait(); m.err == nil {
			m.err = errors.New("exit status 0")
		}
		close(m.done)
	}()
	c.controllerManager = m
	if err := m.probe(ctx, c); err != nil {
		// The error below carries its output, which is all Stop would add.
		_ = c.stopControllerManager()
		return nil, fmt.Errorf("kube-controller-manager is not collecting garbage: %w; its output ends:\n%s", err, m.Log())
	}
	return m, nil
}

// probe waits, for up to two minutes, until the garbage collector deletes a
// dependent whose owner was deleted: then it has discovered the API and
// synced its informers.
func (m *ControllerManager) probe(ctx context.Context, c *ControlPlane) error {
	kube, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	cms := kube.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	owner, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "devenv-gc-probe-"}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	dependent, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		GenerateName:    owner.Name + "-",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}},
	}}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	// Background, a plain delete's default: the owner goes at once and the
	// dependent is the collector's to delete.
	background := metav1.DeletePropagationBackground
	if err := cms.Delete(ctx, owner.Name, metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := cms.Get(ctx, dependent.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return err
		case time.Now().After(deadline):
			return fmt.Errorf("ConfigMap kube-system/%s outlived its deleted owner by two minutes", dependent.Name)
		}
		select {
		case <-m.done:
			return fmt.Errorf("it exited: %w", m.err)
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Log is the end of kube-controller-manager's output, to say why it failed.
func (m *ControllerManager) Log() string { return m.log.String() }

// Done is closed when kube-controller-manager has exited.
func (m *ControllerManager) Done() <-chan struct{} { return m.done }

// stopControllerManager stops a kube-controller-manager that
// StartControllerManager started, before the API server goes, and says if it
// had exited on its own before.
func (c *ControlPlane) stopControllerManager() error {
	m := c.controllerManager
	if m == nil {
		return nil
	}
	c.controllerManager = nil
	select {
	case <-m.done:
		return fmt.Errorf("kube-controller-manager had exited (%w); its output ends:\n%s", m.err, m.Log())
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	return nil
}
