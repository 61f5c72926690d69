package markdown

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
			s := NewSlugger()
			var got []string
			for _, h := range tc.headings {
				got = append(got, s.Slug(h))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\nslugs: -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
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
	d := Parse("README.md", text)

	if diff := cmp.Diff(map[string]bool{"title": true, "title-1": true, "custom": true}, d.Anchors); diff != "" {
		t.Errorf("anchors: -want +got:\n%s", diff)
	}
	wantLinks := []Ref{{2, "docs/install.md#build"}, {2, "img/x.png"}, {5, "../LICENSE"}, {16, "#title-1"}}
	if diff := cmp.Diff(wantLinks, d.Links); diff != "" {
		t.Errorf("links: -want +got:\n%s", diff)
	}
	wantSpans := []Ref{{3, "[x](nowhere.md)"}, {3, "--poll"}}
	if diff := cmp.Diff(wantSpans, d.Spans); diff != "" {
		t.Errorf("code spans: -want +got:\n%s", diff)
	}
	wantBlocks := []Block{
		{Line: 7, Lang: "yaml", Text: "   # not a heading\n   [y](nor-a-link.md)"},
		{Line: 12, Lang: "sh", Text: "kubectl get x\n~~~"},
	}
	if diff := cmp.Diff(wantBlocks, d.Blocks); diff != "" {
		t.Errorf("blocks: -want +got:\n%s", diff)
	}
	wantHeadings := []Heading{{Line: 1, Level: 1, Text: "Title"}, {Line: 10, Level: 2, Text: "Title"}}
	if diff := cmp.Diff(wantHeadings, d.Headings); diff != "" {
		t.Errorf("headings, none from inside a code block: -want +got:\n%s", diff)
	}
}

func TestSection(t *testing.T) {
	d := Parse("README.md", "# Top\n```sh\na\n```\n## Install\n```sh\nb\n```\n### Private registries\n```yaml\nc\n```\n## Use\n```sh\nd\n```\n")
	cases := map[string]struct {
		reason string
		title  string
		want   []string
		found  bool
	}{
		"Subsections": {
			reason: "A section takes its subsections' blocks and stops at the next heading of its level.",
			title:  "Install", want: []string{"b", "c"}, found: true,
		},
		"Top": {
			reason: "The top heading's section runs to the end.",
			title:  "Top", want: []string{"a", "b", "c", "d"}, found: true,
		},
		"Missing": {
			reason: "No heading, no blocks, and it says so.",
			title:  "Uninstall",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			blocks, found := d.Section(tc.title)
			var got []string
			for _, b := range blocks {
				got = append(got, b.Text)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || found != tc.found {
				t.Errorf("%s\nfound %v, want %v; blocks: -want +got:\n%s", tc.reason, found, tc.found, diff)
			}
		})
	}
}
