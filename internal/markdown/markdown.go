// Package markdown reads the project's Markdown as far as the tests that
// keep the docs true need it: test/docs (links, anchors, flags, metrics,
// YAML blocks) and test/crossplane (a README's commands, run as written).
// It is a small line-based reading of the subset of GitHub Markdown the
// docs use (ATX headings, fenced code blocks, inline links and images,
// reference definitions, HTML anchors and code spans), so that every
// finding carries its line.
package markdown

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Doc is one Markdown file.
type Doc struct {
	Path string // as given to Read or Parse; relative to the repository root, with slashes
	// Anchors are the fragments a link may name: heading slugs and
	// explicit <a name> or id attributes.
	Anchors  map[string]bool
	Headings []Heading
	Links    []Ref
	Spans    []Ref   // inline code spans, outside code blocks
	Blocks   []Block // fenced code blocks
	Lines    []string
}

// Ref is a piece of text found on a line (1-based).
type Ref struct {
	Line int
	Text string
}

// Heading is an ATX heading: its level (the number of #) and its text.
type Heading struct {
	Line  int
	Level int
	Text  string
}

// Block is a fenced code block: its info string's first word, lower case,
// and its content, which starts on Line.
type Block struct {
	Line int
	Lang string
	Text string
}

var (
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	fence      = regexp.MustCompile("^( *)(`{3,}|~{3,})[ \t]*([^`\\s]*)")
	// inlineLink matches the "](target)" half of a link or image: the text
	// half may start on an earlier line. A title in quotes is dropped.
	inlineLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)`)
	htmlTarget = regexp.MustCompile(`(?i)<(?:a|img)\b[^>]*\b(?:href|src)\s*=\s*"([^"]*)"`)
	htmlAnchor = regexp.MustCompile(`(?i)<[a-z][^>]*\b(?:name|id)\s*=\s*"([^"]*)"`)
	codeSpan   = regexp.MustCompile("(`+)([^`]|[^`].*?[^`])(`+)")
)

// Read reads and parses root/path.
func Read(root, path string) (*Doc, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path))) //nolint:gosec // The tests name the repository's own docs.
	if err != nil {
		return nil, err
	}
	return Parse(path, string(b)), nil
}

// Parse reads Markdown text.
func Parse(path, text string) *Doc {
	d := &Doc{Path: path, Anchors: map[string]bool{}, Lines: strings.Split(text, "\n")}
	slugs := NewSlugger()
	var (
		open     *Block // the fenced block being read
		openMark string
		body     []string
	)
	for i, line := range d.Lines {
		n := i + 1
		if open != nil {
			// A closing fence is at least as long as the opening one, of the
			// same character, and carries no info string.
			if t := strings.TrimSpace(line); strings.HasPrefix(t, openMark) && strings.Trim(t, openMark[:1]) == "" {
				open.Text = strings.Join(body, "\n")
				d.Blocks = append(d.Blocks, *open)
				open, body = nil, nil
				continue
			}
			body = append(body, line)
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			open, openMark = &Block{Line: n + 1, Lang: strings.ToLower(m[3])}, m[2]
			continue
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			d.Anchors[slugs.Slug(m[2])] = true
			d.Headings = append(d.Headings, Heading{Line: n, Level: len(m[1]), Text: m[2]})
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			d.Anchors[m[1]] = true
		}
		if m := refDef.FindStringSubmatch(line); m != nil {
			d.Links = append(d.Links, Ref{n, m[1]})
		}
		// Links inside code spans are text, not links.
		prose := line
		for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
			if len(m[1]) == len(m[3]) {
				d.Spans = append(d.Spans, Ref{n, strings.TrimSpace(m[2])})
				prose = strings.Replace(prose, m[0], "", 1)
			}
		}
		for _, re := range []*regexp.Regexp{inlineLink, htmlTarget} {
			for _, m := range re.FindAllStringSubmatch(prose, -1) {
				d.Links = append(d.Links, Ref{n, m[1]})
			}
		}
	}
	if open != nil {
		// An unclosed fence runs to the end of the file, as GitHub renders
		// it; the block is still read.
		open.Text = strings.Join(body, "\n")
		d.Blocks = append(d.Blocks, *open)
	}
	return d
}

// Section is the code blocks under the first heading whose text is title,
// up to the next heading of its level or above (so a section takes its
// subsections), and whether there is such a heading.
func (d *Doc) Section(title string) ([]Block, bool) {
	for i, h := range d.Headings {
		if h.Text != title {
			continue
		}
		end := len(d.Lines) + 1
		for _, next := range d.Headings[i+1:] {
			if next.Level <= h.Level {
				end = next.Line
				break
			}
		}
		var out []Block
		for _, b := range d.Blocks {
			if b.Line > h.Line && b.Line < end {
				out = append(out, b)
			}
		}
		return out, true
	}
	return nil, false
}

// Slugger gives headings GitHub's anchors: a heading's slug, and for the
// second and later headings with the same slug, the slug with -1, -2...
type Slugger map[string]int

// NewSlugger is a Slugger for one file's headings.
func NewSlugger() Slugger { return Slugger{} }

var (
	mdLink  = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag = regexp.MustCompile(`<[^>]*>`)
)

// Slug is the anchor GitHub gives a heading with this Markdown text: the
// text as rendered (link text, no code backticks, no HTML tags), lower
// case, with every character but letters, digits, marks, '_', '-' and
// spaces dropped and each space made a '-'.
func (s Slugger) Slug(heading string) string {
	text := mdLink.ReplaceAllString(heading, "$1")
	text = htmlTag.ReplaceAllString(text, "")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	// github-slugger's rule: a slug already given gets the next free
	// number of its base.
	base := b.String()
	slug := base
	for {
		if _, taken := s[slug]; !taken {
			break
		}
		s[base]++
		slug = base + "-" + strconv.Itoa(s[base])
	}
	s[slug] = 0
	return slug
}
