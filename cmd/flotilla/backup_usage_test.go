package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These fail before anything connects: the hosts need not exist.
func TestBackupUsageErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostsOnly := "[[host]]\nname = \"db1\"\naddress = \"127.0.0.1\"\n"
	withBackup := write("inv.toml", hostsOnly+`
[backup]
dir = "store"
keep = 2

[[backup.dump]]
name = "pg"
hosts = "db1"
service = "pg"
command = ["pg_dumpall"]
stdin_secret_env = "FLOTILLA_TEST_UNSET_SECRET"
`)
	os.Unsetenv("FLOTILLA_TEST_UNSET_SECRET")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no backup table", []string{"-i", write("plain.toml", hostsOnly), "backup"}, []string{"has no [backup] table", "hint:"}},
		{"secret env unset", []string{"-i", withBackup, "backup"}, []string{"FLOTILLA_TEST_UNSET_SECRET is not set", "hint:"}},
		{"unknown --only", []string{"-i", withBackup, "backup", "--only", "mongo"}, []string{`--only "mongo"`, "declared: pg"}},
		{"limit selects nothing with declarations", []string{"-i", withBackup, "-l", "nope*", "backup"}, []string{"error:"}},
		{"prune keep 0", []string{"-i", withBackup, "backup", "prune", "--keep", "0"}, []string{"--keep must be 1 or more"}},
		{"restore unknown host", []string{"-i", withBackup, "restore", "volume", "web9", "latest", "v"}, []string{`host "web9" is not in`}},
		{"restore without sets", []string{"-i", withBackup, "restore", "dump", "db1", "latest", "pg"}, []string{"no complete backup set"}},
		{"restore wrong arg count", []string{"-i", withBackup, "restore", "volume", "db1"}, []string{"usage: flotilla restore volume HOST SET NAME"}},
		{"verify unknown set", []string{"-i", withBackup, "backup", "verify", "db1/20200101T000000Z"}, []string{"no backup set"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := flotilla(t, c.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if out != "" {
				t.Errorf("a usage error printed to stdout:\n%s", out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); err == nil {
		t.Error("a run that failed on usage created the backup dir")
	}
}
