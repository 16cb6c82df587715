package hosts

import (
	"fmt"
	"path"
	"strings"
)

// A pattern is terms joined by "," or ":" (union). A term prefixed with "&"
// keeps only what it and everything before it share, one prefixed with "!"
// removes what it matches; "&" may also follow a term with no separator
// (role=db&dc=tokyo). The pattern is read left to right, and a pattern that
// starts with "&" or "!" starts from every host. Terms:
//
//	all, *        every host
//	web1          a host; failing that, the group of that name
//	web*, db[12]  hosts whose name matches the glob (path.Match)
//	@web, @w*     the hosts of a group, or of the groups matching a glob
//	role=db       hosts with that label; the value may be a glob
//
// An empty pattern selects every host. A term that matches nothing is an
// error (a typo should not silently shrink a run), and so is a pattern that
// selects nothing.

type setOp int

const (
	opUnion setOp = iota
	opIntersect
	opExclude
)

type termKind int

const (
	termAll termKind = iota
	termName
	termGlob
	termGroup
	termGroupGlob
	termLabel
)

type term struct {
	op    setOp
	kind  termKind
	text  string // as written, trimmed
	name  string // the host, group or glob; the label key
	value string // the label value, a glob
}

// Select returns the hosts pattern selects, in file order, each once.
// Errors wrap ErrPatternSyntax or ErrNoMatch.
func (inv *Inventory) Select(pattern string) ([]*Host, error) {
	terms, err := parsePattern(pattern)
	if err != nil {
		return nil, err
	}
	sel := make([]bool, len(inv.Hosts))
	if len(terms) == 0 {
		fill(sel, true)
	}
	for i, t := range terms {
		m, err := inv.match(pattern, t)
		if err != nil {
			return nil, err
		}
		if i == 0 && t.op != opUnion {
			fill(sel, true)
		}
		for j := range sel {
			switch t.op {
			case opUnion:
				sel[j] = sel[j] || m[j]
			case opIntersect:
				sel[j] = sel[j] && m[j]
			case opExclude:
				sel[j] = sel[j] && !m[j]
			}
		}
	}
	var out []*Host
	for j, h := range inv.Hosts {
		if sel[j] {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		msg := fmt.Sprintf("pattern %q selects no host", pattern)
		if len(inv.Hosts) == 0 {
			msg = "the inventory has no hosts"
		}
		return nil, &PatternError{Pattern: pattern, Msg: msg, Err: ErrNoMatch}
	}
	return out, nil
}

func fill(b []bool, v bool) {
	for i := range b {
		b[i] = v
	}
}

// match returns which hosts t matches, or an error naming close names when
// it matches none.
func (inv *Inventory) match(pattern string, t term) ([]bool, error) {
	m := make([]bool, len(inv.Hosts))
	found := false
	set := func(j int) { m[j], found = true, true }
	inGroup := func(g *Group) {
		member := make(map[string]bool, len(g.Hosts))
		for _, name := range g.Hosts {
			member[name] = true
		}
		for j, h := range inv.Hosts {
			if member[h.Name] {
				set(j)
			}
		}
	}
	var msg string
	var suggest []string
	switch t.kind {
	case termAll:
		fill(m, true)
		found = len(m) > 0
		msg = "the inventory has no hosts"
	case termName:
		if h := inv.byName[t.name]; h != nil {
			for j := range inv.Hosts {
				if inv.Hosts[j] == h {
					set(j)
				}
			}
		} else if g := inv.Groups[t.name]; g != nil {
			inGroup(g)
			msg = fmt.Sprintf("group %q has no hosts", t.name)
		} else {
			msg = fmt.Sprintf("no host or group named %q", t.name)
			for _, s := range closest(t.name, append(inv.names(), inv.groupNames()...), 3) {
				if inv.byName[s] == nil {
					s = "@" + s // a group, the way that cannot be mistaken
				}
				suggest = append(suggest, s)
			}
		}
	case termGlob:
		for j, h := range inv.Hosts {
			if ok, _ := path.Match(t.name, h.Name); ok {
				set(j)
			}
		}
		msg = fmt.Sprintf("no host matches %q", t.name)
	case termGroup:
		if g := inv.Groups[t.name]; g != nil {
			inGroup(g)
			msg = fmt.Sprintf("group %q has no hosts", t.name)
		} else {
			msg = fmt.Sprintf("no group named %q", t.name)
			for _, g := range closest(t.name, inv.groupNames(), 3) {
				suggest = append(suggest, "@"+g)
			}
		}
	case termGroupGlob:
		for _, name := range inv.groupNames() {
			if ok, _ := path.Match(t.name, name); ok {
				inGroup(inv.Groups[name])
			}
		}
		msg = fmt.Sprintf("no host in a group matching %q", "@"+t.name)
	case termLabel:
		for j, h := range inv.Hosts {
			if v, ok := h.Labels[t.name]; ok {
				if ok, _ := path.Match(t.value, v); ok {
					set(j)
				}
			}
		}
		msg = fmt.Sprintf("no host has label %s", t.text)
		suggest = closest(t.name+"="+t.value, inv.labelPairs(), 3)
	}
	if !found {
		return nil, &PatternError{Pattern: pattern, Term: t.text, Msg: msg, Suggestions: suggest, Err: ErrNoMatch}
	}
	return m, nil
}

// parsePattern splits a pattern into terms. It reads each byte once, so no
// input can make it hang.
func parsePattern(p string) ([]term, error) {
	if strings.TrimSpace(p) == "" {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return &PatternError{Pattern: p, Msg: fmt.Sprintf("invalid pattern %q: ", p) + fmt.Sprintf(format, args...), Err: ErrPatternSyntax}
	}
	var terms []term
	next, joined := opUnion, false // what the separator before the term says
	var sep byte
	for i := 0; ; {
		i = skipBlanks(p, i)
		op := next
		if i < len(p) && (p[i] == '&' || p[i] == '!') {
			if joined {
				return nil, bad("%q right after '&' (write ',%c' to start a new term)", p[i], p[i])
			}
			if p[i] == '&' {
				op = opIntersect
			} else {
				op = opExclude
			}
			i = skipBlanks(p, i+1)
		}
		start := i
		inClass := false
	scan:
		for i < len(p) {
			c := p[i]
			switch {
			case c == '\\' && i+1 < len(p):
				i += 2
				continue
			case inClass:
				inClass = c != ']'
			case c == '[':
				inClass = true
			case c == ',' || c == ':' || c == '&':
				break scan
			}
			i++
		}
		text := strings.TrimSpace(p[start:i])
		if text == "" {
			switch {
			case start > 0 && strings.TrimSpace(p[start:]) == "":
				return nil, bad("nothing after %q at the end", p[start-1])
			case sep != 0:
				return nil, bad("empty term after %q at column %d", sep, start+1)
			default:
				return nil, bad("empty term at column %d", start+1)
			}
		}
		t, err := parseTerm(text)
		if err != nil {
			return nil, bad("%v", err)
		}
		t.op = op
		terms = append(terms, t)
		if i >= len(p) {
			return terms, nil
		}
		sep = p[i]
		next, joined = opUnion, sep == '&'
		if joined {
			next = opIntersect
		}
		i++
	}
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// parseTerm tells the kinds of term apart and checks each one's syntax.
func parseTerm(text string) (term, error) {
	t := term{text: text, name: text}
	switch {
	case text == "all" || text == "*":
		t.kind = termAll
	case strings.HasPrefix(text, "@"):
		t.name = text[1:]
		if t.name == "" {
			return t, fmt.Errorf("%q needs a group name after '@'", text)
		}
		t.kind = termGroup
		if isGlob(t.name) {
			t.kind = termGroupGlob
		}
	case strings.Contains(text, "="):
		t.kind = termLabel
		t.name, t.value, _ = strings.Cut(text, "=")
		t.name = strings.TrimSpace(t.name)
		t.value = strings.TrimSpace(t.value)
		if t.name == "" {
			return t, fmt.Errorf("%q needs a label key before '='", text)
		}
		if err := checkChars(t.name, text, false); err != nil {
			return t, err
		}
		if _, err := path.Match(t.value, ""); err != nil {
			return t, fmt.Errorf("invalid glob %q in %q", t.value, text)
		}
		return t, nil
	case isGlob(text):
		t.kind = termGlob
	default:
		t.kind = termName
	}
	glob := t.kind == termGlob || t.kind == termGroupGlob
	if t.kind != termAll {
		if err := checkChars(t.name, text, glob); err != nil {
			return t, err
		}
	}
	if glob {
		if _, err := path.Match(t.name, ""); err != nil {
			return t, fmt.Errorf("invalid glob %q", text)
		}
	}
	return t, nil
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// checkChars allows in s what names are made of, plus glob syntax if glob.
func checkChars(s, text string, glob bool) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isNameChar(c) || glob && strings.IndexByte(`*?[]^\`, c) >= 0 {
			continue
		}
		msg := fmt.Sprintf("unexpected %s in %q", quoteByte(c), text)
		switch c {
		case '!':
			if glob {
				msg += " (a class is negated with [^...])"
			} else {
				msg += ` (exclusion is written ",!TERM")`
			}
		case '@':
			msg += " ('@' starts a term)"
		case ' ', '\t':
			msg += " (separate terms with ',')"
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}
