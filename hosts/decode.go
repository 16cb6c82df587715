package hosts

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The loader reads the document the toml package decoded into plain maps,
// against a schema written as code: each getter marks its key as read and
// type-checks it on its own, so one wrong value never hides the next problem,
// and keys are matched exactly (struct decoding would accept "Address").
// Whatever is left unread is an unknown key.

// table is one TOML table (or inline table, or array element) being read.
type table struct {
	m     map[string]any
	label string   // how problems name it: "defaults", "groups.web", `host "web1"`
	item  bool     // an array element: its keys follow ": " rather than "."
	loc   []string // its path for the position index
	read  map[string]bool
}

func newTable(m map[string]any, label string, item bool, loc []string) *table {
	return &table{m: m, label: label, item: item, loc: loc, read: map[string]bool{}}
}

// keyPath is how problems name key k of t.
func (t *table) keyPath(k string) string {
	switch {
	case t.label == "":
		return k
	case t.item:
		return t.label + ": " + k
	default:
		return t.label + "." + k
	}
}

func (t *table) locOf(k ...string) []string {
	return append(slices.Clone(t.loc), k...)
}

// get returns the raw value of k and marks it read.
func (t *table) get(k string) (any, bool) {
	if t == nil {
		return nil, false
	}
	v, ok := t.m[k]
	if ok {
		t.read[k] = true
	}
	return v, ok
}

// has reports whether k is present, without marking it read.
func (t *table) has(k string) bool {
	if t == nil {
		return false
	}
	_, ok := t.m[k]
	return ok
}

// problemAt records a problem about key k of t (the table itself when k is "").
func (l *loader) problemAt(t *table, k string, format string, args ...any) {
	key, loc := t.label, t.loc
	if k != "" {
		key, loc = t.keyPath(k), t.locOf(k)
	}
	l.add(l.pos.line(loc), key, fmt.Sprintf(format, args...))
}

func (l *loader) add(line int, key, msg string) {
	l.problems = append(l.problems, Problem{Line: line, Key: key, Msg: msg})
}

func (l *loader) str(t *table, k string) (string, bool) {
	v, ok := t.get(k)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		l.problemAt(t, k, "expected a string, got %s", describe(v))
	}
	return s, ok
}

func (l *loader) integer(t *table, k string) (int, bool) {
	v, ok := t.get(k)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		l.problemAt(t, k, "expected an integer, got %s", describe(v))
		return 0, false
	}
	if int64(int(n)) != n {
		l.problemAt(t, k, "%d is out of range", n)
		return 0, false
	}
	return int(n), true
}

func (l *loader) boolean(t *table, k string) (bool, bool) {
	v, ok := t.get(k)
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		l.problemAt(t, k, "expected true or false, got %s", describe(v))
	}
	return b, ok
}

// strs reads an array of strings, reporting each element of the wrong type.
func (l *loader) strs(t *table, k string) ([]string, bool) {
	v, ok := t.get(k)
	if !ok {
		return nil, false
	}
	return l.strsOf(t, k, v)
}

// strsOf is strs for a value already taken from t.
func (l *loader) strsOf(t *table, k string, v any) ([]string, bool) {
	arr, ok := v.([]any)
	if !ok {
		l.problemAt(t, k, "expected an array of strings, got %s", describe(v))
		return nil, false
	}
	out := make([]string, 0, len(arr))
	good := true
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			l.add(l.pos.line(t.locOf(k, strconv.Itoa(i))), t.keyPath(k),
				fmt.Sprintf("element %d: expected a string, got %s", i+1, describe(e)))
			good = false
			continue
		}
		out = append(out, s)
	}
	return out, good
}

// sub reads a table (standard or inline) under key k.
func (l *loader) sub(t *table, k string) (*table, bool) {
	v, ok := t.get(k)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		l.problemAt(t, k, "expected a table, got %s", describe(v))
		return nil, false
	}
	return newTable(m, t.keyPath(k), false, t.locOf(k)), true
}

// items reads an array of tables ([[k]], or an inline array of inline tables).
// label names each element from its index and, when set, its name key.
func (l *loader) items(t *table, k, label, nameKey string) ([]*table, bool) {
	v, ok := t.get(k)
	if !ok {
		return nil, false
	}
	var maps []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		maps = v
	case []any:
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				l.problemAt(t, k, "expected an array of tables ([[%s]]), got an array of %s", t.keyPath(k), typeName(e))
				return nil, false
			}
			maps = append(maps, m)
		}
	default:
		l.problemAt(t, k, "expected an array of tables ([[%s]]), got %s", t.keyPath(k), describe(v))
		return nil, false
	}
	out := make([]*table, len(maps))
	for i, m := range maps {
		name := fmt.Sprintf("%s #%d", label, i+1)
		if s, ok := m[nameKey].(string); ok && s != "" && nameKey != "" {
			name = fmt.Sprintf("%s %q", label, s)
		}
		out[i] = newTable(m, name, true, t.locOf(k, strconv.Itoa(i)))
	}
	return out, true
}

// unknown reports the keys of t nobody read, with a suggestion when one of
// the known keys is close, or a hint from hints when the key is a known mistake.
func (l *loader) unknown(t *table, known []string, hints map[string]string) {
	if t == nil {
		return
	}
	var left []string
	for k := range t.m {
		if !t.read[k] {
			left = append(left, k)
		}
	}
	slices.SortFunc(left, func(a, b string) int {
		la, lb := l.pos.line(t.locOf(a)), l.pos.line(t.locOf(b))
		if la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	for _, k := range left {
		msg := fmt.Sprintf("unknown key %q", k)
		if h, ok := hints[k]; ok {
			msg += " (" + h + ")"
		} else if s := closest(k, known, 1); len(s) > 0 {
			msg += didYouMean(s)
		} else if s := closest(k, slices.Collect(maps.Keys(hints)), 1); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q? %s)", s[0], hints[s[0]])
		}
		l.add(l.pos.line(t.locOf(k)), t.label, msg)
	}
}

// typeName is the TOML name of a decoded value's type.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	}
	return "value"
}

// describe names a value's type, and shows the value when it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("string %q", v)
	case int64, float64, bool:
		return fmt.Sprintf("%s %v", typeName(v), v)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a " + typeName(v)
}
