package hosts

import (
	"fmt"
	"strconv"
	"strings"
)

// Promote is one [[promote]]: image tags to copy from one registry
// repository to another. The references are only strings here.
type Promote struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	Tags []string `json:"tags,omitempty"`
}

var promoteKeys = []string{"from", "to", "tags"}

func (l *loader) readPromote(root *table) []Promote {
	items, ok := l.items(root, "promote", "promote", "")
	if !ok {
		return nil
	}
	out := make([]Promote, 0, len(items))
	for _, t := range items {
		var p Promote
		p.From = l.reference(t, "from")
		p.To = l.reference(t, "to")
		if p.From != "" && p.From == p.To {
			l.problemAt(t, "to", "same as from")
		}
		if tags, ok := l.strs(t, "tags"); ok {
			for i, tag := range tags {
				if tag == "" || strings.ContainsAny(tag, " \t\r\n") {
					l.add(l.pos.line(t.locOf("tags", strconv.Itoa(i))), t.keyPath("tags"), fmt.Sprintf("invalid tag %q", tag))
				}
			}
			p.Tags = tags
		}
		l.unknown(t, promoteKeys, nil)
		out = append(out, p)
	}
	return out
}

// reference reads a required registry reference.
func (l *loader) reference(t *table, k string) string {
	s, ok := l.str(t, k)
	switch {
	case !ok && !t.has(k):
		l.problemAt(t, "", "missing key %q (a registry reference such as \"registry.example.com/app\")", k)
	case ok && (s == "" || strings.ContainsAny(s, " \t\r\n")):
		l.problemAt(t, k, "invalid reference %q", s)
		s = ""
	}
	return s
}
