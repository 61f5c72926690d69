package crossplane

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// skipMarker marks a line of a README's sh block that the test does not run
// because the harness has done it: building and publishing the packages.
// examples/composition/README.md documents it.
const skipMarker = "# test/crossplane skips this line:"

// readmeCommands are the commands of the ```sh blocks under the heading
// section of the Markdown file (its subsections included), in order, each
// as kubectl's arguments. A line carrying skipMarker is left out; every
// other line must be a plain kubectl command (no shell: quotes, variables,
// pipes), else it is an error, so that the README holds no step the test
// does not take.
func readmeCommands(file, section string) ([][]string, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blocks, found := markdown.Parse(file, string(text)).Section(section)
	if !found {
		return nil, fmt.Errorf("%s has no heading %q", file, section)
	}
	var cmds [][]string
	for _, b := range blocks {
		if b.Lang != "sh" {
			continue
		}
		for i, line := range strings.Split(b.Text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.Contains(line, skipMarker) {
				continue
			}
			if strings.ContainsAny(line, "'\"$|&;<>`\\#") {
				return nil, fmt.Errorf("%s:%d: %q is not a plain command this test can run; mark it with %q if the test does it itself", file, b.Line+i, line, skipMarker)
			}
			args := strings.Fields(line)
			if args[0] != "kubectl" {
				return nil, fmt.Errorf("%s:%d: %q is not a kubectl command; mark it with %q if the test does it itself", file, b.Line+i, line, skipMarker)
			}
			cmds = append(cmds, args[1:])
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%s has no kubectl command in a sh block under %q", file, section)
	}
	return cmds, nil
}

// runReadme runs the kubectl commands of the section of the README at file,
// in order, from the repository root, as a user following it does.
func runReadme(t *testing.T, file, section string) {
	t.Helper()
	cmds, err := readmeCommands(file, section)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range cmds {
		ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
		cmd := world.ControlPlane.KubectlCmd(ctx, args...)
		cmd.Dir = world.Root
		begin := time.Now()
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("kubectl %s (%v):\n%s", strings.Join(args, " "), time.Since(begin).Round(time.Millisecond), out)
		if err != nil {
			t.Fatalf("kubectl %s, as %s tells a user: %v", strings.Join(args, " "), file, err)
		}
	}
}

// The runner reads what it must and refuses what it cannot run.
func TestReadmeCommands(t *testing.T) {
	cases := map[string]struct {
		reason string
		md     string
		want   string // the commands, one a line, or the error's start
	}{
		"Section": {
			reason: "Only the sh blocks of the section and its subsections are run, skipped lines left out.",
			md: "# T\n```sh\nkubectl get a\n```\n## On a cluster\n1. x\n   ```sh\n   make publish   " + skipMarker + " it builds\n   kubectl apply -f a.yaml\n   ```\n" +
				"### Sub\n```sh\nkubectl wait --for=condition=Ready b/c\n```\n```yaml\nkubectl: no\n```\n## Next\n```sh\nkubectl get z\n```\n",
			want: "apply -f a.yaml\nwait --for=condition=Ready b/c",
		},
		"NotKubectl": {
			reason: "A line that is neither kubectl nor marked would be a step the test does not take.",
			md:     "## On a cluster\n```sh\nmake publish\n```\n",
			want:   "error",
		},
		"Shell": {
			reason: "The runner does not interpret shell.",
			md:     "## On a cluster\n```sh\nkubectl get a | grep b\n```\n",
			want:   "error",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			file := t.TempDir() + "/README.md"
			if err := os.WriteFile(file, []byte(tc.md), 0o600); err != nil {
				t.Fatal(err)
			}
			cmds, err := readmeCommands(file, "On a cluster")
			got := "error"
			if err == nil {
				lines := make([]string, 0, len(cmds))
				for _, c := range cmds {
					lines = append(lines, strings.Join(c, " "))
				}
				got = strings.Join(lines, "\n")
			}
			if got != tc.want {
				t.Errorf("%s\ngot %q (err %v), want %q", tc.reason, got, err, tc.want)
			}
		})
	}
}
