package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// doc is one Markdown file as the checks see it: a small line-based reading
// of the subset of GitHub Markdown the docs use (ATX headings, fenced code
// blocks, inline links and images, reference definitions, HTML anchors and
// code spans), so that each finding carries its line.
type doc struct {
	path string // relative to the repository root, with slashes
	// anchors are the fragments a link may name: heading slugs and
	// explicit <a name> or id attributes.
	anchors map[string]bool
	links   []ref
	spans   []ref   // inline code spans, outside code blocks
	blocks  []block // fenced code blocks
	lines   []string
}

// ref is a piece of text found on a line (1-based).
type ref struct {
	line int
	text string
}

// block is a fenced code block: its info string's first word and its
// content, which starts on line.
type block struct {
	line int
	lang string
	text string
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

// readDoc reads and parses root/path.
func readDoc(root, path string) (*doc, error) {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		return nil, err
	}
	return parseDoc(path, string(b)), nil
}

// parseDoc reads Markdown text.
func parseDoc(path, text string) *doc {
	d := &doc{path: path, anchors: map[string]bool{}, lines: strings.Split(text, "\n")}
	slugs := newSlugger()
	var (
		open     *block // the fenced block being read
		openMark string
		body     []string
	)
	for i, line := range d.lines {
		n := i + 1
		if open != nil {
			// A closing fence is at least as long as the opening one, of the
			// same character, and carries no info string.
			if t := strings.TrimSpace(line); strings.HasPrefix(t, openMark) && strings.Trim(t, openMark[:1]) == "" {
				open.text = strings.Join(body, "\n")
				d.blocks = append(d.blocks, *open)
				open, body = nil, nil
				continue
			}
			body = append(body, line)
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			open, openMark = &block{line: n + 1, lang: strings.ToLower(m[3])}, m[2]
			continue
		}
		if m := atxHeading.FindStringSubmatch(line); m != nil {
			d.anchors[slugs.slug(m[2])] = true
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			d.anchors[m[1]] = true
		}
		if m := refDef.FindStringSubmatch(line); m != nil {
			d.links = append(d.links, ref{n, m[1]})
		}
		// Links inside code spans are text, not links.
		prose := line
		for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
			if len(m[1]) == len(m[3]) {
				d.spans = append(d.spans, ref{n, strings.TrimSpace(m[2])})
				prose = strings.Replace(prose, m[0], "", 1)
			}
		}
		for _, re := range []*regexp.Regexp{inlineLink, htmlTarget} {
			for _, m := range re.FindAllStringSubmatch(prose, -1) {
				d.links = append(d.links, ref{n, m[1]})
			}
		}
	}
	if open != nil {
		// An unclosed fence runs to the end of the file, as GitHub renders
		// it; the block is still checked.
		open.text = strings.Join(body, "\n")
		d.blocks = append(d.blocks, *open)
	}
	return d
}

// slugger gives headings GitHub's anchors: a heading's slug, and for the
// second and later headings with the same slug, the slug with -1, -2...
type slugger map[string]int

func newSlugger() slugger { return slugger{} }

var (
	mdLink  = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	htmlTag = regexp.MustCompile(`<[^>]*>`)
)

// slug is the anchor GitHub gives a heading with this Markdown text: the
// text as rendered (link text, no code backticks, no HTML tags), lower
// case, with every character but letters, digits, marks, '_', '-' and
// spaces dropped and each space made a '-'.
func (s slugger) slug(heading string) string {
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
