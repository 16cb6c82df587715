package hosts

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/errors/*.golden from what Load says")

// TestLoadErrorsGolden loads each testdata/errors/*.toml and compares the
// error, every problem at once, with the .golden file beside it.
func TestLoadErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".toml"), func(t *testing.T) {
			_, err := LoadWith(file, testOpts(t))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if !errors.Is(err, ErrInventory) {
				t.Errorf("%v does not wrap ErrInventory", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("error differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "nope.toml"))
	want := "testdata/nope.toml: no such file\nhint: name the inventory with -i FILE or set FLOTILLA_INVENTORY"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if !errors.Is(err, ErrInventory) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%v should wrap ErrInventory and fs.ErrNotExist", err)
	}
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 1 || le.Hint == "" {
		t.Errorf("LoadError = %+v", le)
	}
}

func TestLoadErrorMessages(t *testing.T) {
	_, err := load("prod.toml", []byte(`
[[host]]
name = "web-1"
adress = "10.0.0.1"

[[host]]
name = "db1"
connect_timeout = "10x"

[groups.web]
hosts = ["web1"]
`), testOpts(t))
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`prod.toml:4: host "web-1": unknown key "adress" (did you mean "address"?)`,
		`prod.toml:8: host "db1": connect_timeout: invalid duration "10x" (expected e.g. "10s", "1m")`,
		`prod.toml:11: groups.web.hosts: unknown host "web1" (did you mean "web-1"?)`,
	}
	if got := le.Messages(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
