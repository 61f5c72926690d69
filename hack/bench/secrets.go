package main

// The Secrets measurement (-secrets N): how the provider's memory depends on
// Secrets in the cluster that are none of its business. A cached client
// holds every Secret in the cluster from its first Secret read on, which is
// why the provider reads Secrets uncached unless --cache-secrets asks
// otherwise; this shows what that choice is worth, both ways, on one
// control plane.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ecsv1beta1 "github.com/crossplane-contrib/provider-alibabacloud-ecs/apis/namespaced/ecs/v1beta1"
	"github.com/crossplane-contrib/provider-alibabacloud-ecs/internal/devenv"
)

const (
	// secretBytes is the data each unrelated Secret holds.
	secretBytes = 4 << 10
	// secretNamespaces is how many namespaces the unrelated Secrets are
	// spread over: a cluster-wide cache holds them whatever their namespace.
	secretNamespaces = 4
	// secretsShares is the workload: a few shares through one
	// ProviderConfig, enough that resolving them and checking the
	// configuration's identity read its credentials Secret.
	secretsShares = 5
	// secretsSettle is how long the provider runs on once every share is
	// Ready, before its peak memory is read: long enough for whatever a
	// first Secret read started to have finished.
	secretsSettle = 5 * time.Second
)

// secretsModes are the two ways the provider can read Secrets: as it did
// before (cached) and as it does now (uncached, the default).
var secretsModes = []mode{
	{name: "before", args: []string{"--cache-secrets"}},
	{name: "after"},
}

// secretsResult is what one provider run measured.
type secretsResult struct {
	Mode         string   `json:"mode"`
	ProviderArgs []string `json:"providerArgs"`
	Skipped      string   `json:"skipped,omitempty"`
	Error        string   `json:"error,omitempty"`
	ProviderLog  string   `json:"providerLog,omitempty"`
	// ReadySeconds runs from creating the shares to all Ready.
	ReadySeconds float64 `json:"readySeconds,omitempty"`
	// PeakRSSBytes and CPUSeconds are over the provider's life up to
	// secretsSettle after all were Ready.
	PeakRSSBytes uint64  `json:"peakRSSBytes,omitempty"`
	CPUSeconds   float64 `json:"cpuSeconds,omitempty"`
}

type secretsReport struct {
	StartedAt   time.Time       `json:"startedAt"`
	Secrets     int             `json:"secrets"`
	SecretBytes int             `json:"secretBytes"`
	Namespaces  int             `json:"namespaces"`
	Shares      int             `json:"shares"`
	Results     []secretsResult `json:"modes"`
}

// runSecrets creates s.secrets unrelated Secrets, runs the provider once
// per secretsModes against them, and prints and writes what it measured.
func runSecrets(ctx context.Context, w *world, s settings, stamp string) error {
	rep := secretsReport{StartedAt: time.Now(), Secrets: s.secrets, SecretBytes: secretBytes, Namespaces: secretNamespaces, Shares: secretsShares}
	fmt.Printf("bench: creating %d unrelated Secrets of %d KiB in %d namespaces\n", s.secrets, secretBytes>>10, secretNamespaces)
	begin := time.Now()
	objs, err := unrelatedSecrets(s.secrets, secretNamespaces)
	if err != nil {
		return err
	}
	if err := createAll(ctx, w.kube, objs); err != nil {
		return err
	}
	fmt.Printf("bench: %d Secrets created in %.1fs\n", s.secrets, time.Since(begin).Seconds())

	for _, m := range secretsModes {
		rep.Results = append(rep.Results, runSecretsMode(ctx, w, s, m, stamp))
		if ctx.Err() != nil {
			break
		}
	}
	if err := rep.print(os.Stdout); err != nil {
		return err
	}
	path := filepath.Join(s.out, "bench-secrets-"+stamp+".json")
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Printf("\nbench: figures written to %s\n", path)
	var failed []string
	for _, r := range rep.Results {
		if r.Error != "" {
			failed = append(failed, r.Mode)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("modes %v did not run to the end (see above and their provider logs)", failed)
	}
	return ctx.Err()
}

// unrelatedSecrets are n Secrets of secretBytes random bytes each, spread
// over namespaces namespaces, and those namespaces. Random, so that neither
// etcd nor anything on the way compresses them.
func unrelatedSecrets(n, namespaces int) ([]client.Object, error) {
	objs := make([]client.Object, 0, n+namespaces)
	for i := range namespaces {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unrelatedNamespace(i)}})
	}
	for i := range n {
		data := make([]byte, secretBytes)
		if _, err := rand.Read(data); err != nil {
			return nil, err
		}
		objs = append(objs, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: unrelatedNamespace(i % namespaces), Name: fmt.Sprintf("unrelated-%05d", i)},
			Data:       map[string][]byte{"data": data},
		})
	}
	return objs, nil
}

func unrelatedNamespace(i int) string { return fmt.Sprintf("bench-unrelated-%d", i) }

// runSecretsMode runs the provider once in mode m and returns what it
// measured.
func runSecretsMode(ctx context.Context, w *world, s settings, m mode, stamp string) secretsResult {
	args := append([]string{"--poll=" + s.poll.String(), "--metrics-bind-address=" + metricsAddress, devenv.TenantEndpointsFlag}, m.args...)
	r := secretsResult{Mode: m.name, ProviderArgs: append(args, s.providerArgs...)}
	if missing := w.missingFlags(m.args); len(missing) > 0 {
		r.Skipped = "the provider has no " + strings.Join(missing, ", ") + " flag"
		fmt.Printf("bench: secrets %s: skipped: %s\n", m.name, r.Skipped)
		return r
	}
	fmt.Printf("bench: secrets %s: %d ImageSharePermissions; provider %s\n", m.name, secretsShares, strings.Join(r.ProviderArgs, " "))
	if err := measureSecrets(ctx, w, s, m, stamp, &r); err != nil {
		r.Error = err.Error()
		fmt.Printf("bench: secrets %s: %v\n", m.name, err)
	}
	return r
}

