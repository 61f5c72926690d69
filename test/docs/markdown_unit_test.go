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
