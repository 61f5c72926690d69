// Command bench measures the provider at scale, as `make bench` runs it: a
// real etcd and kube-apiserver, the ECS simulator with ECS's rate limits and
// latency, and the provider binary as a process of its own. It creates
// images × accounts namespaced ImageSharePermissions (or, in the sharing
// mode, one ImageSharing per image) at once and reports how
// long they take to become Ready, what that and keeping them cost in ECS
// calls, how long deleting them takes, and the provider's memory and CPU.
// It does so once per mode: the provider's defaults ("shared"), the same
// with every object created before the provider starts ("backlog", as
// after an upgrade, a crash or a GitOps sync that lands first), the
// defaults with sharing and batching switched off ("unshared", the
// baseline), and with ECS's rate limits lifted ("unlimited"). With -secrets N
// it measures something else instead: the provider's peak memory in a
// cluster holding N Secrets it never reads, with and without
// --cache-secrets (secrets.go).
//
// These are figures, not verdicts: the targets are marked met or
// missed, and the exit status only says whether every mode ran to the end.
// It reads the provider's memory and CPU from /proc, so it runs on Linux.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

func main() {
	// The bench's own watch would otherwise complain, with a stack, that
	// controller-runtime has no logger; it has nothing to say worth reading.
	ctrllog.SetLogger(logr.Discard())
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// settings shape every mode of one run alike.
type settings struct {
	images, accounts int
	// describeRate and modifyRate are the simulator's per-action limits,
	// calls a second, each with a burst of one second's worth.
	describeRate, modifyRate float64
	// Every ECS call waits latency plus up to jitter, uniformly.
	latency, jitter time.Duration
	// poll is the provider's --poll.
	poll  time.Duration
	modes []mode
	out   string
	// providerArgs are added to every mode's provider command line, and
	// providerEnv ("NAME=value") to its environment.
	providerArgs, providerEnv []string
	// timeout bounds each wait: for the provider, for Ready, for deletion.
	timeout time.Duration
	// secrets, when not 0, makes the run the Secrets measurement
	// (secrets.go) instead of the modes.
	secrets int
}

func (s settings) resources() int { return s.images * s.accounts }

// mode is one way of running the same workload.
type mode struct {
	name string
	// args are the provider flags that make this mode, beside --poll.
	args []string
	// limited is whether the simulator enforces ECS's rate limits.
	limited bool
	// backlog creates every object before the provider starts, rather than
	// while it runs.
	backlog bool
	// kind is what the workload is made of.
	kind kind
	// rollout publishes a new version of every image's family once all
	// are Ready, and measures how long the accounts take to have it.
	rollout bool
	// floor runs no provider and no ECS: the bench makes the writes a
	// managed reconciler must make itself (floor.go).
	floor bool
}

var modes = []mode{
	{name: "shared", limited: true, kind: permissions},
	{name: "backlog", limited: true, backlog: true, kind: permissions},
	// kingpin's bool flags take no value: --no-x is --x=false.
	{name: "unshared", args: []string{"--no-coalesce-ecs-calls"}, limited: true, kind: permissions},
	{name: "unlimited", kind: permissions},
	// The same shares, one ImageSharing per image.
	{name: "sharing", limited: true, kind: sharings},
	// One ImageSharing per image's family, and a new version of each.
	{name: "family", limited: true, kind: families, rollout: true},
	// What the API server alone allows, for either kind.
	{name: "floor", kind: permissions, floor: true},
	{name: "floor-sharing", kind: sharings, floor: true},
}

func parseSettings(args []string) (settings, error) {
	s := settings{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.IntVar(&s.images, "images", 20, "images to share")
	fs.IntVar(&s.accounts, "accounts", 50, "accounts to share each image with: one ImageSharePermission each")
	fs.Float64Var(&s.describeRate, "describe-rate", 20, "DescribeImageSharePermission calls a second ECS allows (burst: one second's worth)")
	fs.Float64Var(&s.modifyRate, "modify-rate", 10, "ModifyImageSharePermission calls a second ECS allows (burst: one second's worth)")
	fs.DurationVar(&s.latency, "latency", 10*time.Millisecond, "fixed latency of every ECS call")
	fs.DurationVar(&s.jitter, "jitter", 20*time.Millisecond, "random latency added to every ECS call, up to this (10ms+20ms: 20±10 ms)")
	fs.DurationVar(&s.poll, "poll", 30*time.Second, "the provider's --poll")
	modeList := fs.String("modes", "shared,backlog,unshared,unlimited,sharing,family,floor,floor-sharing", "which modes to run, in order: shared (the provider's defaults), backlog (the same, every object created before the provider starts), "+
		"unshared (--no-coalesce-ecs-calls: sharing and batching off), unlimited (no ECS rate limits), sharing (the shared mode's shares as one ImageSharing per image), "+
		"family (one ImageSharing per image's family; then a new version of every family, rolled out), "+
		"floor and floor-sharing (no provider, no ECS: the Kubernetes writes alone, for either kind)")
	fs.StringVar(&s.out, "out", "", "where to write the figures and the provider logs (default _output/bench)")
	extra := fs.String("provider-args", "", "more provider flags for every mode, separated by spaces")
	env := fs.String("provider-env", "", "NAME=value settings added to every mode's provider environment, separated by spaces, such as GOMEMLIMIT=96MiB")
	fs.DurationVar(&s.timeout, "timeout", 30*time.Minute, "how long each wait (provider start, all Ready, all deleted) may take")
	fs.IntVar(&s.secrets, "secrets", 0, "instead of the modes, create this many unrelated 4 KiB Secrets and compare the provider's peak RSS with --cache-secrets (before) and without (after, the default), "+
		"each with a few shares through one ProviderConfig (-images, -accounts and -modes do not apply)")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if fs.NArg() > 0 {
		return s, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case s.images < 1 || s.accounts < 1:
		return s, errors.New("-images and -accounts must be at least 1")
	case s.describeRate <= 0 || s.modifyRate <= 0:
		return s, errors.New("-describe-rate and -modify-rate must be positive")
	case s.latency < 0 || s.jitter < 0 || s.poll <= 0 || s.timeout <= 0:
		return s, errors.New("-latency and -jitter must not be negative; -poll and -timeout must be positive")
	case s.secrets < 0:
		return s, errors.New("-secrets must not be negative")
	}
	for name := range strings.SplitSeq(*modeList, ",") {
		i := slices.IndexFunc(modes, func(m mode) bool { return m.name == strings.TrimSpace(name) })
		if i < 0 {
			return s, fmt.Errorf("-modes: unknown mode %q (want shared, backlog, unshared, unlimited, sharing, family, floor or floor-sharing)", name)
		}
		s.modes = append(s.modes, modes[i])
	}
	s.providerArgs = strings.Fields(*extra)
	s.providerEnv = strings.Fields(*env)
	for _, kv := range s.providerEnv {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			return s, fmt.Errorf("-provider-env: %q is not NAME=value", kv)
		}
	}
	return s, nil
}

func run() error {
	s, err := parseSettings(os.Args[1:])
	if err != nil {
		return err
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run `make bench`, which builds the control plane and sets it")
	}
	root, err := devenv.Root()
	if err != nil {
		return err
	}
	if s.out == "" {
		s.out = filepath.Join(root, "_output", "bench")
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	// envtest runs etcd and kube-apiserver in process groups of their own,
	// out of a terminal signal's reach: stop them on the way out whatever
	// ends the run.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	w, err := setUp(ctx, root, assets)
	if err != nil {
		return err
	}
	defer w.tearDown()

	started := time.Now()
	stamp := started.Format("20060102-150405")
	if s.secrets > 0 {
		return runSecrets(ctx, w, s, stamp)
	}
	var results []result
	for _, m := range s.modes {
		results = append(results, runMode(ctx, w, s, m, stamp))
		if ctx.Err() != nil {
			break
		}
	}
	rep := newReport(s, started, results)
	if err := rep.print(os.Stdout); err != nil {
		return err
	}
	path := filepath.Join(s.out, "bench-"+stamp+".json")
	if err := rep.write(path); err != nil {
		return err
	}
	fmt.Printf("\nbench: figures written to %s\n", path)
	var failed []string
	for _, r := range results {
		if r.Error != "" {
			failed = append(failed, r.Mode)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("modes %v did not run to the end (see above and their provider logs)", failed)
	}
	return ctx.Err()
}
