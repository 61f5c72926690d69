package docs

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSlug(t *testing.T) {
	cases := map[string]struct {
		reason   string
		headings []string
		want     []string
	}{
		"Punctuation": {
			reason:   "Apostrophes, colons and commas go; hyphens and underscores stay.",
			headings: []string{"RRSA: the provider's service account on ACK", "Secret, Environment, Filesystem: an AccessKey", "snake_case - dash"},
			want:     []string{"rrsa-the-providers-service-account-on-ack", "secret-environment-filesystem-an-accesskey", "snake_case---dash"},
		},
		"Code": {
			reason:   "Backticks go, their text stays.",
			headings: []string{"`make dev`", "The `--poll` flag"},
			want:     []string{"make-dev", "the---poll-flag"},
		},
		"LinksAndTags": {
			reason:   "A link counts by its text; HTML tags count for nothing.",
			headings: []string{"See [the docs](docs/x.md)", `<a name="x"></a>Install`},
			want:     []string{"see-the-docs", "install"},
		},
		"Duplicates": {
			reason:   "A repeated heading gets -1, -2; a heading already named like a numbered one is skipped over.",
			headings: []string{"Upgrade", "Upgrade", "Upgrade-1", "Upgrade"},
			want:     []string{"upgrade", "upgrade-1", "upgrade-1-1", "upgrade-2"},
		},
		"Unicode": {
			reason:   "Letters of any script stay; symbols go.",
			headings: []string{"Größe × Zeit → 50 %"},
			want:     []string{"größe--zeit--50-"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSlugger()
			var got []string
			for _, h := range tc.headings {
				got = append(got, s.slug(h))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nslugs: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParseDoc(t *testing.T) {
	const text = "# Title\n" +
		"See [install](docs/install.md#build) and ![logo](img/x.png \"Logo\").\n" +
		"Not a link: `[x](nowhere.md)`; a flag: `--poll`.\n" +
		"<a name=\"custom\"></a>\n" +
		"[ref]: ../LICENSE\n" +
		"   ```yaml\n" +
		"   # not a heading\n" +
		"   [y](nor-a-link.md)\n" +
		"   ```\n" +
		"## Title\n" +
		"~~~~sh\n" +
		"kubectl get x\n" +
		"~~~\n" +
		"~~~~\n" +
		"A link [split\n" +
		"over lines](#title-1).\n"
	d := parseDoc("README.md", text)

	if diff := cmp.Diff(map[string]bool{"title": true, "title-1": true, "custom": true}, d.anchors); diff != "" {
		t.Errorf("anchors: -want +got:\n%s", diff)
	}
	wantLinks := []ref{{2, "docs/install.md#build"}, {2, "img/x.png"}, {5, "../LICENSE"}, {16, "#title-1"}}
	if diff := cmp.Diff(wantLinks, d.links, cmp.AllowUnexported(ref{})); diff != "" {
		t.Errorf("links: -want +got:\n%s", diff)
	}
	wantSpans := []ref{{3, "[x](nowhere.md)"}, {3, "--poll"}}
	if diff := cmp.Diff(wantSpans, d.spans, cmp.AllowUnexported(ref{})); diff != "" {
		t.Errorf("code spans: -want +got:\n%s", diff)
	}
	wantBlocks := []block{
		{line: 7, lang: "yaml", text: "   # not a heading\n   [y](nor-a-link.md)"},
		{line: 12, lang: "sh", text: "kubectl get x\n~~~"},
	}
	if diff := cmp.Diff(wantBlocks, d.blocks, cmp.AllowUnexported(block{})); diff != "" {
		t.Errorf("blocks: -want +got:\n%s", diff)
	}
}

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
