package docs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKubectlTypes(t *testing.T) {
	cases := map[string]struct {
		reason string
		line   string
		want   []string
	}{
		"TypeAndName": {
			reason: "The first argument is the type, the rest are names; flags and their values are skipped.",
			line:   "$ kubectl get -n default providerconfig partner -o yaml",
			want:   []string{"providerconfig"},
		},
		"TypeSlashName": {
			reason: "Every TYPE/NAME argument names a type.",
			line:   "kubectl wait --for=condition=Ready imagesharepermission/a providerconfigs.alibabacloud.m.crossplane.io/b --timeout 2m",
			want:   []string{"imagesharepermission", "providerconfigs.alibabacloud.m.crossplane.io"},
		},
		"CommaList": {
			reason: "A comma-separated list names several types.",
			line:   "kubectl get imageshares,imagesharepermissions -n default",
			want:   []string{"imageshares", "imagesharepermissions"},
		},
		"OtherVerbs": {
			reason: "apply and label take no resource type to resolve; -f names files.",
			line:   "kubectl apply -f x.yaml && kubectl label namespace x a=b; kubectl delete -f x.yaml",
		},
		"Pipelines": {
			reason: "Each kubectl of a line counts, up to its pipe.",
			line:   "kubectl get managed | grep x && kubectl describe providerconfigusages",
			want:   []string{"managed", "providerconfigusages"},
		},
		"Placeholders": {
			reason: "A placeholder is no type.",
			line:   "kubectl describe <kind>/<name>",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, kubectlTypes(tc.line)); diff != "" {
				t.Errorf("%s\ntypes: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	const kingpin = `Flags:
      --[no-]help                Show context-sensitive help (also try
                                 --help-long and --help-man). ($PROVIDER_HELP)
  -d, --[no-]debug               Run with debug logging. ($PROVIDER_DEBUG)
      --leader-election-lease-duration=60s  
                                 How long a standby replica waits.
      --[no-]version             Show application version.
`
	if diff := cmp.Diff(flags{"debug": true, "leader-election-lease-duration": false, "version": true}, parseKingpinHelp(kingpin)); diff != "" {
		t.Errorf("kingpin's help, without its own help flags: -want +got:\n%s", diff)
	}
	const goflag = `Usage of ecs-simulator:
  -listen string
    	address to serve (default "127.0.0.1:8080")
  -quiet
    	do not log one line per call; see -listen
`
	if diff := cmp.Diff(flags{"listen": false, "quiet": false}, parseGoFlagHelp(goflag)); diff != "" {
		t.Errorf("the flag package's help: -want +got:\n%s", diff)
	}
	f := flags{"poll": false, "cache-secrets": true}
	for name, want := range map[string]bool{"poll": true, "no-poll": false, "cache-secrets": true, "no-cache-secrets": true, "sync": false} {
		if got := f.has(name); got != want {
			t.Errorf("has(%q) = %v, want %v: only a boolean flag has a --no- form", name, got, want)
		}
	}
}

func TestSplitYAML(t *testing.T) {
	got := splitYAML("x.md", 10, "a: 1\n---\n\n--- # comment\nb: 2\n---")
	want := []yamlDoc{{"x.md:10", "a: 1"}, {"x.md:14", "b: 2"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(yamlDoc{})); diff != "" {
		t.Errorf("documents, each with its first line, empty ones dropped: -want +got:\n%s", diff)
	}
}
