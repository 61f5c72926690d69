package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestUnrelatedSecrets(t *testing.T) {
	objs, err := unrelatedSecrets(10, 4)
	if err != nil {
		t.Fatal(err)
	}
	namespaces, perNamespace := 0, map[string]int{}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Namespace:
			namespaces++
		case *corev1.Secret:
			perNamespace[o.Namespace]++
			if got := len(o.Data["data"]); got != secretBytes {
				t.Errorf("Secret %s/%s holds %d bytes, want %d", o.Namespace, o.Name, got, secretBytes)
			}
		}
	}
	want := map[string]int{"bench-unrelated-0": 3, "bench-unrelated-1": 3, "bench-unrelated-2": 2, "bench-unrelated-3": 2}
	if diff := cmp.Diff(want, perNamespace); diff != "" || namespaces != 4 {
		t.Errorf("unrelatedSecrets(10, 4): %d namespaces, want 4; Secrets per namespace -want, +got:\n%s", namespaces, diff)
	}
}

func TestSecretsReport(t *testing.T) {
	cases := map[string]struct {
		reason  string
		results []secretsResult
		// want are the lines of the table, spaces collapsed.
		want []string
	}{
		"BothRan": {
			reason: "Each mode gets a column, and after ÷ before is the ratio.",
			results: []secretsResult{
				{Mode: "before", PeakRSSBytes: 200 << 20, ReadySeconds: 4, CPUSeconds: 3},
				{Mode: "after", PeakRSSBytes: 50 << 20, ReadySeconds: 2, CPUSeconds: 1.5},
			},
			want: []string{
				"before after after ÷ before",
				"provider peak RSS (MiB) 200.0 50.0 0.25",
				"all Ready after the first create (s) 4.0 2.0 0.50",
				"provider CPU until then (s) 3.00 1.50 0.50",
			},
		},
		"OldProvider": {
			reason: "A provider without --cache-secrets has no before, and so no ratio.",
			results: []secretsResult{
				{Mode: "before", Skipped: "the provider has no --cache-secrets flag"},
				{Mode: "after", PeakRSSBytes: 50 << 20, ReadySeconds: 2, CPUSeconds: 1.5},
			},
			want: []string{
				"before after",
				"provider peak RSS (MiB) skipped 50.0",
				"all Ready after the first create (s) skipped 2.0",
				"provider CPU until then (s) skipped 1.50",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			rep := secretsReport{Secrets: 4000, SecretBytes: secretBytes, Namespaces: secretNamespaces, Shares: secretsShares, Results: tc.results}
			if err := rep.print(&b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for line := range strings.Lines(b.String()) {
				f := strings.Join(strings.Fields(line), " ")
				if strings.HasPrefix(f, "before after") || strings.HasPrefix(f, "provider ") || strings.HasPrefix(f, "all Ready") {
					got = append(got, f)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nprint: -want, +got:\n%s\n%s", tc.reason, diff, b.String())
			}
		})
	}
}
