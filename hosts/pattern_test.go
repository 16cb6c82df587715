package hosts

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const fleet = `
[groups.web]
hosts = ["web1", "web2", "web3"]

[groups.db]
hosts = ["db1", "db2"]

[groups.tokyo]
hosts = ["web1", "web3", "db1"]

[groups.app]
children = ["web", "db"]

[groups.empty]
hosts = []

[[host]]
name = "bastion"
labels = { role = "bastion" }

[[host]]
name = "web1"
labels = { role = "frontend", dc = "tokyo" }

[[host]]
name = "web2"
labels = { role = "frontend", dc = "osaka" }

[[host]]
name = "web3"
labels = { role = "frontend", dc = "tokyo" }

[[host]]
name = "db1"
labels = { role = "db", dc = "tokyo" }

[[host]]
name = "db2"
labels = { role = "db", dc = "osaka" }
`

func TestSelect(t *testing.T) {
	inv := mustLoad(t, fleet, testOpts(t))
	all := []string{"bastion", "web1", "web2", "web3", "db1", "db2"}
	webs := []string{"web1", "web2", "web3"}
	tests := []struct {
		pattern string
		want    []string
	}{
		{"", all},
		{"   ", all},
		{"all", all},
		{"*", all},
		{"web1", []string{"web1"}},
		{"web*", webs},
		{"web[12]", []string{"web1", "web2"}},
		{"web[^1]", []string{"web2", "web3"}},
		{"db?", []string{"db1", "db2"}},
		{"@web", webs},
		{"web", webs}, // a bare group name
		{"@w*", webs}, // a group glob
		{"@app", []string{"web1", "web2", "web3", "db1", "db2"}},
		{"role=db", []string{"db1", "db2"}},
		{"dc=tok*", []string{"web1", "web3", "db1"}},
		{"db1,web1", []string{"web1", "db1"}}, // file order, not pattern order
		{"web1:db1", []string{"web1", "db1"}},
		{"web1,web1,web*", webs}, // no duplicates
		{"@web,!web3", []string{"web1", "web2"}},
		{"@web:!web3", []string{"web1", "web2"}},
		{"@web:&@tokyo", []string{"web1", "web3"}},
		{"@web,&@tokyo", []string{"web1", "web3"}},
		{"role=frontend&dc=tokyo", []string{"web1", "web3"}},
		{"@web&dc=osaka", []string{"web2"}},
		{"@app,!@db,bastion", []string{"bastion", "web1", "web2", "web3"}},
		{"@app,bastion,!@db", []string{"bastion", "web1", "web2", "web3"}},
		{" web1 , db1 ", []string{"web1", "db1"}},
		{"@web , & dc=tokyo , ! web1", []string{"web3"}},
		{"!web1", []string{"bastion", "web2", "web3", "db1", "db2"}}, // starts from all
		{"&@tokyo", []string{"web1", "web3", "db1"}},
		{"all,!@app", []string{"bastion"}},
		{"web1&web*", []string{"web1"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := inv.Select(tt.pattern)
			if err != nil {
				t.Fatalf("Select(%q): %v", tt.pattern, err)
			}
			if names := hostNames(got); !slices.Equal(names, tt.want) {
				t.Errorf("Select(%q) = %v, want %v", tt.pattern, names, tt.want)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	inv := mustLoad(t, fleet, testOpts(t))
	tests := []struct {
		pattern string
		is      error
		msg     string
	}{
		{"web9", ErrNoMatch, `no host or group named "web9" (did you mean "web1", "web2" or "web3"?)`},
		{"wbe1", ErrNoMatch, `no host or group named "wbe1" (did you mean "web1"?)`},
		{"db1,wbe", ErrNoMatch, `no host or group named "wbe" in pattern "db1,wbe" (did you mean "@web"?)`},
		{"@wbe", ErrNoMatch, `no group named "wbe" (did you mean "@web"?)`},
		{"@nothing", ErrNoMatch, `no group named "nothing"`},
		{"role=dbb", ErrNoMatch, `no host has label role=dbb (did you mean "role=db"?)`},
		{"rol=db", ErrNoMatch, `no host has label rol=db (did you mean "role=db"?)`},
		{"x*", ErrNoMatch, `no host matches "x*"`},
		{"@x*", ErrNoMatch, `no host in a group matching "@x*"`},
		{"@empty", ErrNoMatch, `group "empty" has no hosts`},
		{"empty", ErrNoMatch, `group "empty" has no hosts`},
		{"@web,!xyz", ErrNoMatch, `no host or group named "xyz" in pattern "@web,!xyz"`},
		{"@web:&@db", ErrNoMatch, `pattern "@web:&@db" selects no host`},
		{"web1,!web1", ErrNoMatch, `pattern "web1,!web1" selects no host`},
		{"web1,,db1", ErrPatternSyntax, `invalid pattern "web1,,db1": empty term after ',' at column 6`},
		{",web1", ErrPatternSyntax, `invalid pattern ",web1": empty term at column 1`},
		{"web1,", ErrPatternSyntax, `invalid pattern "web1,": nothing after ',' at the end`},
		{"web1&", ErrPatternSyntax, `invalid pattern "web1&": nothing after '&' at the end`},
		{"!", ErrPatternSyntax, `invalid pattern "!": nothing after '!' at the end`},
		{"web1&!db1", ErrPatternSyntax, `invalid pattern "web1&!db1": '!' right after '&' (write ',!' to start a new term)`},
		{"web1&&db1", ErrPatternSyntax, `invalid pattern "web1&&db1": '&' right after '&' (write ',&' to start a new term)`},
		{"@", ErrPatternSyntax, `invalid pattern "@": "@" needs a group name after '@'`},
		{"=db", ErrPatternSyntax, `invalid pattern "=db": "=db" needs a label key before '='`},
		{"web[", ErrPatternSyntax, `invalid pattern "web[": invalid glob "web["`},
		{"role=[", ErrPatternSyntax, `invalid pattern "role=[": invalid glob "[" in "role=["`},
		{"web 1", ErrPatternSyntax, `invalid pattern "web 1": unexpected ' ' in "web 1" (separate terms with ',')`},
		{"@web!web3", ErrPatternSyntax, `invalid pattern "@web!web3": unexpected '!' in "@web!web3" (exclusion is written ",!TERM")`},
		{"web[!1]", ErrPatternSyntax, `invalid pattern "web[!1]": unexpected '!' in "web[!1]" (a class is negated with [^...])`},
		{"web@1", ErrPatternSyntax, `invalid pattern "web@1": unexpected '@' in "web@1" ('@' starts a term)`},
		{"wé", ErrPatternSyntax, `invalid pattern "wé": unexpected 0xc3 in "wé"`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := inv.Select(tt.pattern)
			if err == nil {
				t.Fatalf("Select(%q) = %v, want an error", tt.pattern, hostNames(got))
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("Select(%q): %v does not wrap %v", tt.pattern, err, tt.is)
			}
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Errorf("Select(%q): %T is not a *PatternError", tt.pattern, err)
			}
			if err.Error() != tt.msg {
				t.Errorf("Select(%q):\n got %s\nwant %s", tt.pattern, err, tt.msg)
			}
		})
	}
}

func TestSelectHostNamedLikeGroup(t *testing.T) {
	inv := mustLoad(t, `
[groups.db1]
hosts = ["db2"]
[[host]]
name = "db1"
[[host]]
name = "db2"
`, testOpts(t))
	if got := hostNames(must(inv.Select("db1"))); !slices.Equal(got, []string{"db1"}) {
		t.Errorf("bare name: got %v, want the host", got)
	}
	if got := hostNames(must(inv.Select("@db1"))); !slices.Equal(got, []string{"db2"}) {
		t.Errorf("@name: got %v, want the group", got)
	}
	if len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0], "share a name") {
		t.Errorf("warnings = %q, want one about the shared name", inv.Warnings)
	}
}

func TestSelectEmptyInventory(t *testing.T) {
	inv := mustLoad(t, ``, testOpts(t))
	for _, p := range []string{"", "all", "!x"} {
		if _, err := inv.Select(p); !errors.Is(err, ErrNoMatch) {
			t.Errorf("Select(%q) on no hosts: %v, want ErrNoMatch", p, err)
		}
	}
}

func TestCompletions(t *testing.T) {
	inv := mustLoad(t, fleet, testOpts(t))
	want := []string{
		"@app", "@db", "@empty", "@tokyo", "@web",
		"bastion", "db1", "db2",
		"dc=osaka", "dc=tokyo",
		"role=bastion", "role=db", "role=frontend",
		"web1", "web2", "web3",
	}
	if got := inv.Completions(); !slices.Equal(got, want) {
		t.Errorf("Completions() =\n%q\nwant\n%q", got, want)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
