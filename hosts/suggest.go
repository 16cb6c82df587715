package hosts

import (
	"fmt"
	"slices"
	"strings"
)

// closest returns up to max of the candidates nearest to word: close in
// edit distance, or starting with word. Typos in names are usually one or two
// keystrokes, so anything further away is noise rather than help.
func closest(word string, candidates []string, max int) []string {
	type scored struct {
		s string
		d int
	}
	lw := strings.ToLower(word)
	limit := 1 + len(lw)/4
	var found []scored
	for _, c := range candidates {
		if c == word {
			continue
		}
		lc := strings.ToLower(c)
		d := distance(lw, lc)
		if d > limit {
			// Also a longer or shorter form of the same word: mongo for
			// mongodb, childs for children.
			if len(lw) < 3 || !strings.HasPrefix(lc, lw) && commonPrefix(lw, lc) < 4 {
				continue
			}
			d = limit
		}
		found = append(found, scored{c, d})
	}
	slices.SortStableFunc(found, func(a, b scored) int {
		if a.d != b.d {
			return a.d - b.d
		}
		// A same-length name is likelier a slip of one key: web9 -> web1, not web.
		if la, lb := abs(len(a.s)-len(word)), abs(len(b.s)-len(word)); la != lb {
			return la - lb
		}
		return strings.Compare(a.s, b.s)
	})
	// Only the nearest: "web1" for "wbe1", not also "db1".
	var out []string
	for _, f := range found {
		if len(out) == max || f.d > found[0].d {
			break
		}
		if !slices.Contains(out, f.s) {
			out = append(out, f.s)
		}
	}
	return out
}

// distance is the optimal string alignment distance (Levenshtein plus
// transposition of neighbours, the commonest typo) between a and b.
func distance(a, b string) int {
	// Names are short; this bounds the work for pathological input.
	const maxLen = 64
	ra, rb := []rune(a), []rune(b)
	if len(ra) > maxLen || len(rb) > maxLen {
		return maxLen
	}
	rows := make([][]int, len(ra)+1)
	for i := range rows {
		rows[i] = make([]int, len(rb)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(ra)][len(rb)]
}

// didYouMean renders suggestions as ` (did you mean "a", "b" or "c"?)`.
func didYouMean(s []string) string {
	if len(s) == 0 {
		return ""
	}
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	if len(q) == 1 {
		return " (did you mean " + q[0] + "?)"
	}
	return " (did you mean " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1] + "?)"
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
