package main

import (
	"io"
	"strings"
	"unicode/utf8"
)

// table aligns columns with two spaces between them; the last column is not padded.
type table struct {
	rows [][]string
}

func newTable(header []string) *table { return &table{rows: [][]string{header}} }

func (t *table) add(row []string) { t.rows = append(t.rows, row) }

func (t *table) write(w io.Writer) {
	if len(t.rows) == 1 {
		return // header only: say nothing rather than an empty table
	}
	widths := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}
