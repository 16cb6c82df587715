package hosts

import (
	"slices"
	"testing"
)

func TestBackupResolved(t *testing.T) {
	inv := mustLoad(t, fleet+`
[backup]
dir = "backups"
keep = 3

[[backup.volume]]
hosts = "@db"

[[backup.volume]]
name = "web"
hosts = "@web,!web2"
volumes = ["!*-cache"]
stop_containers = true

[[backup.dump]]
name = "pg"
hosts = "role=db&dc=tokyo"
service = "postgres"
command = ["pg_dumpall", "-U", "postgres"]
stdin_secret_file = "~/secrets/pg"

[[backup.path]]
hosts = "bastion"
paths = ["/srv/app/data", "/etc/app"]
exclude = ["/srv/app/data/tmp"]

[[backup.path]]
hosts = "all"
paths = ["/"]

[[promote]]
from = "r.example/staging/app"
to = "r.example/prod/app"
tags = ["v1"]
`, testOpts(t))
	b := inv.Backup
	if b.Dir != "/inv/backups" || b.Keep != 3 || b.ZstdLevel != DefaultZstdLevel {
		t.Errorf("backup = %+v", b)
	}
	v := b.Volumes
	if v[0].Name != "volumes" || !slices.Equal(v[0].Hosts, []string{"db1", "db2"}) || !slices.Equal(v[0].Volumes, []string{"*"}) {
		t.Errorf("volume 1 = %+v", v[0])
	}
	if v[1].Name != "web" || !slices.Equal(v[1].Hosts, []string{"web1", "web3"}) || !v[1].StopContainers {
		t.Errorf("volume 2 = %+v", v[1])
	}
	if !v[1].AppliesTo("web3") || v[1].AppliesTo("web2") {
		t.Error("AppliesTo")
	}
	if d := b.Dumps[0]; !slices.Equal(d.Hosts, []string{"db1"}) || d.StdinSecretFile != "/home/test/secrets/pg" {
		t.Errorf("dump = %+v", d)
	}
	if p := b.Paths[0]; p.Name != "srv-app-data" || !slices.Equal(p.Hosts, []string{"bastion"}) {
		t.Errorf("path 1 = %+v", p)
	}
	if p := b.Paths[1]; p.Name != "root" || len(p.Hosts) != len(inv.Hosts) {
		t.Errorf("path 2 = %+v", p)
	}
	if len(inv.Promote) != 1 || inv.Promote[0].To != "r.example/prod/app" {
		t.Errorf("promote = %+v", inv.Promote)
	}
}

func TestVolumeSelects(t *testing.T) {
	tests := []struct {
		globs []string
		in    []string
		out   []string
	}{
		{[]string{"*"}, []string{"a", "db-data"}, nil},
		{[]string{"db-*"}, []string{"db-data"}, []string{"web-data"}},
		{[]string{"*", "!*-cache"}, []string{"db-data"}, []string{"db-cache"}},
		{[]string{"!*-cache"}, []string{"db-data"}, []string{"db-cache"}}, // only exclusions: the rest
		{[]string{"!db-cache", "db-*"}, []string{"db-data"}, []string{"db-cache"}},
	}
	for _, tt := range tests {
		v := VolumeBackup{Volumes: tt.globs}
		for _, name := range tt.in {
			if !v.Selects(name) {
				t.Errorf("%q should select %q", tt.globs, name)
			}
		}
		for _, name := range tt.out {
			if v.Selects(name) {
				t.Errorf("%q should not select %q", tt.globs, name)
			}
		}
	}
}

func TestNameFromPath(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/app/data": "srv-app-data",
		"/":             "root",
		"/var/lib/.x":   "var-lib-.x",
		"/.config/a b":  "config-a-b",
	} {
		if got := nameFromPath(in); got != want {
			t.Errorf("nameFromPath(%q) = %q, want %q", in, got, want)
		}
	}
}