// measureSecrets brings up the mode's simulator, namespace and provider,
// makes a few shares Ready, reads the provider's peak memory, and removes
// the shares again, so that the next mode's provider does not meet them.
func measureSecrets(ctx context.Context, w *world, s settings, m mode, stamp string, r *secretsResult) error {
	small := s
	small.images, small.accounts = 1, secretsShares
	ns := "bench-secrets-" + m.name
	r.ProviderLog = filepath.Join(s.out, fmt.Sprintf("provider-secrets-%s-%s.log", m.name, stamp))
	sim, p, stop, err := startTenant(ctx, w, small, false, ns, r.ProviderLog, r.ProviderArgs, func(*devenv.Simulator) error { return nil })
	defer stop()
	if err != nil {
		return err
	}

	begin := time.Now()
	if err := createAll(ctx, w.kube, shareObjects(small, ns)); err != nil {
		return err
	}
	if err := waitFor(ctx, p, s.timeout, allReady(w.kube, ns, permissions, secretsShares)); err != nil {
		return fmt.Errorf("waiting for all Ready: %w", err)
	}
	r.ReadySeconds = time.Since(begin).Seconds()
	if err := sleep(ctx, p, secretsSettle); err != nil {
		return err
	}
	u, err := readUsage(p.Pid(), clockTicks(ctx))
	if err != nil {
		return err
	}
	r.PeakRSSBytes, r.CPUSeconds = u.peakRSS, u.cpu.Seconds()
	fmt.Printf("bench: secrets %s: all Ready in %.1fs; peak RSS %.1f MiB\n", m.name, r.ReadySeconds, float64(r.PeakRSSBytes)/(1<<20))

	if err := w.kube.DeleteAllOf(ctx, &ecsv1beta1.ImageSharePermission{}, client.InNamespace(ns)); err != nil {
		return err
	}
	if err := waitFor(ctx, p, s.timeout, allGone(w.kube, ns, permissions, sim.Simulator, imageIDs(small.images))); err != nil {
		return fmt.Errorf("waiting for all deleted: %w", err)
	}
	return nil
}

// print writes one column per mode and after ÷ before.
func (rep secretsReport) print(out io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\nbench: provider memory with %d unrelated Secrets of %d KiB (%.1f MiB of data) in %d namespaces;\n",
		rep.Secrets, rep.SecretBytes>>10, float64(rep.Secrets*rep.SecretBytes)/(1<<20), rep.Namespaces)
	fmt.Fprintf(&b, "%d ImageSharePermissions through one ProviderConfig and its credentials Secret.\n", rep.Shares)
	fmt.Fprintf(&b, "before: --cache-secrets (every Secret cached, as the provider did); after: the default (Secrets read uncached).\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	var header []string
	for _, r := range rep.Results {
		header = append(header, r.Mode)
	}
	before, haveBefore := rep.find("before")
	after, haveAfter := rep.find("after")
	withRatio := haveBefore && haveAfter
	if withRatio {
		header = append(header, "after ÷ before")
	}
	rows := []struct {
		label  string
		value  func(r secretsResult) (float64, bool)
		format string
	}{
		{"provider peak RSS (MiB)", func(r secretsResult) (float64, bool) { return float64(r.PeakRSSBytes) / (1 << 20), r.PeakRSSBytes > 0 }, tenths},
		{"all Ready after the first create (s)", func(r secretsResult) (float64, bool) { return r.ReadySeconds, r.ReadySeconds > 0 }, tenths},
		{"provider CPU until then (s)", func(r secretsResult) (float64, bool) { return r.CPUSeconds, r.PeakRSSBytes > 0 }, hundredths},
	}
	width := 0
	for _, rw := range rows {
		width = max(width, len(rw.label))
	}
	line := func(label string, cells []string) {
		_, _ = io.WriteString(tw, fmt.Sprintf("%-*s\t", width, label)+strings.Join(cells, "\t")+"\t\n")
	}
	line("", header)
	for _, rw := range rows {
		var cells []string
		for _, r := range rep.Results {
			switch v, ok := rw.value(r); {
			case r.Skipped != "":
				cells = append(cells, "skipped")
			case !ok:
				cells = append(cells, "-")
			default:
				cells = append(cells, fmt.Sprintf(rw.format, v))
			}
		}
		if withRatio {
			x, okX := rw.value(after)
			y, okY := rw.value(before)
			ratio := ""
			if okX && okY && y != 0 {
				ratio = fmt.Sprintf(hundredths, x/y)
			}
			cells = append(cells, ratio)
		}
		line(rw.label, cells)
	}
	_ = tw.Flush()
	for _, r := range rep.Results {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(&b, "%s: skipped: %s\n", r.Mode, r.Skipped)
		case r.Error != "":
			fmt.Fprintf(&b, "%s: did not finish: %s\n", r.Mode, r.Error)
		}
		if r.ProviderLog != "" {
			fmt.Fprintf(&b, "%s: provider log %s\n", r.Mode, r.ProviderLog)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func (rep secretsReport) find(mode string) (secretsResult, bool) {
	for _, r := range rep.Results {
		if r.Mode == mode && r.Skipped == "" {
			return r, true
		}
	}
	return secretsResult{}, false
}
