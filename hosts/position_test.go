package hosts

import (
	"strings"
	"testing"
)

func TestScanPositions(t *testing.T) {
	src := `# comment [not a table]
title = "a # not a comment"   # comment
multi = """
line "" two
"""
literal = '''
x = 1
'''
arr = [
  1,   # one
  [2, 3],
  { k = "v" },
]

[[host]]
name = "a"
labels = { role = "db", "quoted key" = 'x' }

[[host]]
name = "b"
"dotted".key = 1

[groups.web]
hosts = ["a",
  "b"]

[host.nested]
deep = true

[[backup.dump]]
name = "d"
`
	p := scanPositions(src)
	tests := []struct {
		path string
		want int
	}{
		{"title", 2},
		{"multi", 3},
		{"literal", 6},
		{"x", 0}, // inside a string
		{"arr", 9},
		{"arr.1", 11},
		{"arr.2.k", 12},
		{"host", 15},
		{"host.0", 15},
		{"host.0.name", 16},
		{"host.0.labels.role", 17},
		{"host.0.labels.quoted key", 17},
		{"host.1", 19},
		{"host.1.name", 20},
		{"host.1.dotted.key", 21},
		{"groups.web", 23},
		{"groups.web.hosts.0", 24},
		{"groups.web.hosts.1", 25},
		{"host.1.nested.deep", 28},
		{"backup.dump.0.name", 31},
		{"backup.dump.0.missing", 30}, // falls back to its parent
	}
	for _, tt := range tests {
		if got := p.line(strings.Split(tt.path, ".")); got != tt.want {
			t.Errorf("line(%s) = %d, want %d", tt.path, got, tt.want)
		}
	}
}
