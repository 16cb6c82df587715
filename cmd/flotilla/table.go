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

// minColumn is the narrowest a column is cut to when fitting a terminal.
const minColumn = 8

// fit cuts the widest columns (never the first: the host) until a row fits
// in width, marking cut cells with "…". Columns already narrower than
// minColumn stay whole, so a very narrow terminal still wraps.
func (t *table) fit(width int) {
	widths := t.natural()
	total := func() int {
		n := 2 * (len(widths) - 1)
		for _, w := range widths {
			n += w
		}
		return n
	}
	for total() > width {
		widest := -1
		for i := 1; i < len(widths); i++ {
			if widths[i] > minColumn && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
	}
	t.widths = widths
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

// cut shortens s to n runes, the last one "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
