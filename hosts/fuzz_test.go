package hosts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzSelect(f *testing.F) {
	inv := mustLoad(f, fleet, testOpts(f))
	for _, s := range []string{
		"", "all", "*", "web1", "web*", "web[12]", "web[^1]", "db?", "@web", "web", "@w*",
		"role=db", "dc=tok*", "web1,db1", "web1:db1", "@web,!web3", "@web:&@tokyo",
		"role=frontend&dc=tokyo", "!web1", "&@tokyo", " web1 , db1 ", "web1,,db1", "web1,",
		"web1&!db1", "@", "=db", "web[", "role=[", "@web!web3", "web[!1]", `web\`, `\,`,
		"[,:&]", "role=a=b", "\x00", "wé", "@web&&", strings.Repeat("*", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		hs, err := inv.Select(pattern)
		if err != nil {
			if !errors.Is(err, ErrNoMatch) && !errors.Is(err, ErrPatternSyntax) {
				t.Fatalf("Select(%q): %v wraps neither sentinel", pattern, err)
			}
			if hs != nil {
				t.Fatalf("Select(%q): hosts and an error", pattern)
			}
			_ = err.Error()
			return
		}
		if len(hs) == 0 {
			t.Fatalf("Select(%q): no hosts and no error", pattern)
		}
		// File order, each once.
		last := -1
		for _, h := range hs {
			i := indexOf(inv.Hosts, h)
			if i <= last {
				t.Fatalf("Select(%q) = %v: not in file order or repeated", pattern, hostNames(hs))
			}
			last = i
		}
	})
}

func indexOf(hs []*Host, h *Host) int {
	for i := range hs {
		if hs[i] == h {
			return i
		}
	}
	return -1
}

func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/errors/*.toml")
	seeds = append(seeds, "../inventory.example.toml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(fleet))
	f.Add([]byte(sshInventory))
	f.Add([]byte("host = [{name = \"a\", jump = \"a\"}]"))
	f.Add([]byte("[groups.a]\nchildren = [\"b\"]\n[groups.b]\nchildren = [\"a\"]\n"))
	o := testOpts(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := load("fuzz.toml", data, o)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) || !errors.Is(err, ErrInventory) {
				t.Fatalf("%T %v: not a *LoadError wrapping ErrInventory", err, err)
			}
			if len(le.Problems) == 0 {
				t.Fatalf("a LoadError without problems")
			}
			for _, line := range le.Messages() {
				if !strings.HasPrefix(line, "fuzz.toml") {
					t.Fatalf("problem line %q does not start with the file", line)
				}
			}
			return
		}
		if inv == nil {
			t.Fatal("nil inventory and nil error")
		}
		for _, h := range inv.Hosts {
			if checkHostOrGroupName(h.Name) != nil || inv.Host(h.Name) != h {
				t.Fatalf("host %q loaded", h.Name)
			}
			if checkPort(h.Port) != nil || h.ConnectTimeout <= 0 || h.Address == "" {
				t.Fatalf("host %+v loaded", h)
			}
			// Jumps end.
			seen := map[string]bool{}
			for cur := h; cur != nil && cur.Jump != ""; cur = inv.Host(cur.Jump) {
				if seen[cur.Name] {
					t.Fatalf("jump loop through %q loaded", cur.Name)
				}
				seen[cur.Name] = true
			}
		}
		if len(inv.Hosts) > 0 {
			if _, err := inv.Select(""); err != nil {
				t.Fatalf("Select(\"\"): %v", err)
			}
		}
		_ = inv.Completions()
	})
}
