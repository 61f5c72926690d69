package devenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFailedStartLeavesNothingRunning: when the control plane comes up but
// its CRDs cannot be installed, StartControlPlane fails and stops etcd and
// kube-apiserver rather than leaving them running past the test.
func TestFailedStartLeavesNothingRunning(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" || testing.Short() {
		t.Skip("needs the control plane binaries named by KUBEBUILDER_ASSETS (make test), and no -short")
	}
	dir := t.TempDir()
	if _, err := StartControlPlane(assets, filepath.Join(dir, "no-crds"), filepath.Join(dir, "kubeconfig")); err == nil {
		t.Fatal("StartControlPlane with a missing CRD folder succeeded, want an error")
	}
	if left := children(t); len(left) > 0 {
		t.Errorf("after a failed start these children of the test still run: %v", left)
	}
}

// children lists the command names of this process's running children.
func children(t *testing.T) []string {
	t.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, p := range procs {
		stat, err := os.ReadFile(filepath.Join("/proc", p.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after it.
		s := string(stat)
		end := strings.LastIndexByte(s, ')')
		fields := strings.Fields(s[end+1:])
		if len(fields) > 1 && fields[1] == self && fields[0] != "Z" {
			out = append(out, s[strings.IndexByte(s, '(')+1:end])
		}
	}
	return out
}
