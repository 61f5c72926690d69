package composition

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFunctionBuildsWithTheProvidersVersions checks that every module both
// Go modules compile packages from (binaries and tests) is at one version in
// both. The function is a module of its own, but the Go build cache shares a
// compiled package between the two only when it and everything it imports
// are the same: one x/sys or client-go apart, and a new machine compiles
// Kubernetes' client, gRPC and crossplane-runtime once more for the
// function, for each platform, for lint and for the race detector (its
// race-detector test build alone took 193 CPU-seconds of CI's first run
// when the two were apart; CONTRIBUTING.md, What CI costs).
func TestFunctionBuildsWithTheProvidersVersions(t *testing.T) {
	root := repoRoot(t)
	provider := buildModules(t, root)
	function := buildModules(t, filepath.Join(root, "examples", "composition", "function"))

	var apart, wanted []string
	for path, fv := range function {
		if pv, ok := provider[path]; ok && pv != fv {
			apart = append(apart, path+"@"+pv+" (the function has "+fv+")")
			wanted = append(wanted, path+"@"+pv)
		}
	}
	slices.Sort(apart)
	slices.Sort(wanted)
	if len(apart) > 0 {
		t.Errorf("examples/composition/function compiles %d modules at other versions than the provider does, so a new machine compiles them twice:\n  %s\n"+
			"move the function to the provider's versions:\n  cd examples/composition/function && go get %s && go mod tidy\n"+
			"(where go get refuses because the function needs a newer one, raise the provider's instead)",
			len(apart), strings.Join(apart, "\n  "), strings.Join(wanted, " "))
	}
}

// buildModules returns the version of each module that the packages of the
// Go module in dir, their tests included, compile packages from.
func buildModules(t *testing.T, dir string) map[string]string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "-test", "-f", "{{with .Module}}{{.Path}} {{.Version}}{{end}}", "./...")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg += ": " + string(ee.Stderr)
		}
		t.Fatalf("go list in %s: %s", dir, msg)
	}
	modules := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, version, ok := strings.Cut(line, " ")
		if ok && version != "" { // the main module has no version
			modules[path] = version
		}
	}
	return modules
}
