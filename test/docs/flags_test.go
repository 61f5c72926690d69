package docs

import (
	"context"
	"maps"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/markdown"
)

// flags are a program's flags by name (without dashes); true for a boolean
// flag, which may also be written --no-name.
type flags map[string]bool

// has reports whether the flag written as name (without dashes) exists.
func (f flags) has(name string) bool {
	if _, ok := f[name]; ok {
		return true
	}
	base, negated := strings.CutPrefix(name, "no-")
	return negated && f[base]
}

var (
	// kingpinFlag is a flag line of kingpin's --help: two spaces, an
	// optional short flag, then the long one, booleans as --[no-]name.
	// Continuation lines of the help text are indented further.
	kingpinFlag = regexp.MustCompile(`^ {2}(?:-\w, | {4})--(\[no-\])?([a-z0-9][a-z0-9-]*)`)
	// goFlag is a flag line of the flag package's usage.
	goFlag = regexp.MustCompile(`^ {2}-([a-z0-9][a-z0-9-]*)( |$)`)
	// kingpinBuiltins are flags kingpin adds to every program, for help
	// itself; --help lists only --help among them. A doc may name them,
	// and need not.
	kingpinBuiltins = []string{"help", "help-long", "help-man", "completion-bash", "completion-script-bash", "completion-script-zsh"}
)

// parseKingpinHelp reads the flags in the --help output of a kingpin program.
func parseKingpinHelp(help string) flags {
	f := flags{}
	for line := range strings.SplitSeq(help, "\n") {
		if m := kingpinFlag.FindStringSubmatch(line); m != nil {
			f[m[2]] = m[1] != ""
		}
	}
	for _, b := range kingpinBuiltins {
		delete(f, b)
	}
	return f
}

// parseGoFlagHelp reads the flags in the -h output of a program that uses
// the flag package. A boolean flag takes no value, and its name is alone on
// its line; the flag package has no --no- form.
func parseGoFlagHelp(help string) flags {
	f := flags{}
	for line := range strings.SplitSeq(help, "\n") {
		if m := goFlag.FindStringSubmatch(line); m != nil {
			f[m[1]] = false
		}
	}
	return f
}

// programFlags builds the provider, the simulator and the import command
// and reads their flags from their help, as a user would: what the
// binaries accept, not what a copy of their flag definitions says. The
// import command's are those of both its commands.
func programFlags(t *testing.T, root string) (provider, simulator, importer flags) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	if err := devenv.GoBuild(ctx, root, bin+string(filepath.Separator), "./cmd/provider", "./cmd/ecs-simulator", "./cmd/ecs-shares"); err != nil {
		t.Fatal(err)
	}
	help := func(name string, args ...string) string {
		// All exit 0 on help; the flag package writes it to stderr.
		out, err := exec.CommandContext(ctx, filepath.Join(bin, name), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	provider = parseKingpinHelp(help("provider", "--help"))
	simulator = parseGoFlagHelp(help("ecs-simulator", "-h"))
	importer = parseKingpinHelp(help("ecs-shares", "import", "ecs", "--help"))
	maps.Copy(importer, parseKingpinHelp(help("ecs-shares", "import", "terraform", "--help")))
	// Guards against a change of help format that would find nothing, and
	// so check nothing.
	if !provider.has("poll") || !simulator.has("state") || !importer.has("credentials-file") || !importer.has("region-for-alias") {
		t.Fatalf("read flags %v from the provider's --help, %v from the simulator's -h and %v from the import command's: the help format changed, fix the parsing", provider, simulator, importer)
	}
	return provider, simulator, importer
}

// bareFlag is a code span that is a flag alone: `--poll` or `--poll=30s`.
var bareFlag = regexp.MustCompile(`^--([a-z0-9][a-z0-9-]*)(?:=.*)?$`)

// simulatorReadme documents the simulator: its flags and its state file.
const simulatorReadme = "cmd/ecs-simulator/README.md"

// importerDoc documents the import command, cmd/ecs-shares.
const importerDoc = "docs/migration.md"

// checkFlags checks flags both ways. The rule, so that a doc can name other
// programs' flags without an allowlist: a flag alone in a code span
// (`--poll`, `--poll=30s`) names a flag of the program its doc is about,
// and must exist. README.md and docs/ are about the provider; the
// simulator's README about the simulator (or the provider it serves);
// docs/migration.md about the import command (or the provider). Name
// another program's flag with its command (`crossplane core start
// --package-runtime=External`), or in a doc about that program
// (CONTRIBUTING.md, examples/, which are not checked this way). Every
// provider flag but --help must be named alone in a code span in some doc
// (docs/operations.md's flags table), every simulator flag in the
// simulator's README, every import command flag in docs/migration.md.
func checkFlags(t *testing.T, root string, docs map[string]*markdown.Doc) {
	provider, simulator, importer := programFlags(t, root)
	either := func(a, b flags) flags {
		f := flags{}
		maps.Copy(f, a)
		maps.Copy(f, b)
		return f
	}
	named := map[string]map[string]bool{} // flag name as written -> docs naming it alone
	for _, d := range sorted(docs) {
		var program flags
		var about string
		switch {
		case d.Path == importerDoc:
			program, about = either(importer, provider), "the import command (cmd/ecs-shares) or the provider"
		case d.Path == "README.md" || strings.HasPrefix(d.Path, "docs/"):
			program, about = provider, "the provider (cmd/provider)"
		case d.Path == simulatorReadme:
			program, about = either(simulator, provider), "the simulator or the provider"
		}
		for _, s := range d.Spans {
			m := bareFlag.FindStringSubmatch(s.Text)
			if m == nil {
				continue
			}
			if named[m[1]] == nil {
				named[m[1]] = map[string]bool{}
			}
			named[m[1]][d.Path] = true
			if program != nil && !program.has(m[1]) && !slices.Contains(kingpinBuiltins, m[1]) {
				t.Errorf("%s:%d: `%s` is no flag of %s: fix or drop it; a flag of another program is written with its command, e.g. `kubectl wait --for=...`",
					d.Path, s.Line, s.Text, about)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(provider)) {
		if len(named[name]) == 0 && (!provider[name] || len(named["no-"+name]) == 0) {
			t.Errorf("the provider's flag --%s is documented nowhere: add a row for `--%s` to docs/operations.md's flags table", name, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(simulator)) {
		if !named[name][simulatorReadme] {
			t.Errorf("the simulator's flag -%s is not documented in %s: name it there as `--%s`", name, simulatorReadme, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(importer)) {
		if !named[name][importerDoc] && (!importer[name] || !named["no-"+name][importerDoc]) {
			t.Errorf("the import command's flag --%s is not documented in %s: name it there as `--%s`", name, importerDoc, name)
		}
	}
}
