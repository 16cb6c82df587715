package hosts

import (
	"slices"
	"strconv"
	"strings"
)

// positions maps a key path (array elements as their index: host.2.port) to
// the line where it first appears. BurntSushi/toml keeps key positions
// private, so the loader finds them with this small scanner. It only runs on
// input the toml parser accepted, and is best effort: a path it missed falls
// back to its nearest recorded parent.
type positions map[string]int

func posKey(path []string) string { return strings.Join(path, "\x00") }

// line returns the line of path, or of its nearest recorded parent, or 0.
func (p positions) line(path []string) int {
	for n := len(path); n > 0; n-- {
		if l, ok := p[posKey(path[:n])]; ok {
			return l
		}
	}
	return 0
}

type posScanner struct {
	src    string
	i      int
	line   int
	pos    positions
	arrays map[string]int // resolved path of an array of tables -> elements so far
}

func scanPositions(src string) positions {
	s := &posScanner{src: src, line: 1, pos: positions{}, arrays: map[string]int{}}
	var cur []string
	for s.i < len(s.src) {
		start := s.i
		s.space(true)
		if s.i >= len(s.src) {
			break
		}
		if s.src[s.i] == '[' {
			cur = s.header()
		} else {
			s.keyValue(cur)
		}
		s.restOfLine()
		if s.i == start {
			s.i++ // never stall on input the scanner does not understand
		}
	}
	return s.pos
}

// record sets the line of path and of its parents that have none yet.
func (s *posScanner) record(path []string) {
	for n := 1; n <= len(path); n++ {
		k := posKey(path[:n])
		if _, ok := s.pos[k]; !ok {
			s.pos[k] = s.line
		}
	}
}

func (s *posScanner) header() []string {
	array := strings.HasPrefix(s.src[s.i:], "[[")
	if array {
		s.i += 2
	} else {
		s.i++
	}
	keys := s.key()
	var res []string
	for n, k := range keys {
		res = append(res, k)
		rk := posKey(res)
		switch c, ok := s.arrays[rk]; {
		case array && n == len(keys)-1:
			s.arrays[rk] = c + 1
			s.record(res)
			res = append(res, strconv.Itoa(c))
		case ok:
			res = append(res, strconv.Itoa(c-1))
		}
	}
	s.record(res)
	return res
}

func (s *posScanner) keyValue(cur []string) {
	keys := s.key()
	if len(keys) == 0 {
		return
	}
	path := append(slices.Clone(cur), keys...)
	s.record(path)
	s.blank()
	if s.i < len(s.src) && s.src[s.i] == '=' {
		s.i++
		s.blank()
		s.value(path)
	}
}

// key reads a dotted key of bare and quoted parts.
func (s *posScanner) key() []string {
	var keys []string
	for {
		s.blank()
		if s.i >= len(s.src) {
			return keys
		}
		var k string
		switch s.src[s.i] {
		case '"', '\'':
			k = s.str()
		default:
			j := s.i
			for j < len(s.src) && isBareKeyChar(s.src[j]) {
				j++
			}
			if j == s.i {
				return keys
			}
			k, s.i = s.src[s.i:j], j
		}
		keys = append(keys, k)
		s.blank()
		if s.i < len(s.src) && s.src[s.i] == '.' {
			s.i++
			continue
		}
		return keys
	}
}

func isBareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func (s *posScanner) value(path []string) {
	if s.i >= len(s.src) {
		return
	}
	switch s.src[s.i] {
	case '{':
		s.inlineTable(path)
	case '[':
		s.array(path)
	case '"', '\'':
		s.str()
	default: // numbers, booleans, dates (which may hold a space)
		for s.i < len(s.src) && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.i])) {
			s.i++
		}
	}
}

func (s *posScanner) inlineTable(path []string) {
	s.i++
	for s.i < len(s.src) {
		s.space(true)
		if s.i >= len(s.src) {
			return
		}
		switch s.src[s.i] {
		case '}':
			s.i++
			return
		case ',':
			s.i++
			continue
		}
		keys := s.key()
		if len(keys) == 0 {
			s.i++
			continue
		}
		p := append(slices.Clone(path), keys...)
		s.record(p)
		s.blank()
		if s.i < len(s.src) && s.src[s.i] == '=' {
			s.i++
			s.blank()
			s.value(p)
		}
	}
}

func (s *posScanner) array(path []string) {
	s.i++
	idx := 0
	for s.i < len(s.src) {
		s.space(true)
		if s.i >= len(s.src) {
			return
		}
		switch s.src[s.i] {
		case ']':
			s.i++
			return
		case ',':
			s.i++
			idx++
			continue
		}
		start := s.i
		p := append(slices.Clone(path), strconv.Itoa(idx))
		s.record(p)
		s.value(p)
		if s.i == start {
			s.i++
		}
	}
}

// str skips a string of any of the four kinds and returns its content
// (unescaped when that is easy: it is only used to match key names).
func (s *posScanner) str() string {
	q := s.src[s.i]
	if strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)) {
		s.i += 3
		start := s.i
		for s.i < len(s.src) {
			c := s.src[s.i]
			switch {
			case c == '\\' && q == '"':
				s.i++
				if s.i < len(s.src) && s.src[s.i] == '\n' {
					s.line++
				}
			case c == '\n':
				s.line++
			case c == q && strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)):
				end := s.i
				s.i += 3
				// Up to two more quotes belong to the content.
				for n := 0; n < 2 && s.i < len(s.src) && s.src[s.i] == q; n++ {
					s.i++
					end++
				}
				return s.src[start:end]
			}
			s.i++
		}
		return s.src[start:]
	}
	start := s.i
	s.i++
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		c := s.src[s.i]
		if c == '\\' && q == '"' {
			s.i += 2
			continue
		}
		s.i++
		if c == q {
			raw := s.src[start:s.i]
			if q == '\'' {
				return raw[1 : len(raw)-1]
			}
			if u, err := strconv.Unquote(raw); err == nil {
				return u
			}
			return raw[1 : len(raw)-1]
		}
	}
	if s.i > len(s.src) {
		s.i = len(s.src)
	}
	return s.src[start+1 : s.i]
}

// blank skips spaces and tabs.
func (s *posScanner) blank() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// space skips blanks and comments, and newlines too when nl is set.
func (s *posScanner) space(nl bool) {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			if !nl {
				return
			}
			s.line++
			s.i++
		case '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

// restOfLine skips what is left of the line: blanks and a comment.
func (s *posScanner) restOfLine() {
	for s.i < len(s.src) {
		c := s.src[s.i]
		s.i++
		if c == '\n' {
			s.line++
			return
		}
	}
}
