package main

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// table aligns columns with two spaces between them; the last column is not padded.
type table struct {
	rows   [][]string
	widths []int // column widths after fit; nil means as wide as the widest cell
}

func newTable(header []string) *table { return &table{rows: [][]string{header}} }

// add appends a row; control characters in cells (a container's env value
// may hold anything) are written escaped so they cannot drive the terminal.
func (t *table) add(row []string) {
	clean := make([]string, len(row))
	for i, c := range row {
		clean[i] = printable(c)
	}
	t.rows = append(t.rows, clean)
}

func printable(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// minColumn is the narrowest a column is cut to when fitting a terminal:
// ids (12), dates and short digests (19) are never cut, a cut id being
// of no use.
const minColumn = 20

// fit cuts the widest columns until a row fits in width, marking cut cells
// with "…" (see cut). The first column (the host) is never cut, and the second (what
// the row is about: an image, a container) only when cutting the others to
// minColumn was not enough. Columns narrower than minColumn stay whole, so a
// very narrow terminal still wraps.
func (t *table) fit(width int) {
	widths := t.natural()
	total := func() int {
		n := 2 * (len(widths) - 1)
		for _, w := range widths {
			n += w
		}
		return n
	}
	for first := 2; first >= 1; first-- {
		t.shrink(widths, first, width, total)
	}
	t.widths = widths
}

// shrink narrows the widest of columns first.. by one rune at a time.
func (t *table) shrink(widths []int, first, width int, total func() int) {
	for total() > width {
		widest := -1
		for i := first; i < len(widths); i++ {
			if widths[i] > minColumn && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
	}
}

func (t *table) natural() []int {
	widths := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	return widths
}

func (t *table) write(w io.Writer) {
	if len(t.rows) == 1 {
		return // header only: say nothing rather than an empty table
	}
	widths := t.widths
	if widths == nil {
		widths = t.natural()
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			c = cut(c, widths[i])
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// cut shortens s to n runes with "…" in the middle: both ends of an image
// reference (registry, tag) say more than its middle.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	head := (n - 1) / 2
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}
