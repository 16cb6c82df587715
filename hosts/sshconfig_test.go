package hosts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withSSHConfig returns options whose home holds .ssh/config with content.
func withSSHConfig(t *testing.T, content string) Options {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return Options{Home: home, User: "osuser"}
}

const sshConfigText = `
# an alias line, several names
Host web1 w1
    HostName 10.1.0.1
    User sshuser
    Port 2201
    IdentityFile ~/.ssh/web_key

Host db*
    HostName %h.internal
    User dbuser
    Port 2202
    ProxyJump bastion
    UserKnownHostsFile ~/.ssh/kh_db ~/.ssh/kh_other

Host cache1
    ProxyJump admin@gw.example.com:2222

Host bastion
    ProxyJump bastion

# openssh evaluates this; the parser cannot, so it is passed over
Match exec "test -f /nonexistent"
    User matchuser

Host *
    User fallback
    Port 2299
    IdentityFile %d/.ssh/id_default
`

const sshInventory = `
[groups.db]
hosts = ["db2"]
vars = { user = "dbadmin" }

[[host]]
name = "web1"
port = 22                # set: stays

[[host]]
name = "db1"             # db*: HostName with %h, user, jump

[[host]]
name = "db2"
address = "db2"          # set, even if equal to the name

[[host]]
name = "cache1"

[[host]]
name = "bastion"
address = "203.0.113.1"
identity_file = "/keys/bastion"
known_hosts = "/kh"
`

func TestSSHConfigFillsUnset(t *testing.T) {
	o := withSSHConfig(t, sshConfigText)
	inv := mustLoad(t, sshInventory, o)
	if len(inv.Warnings) != 0 {
		t.Errorf("warnings: %q", inv.Warnings)
	}
	home := o.Home
	tests := []struct {
		host string
		want settings
	}{
		{"web1", settings{Address: "10.1.0.1", User: "sshuser", Port: 22, IdentityFile: home + "/.ssh/web_key",
			KnownHosts: home + "/.ssh/known_hosts"}},
		{"db1", settings{Address: "db1.internal", User: "dbuser", Port: 2202, IdentityFile: home + "/.ssh/id_default",
			KnownHosts: home + "/.ssh/kh_db", Jump: "bastion"}},
		{"db2", settings{Address: "db2", User: "dbadmin", Port: 2202, IdentityFile: home + "/.ssh/id_default",
			KnownHosts: home + "/.ssh/kh_db", Jump: "bastion"}},
		{"cache1", settings{Address: "cache1", User: "fallback", Port: 2299, IdentityFile: home + "/.ssh/id_default",
			KnownHosts: home + "/.ssh/known_hosts"}},
		// its own ProxyJump is ignored rather than a loop
		{"bastion", settings{Address: "203.0.113.1", User: "fallback", Port: 2299, IdentityFile: "/keys/bastion",
			KnownHosts: "/kh"}},
	}
	for _, tt := range tests {
		h := inv.Host(tt.host)
		tt.want.Transport, tt.want.HostKeyCheck, tt.want.ConnectTimeout = "ssh", "strict", 10*time.Second
		if got := settingsOf(h); got != tt.want {
			t.Errorf("%s:\n got  %+v\n want %+v", tt.host, got, tt.want)
		}
	}
	if got := inv.Host("cache1").ProxyJump; got != "admin@gw.example.com:2222" {
		t.Errorf("cache1 ProxyJump = %q", got)
	}
	if got := inv.Host("db1").ProxyJump; got != "" {
		t.Errorf("db1 ProxyJump = %q, want it as Jump only", got)
	}
}

func TestSSHConfigAlias(t *testing.T) {
	// The inventory name is the alias: "w1" is a Host alias of the same block.
	inv := mustLoad(t, `[[host]]
name = "w1"`, withSSHConfig(t, sshConfigText))
	if h := inv.Host("w1"); h.Address != "10.1.0.1" || h.User != "sshuser" || h.Port != 2201 {
		t.Errorf("w1 = %+v", settingsOf(h))
	}
}

func TestSSHConfigBelowInventory(t *testing.T) {
	inv := mustLoad(t, `
[defaults]
user = "deploy"
port = 2000
identity_file = "/id"
known_hosts = "/kh"
[[host]]
name = "db1"
address = "10.9.9.9"
jump = "web1"
[[host]]
name = "web1"
`, withSSHConfig(t, sshConfigText))
	h := inv.Host("db1")
	want := settings{Address: "10.9.9.9", User: "deploy", Port: 2000, IdentityFile: "/id", KnownHosts: "/kh", Jump: "web1",
		Transport: "ssh", HostKeyCheck: "strict", ConnectTimeout: 10 * time.Second}
	if got := settingsOf(h); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestSSHConfigProxyJumpLoop(t *testing.T) {
	_, err := load("/inv/test.toml", []byte(`
[[host]]
name = "a"
[[host]]
name = "b"
jump = "a"
`), withSSHConfig(t, "Host a\n  ProxyJump b\n"))
	want := `/inv/test.toml:2: host "a": jump: loop a -> b -> a (through ProxyJump in ~/.ssh/config)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestSSHConfigUnreadable(t *testing.T) {
	inv := mustLoad(t, `[[host]]
name = "a"`, withSSHConfig(t, "Include [\n"))
	if len(inv.Warnings) != 1 || !strings.Contains(inv.Warnings[0], "not used") {
		t.Errorf("warnings = %q, want one saying the file is not used", inv.Warnings)
	}
	if h := inv.Host("a"); h.User != "osuser" {
		t.Errorf("user = %q", h.User)
	}
}

func TestSSHConfigOff(t *testing.T) {
	o := withSSHConfig(t, sshConfigText)
	o.NoSSHConfig = true
	inv := mustLoad(t, `[[host]]
name = "web1"`, o)
	if h := inv.Host("web1"); h.Address != "web1" || h.User != "osuser" {
		t.Errorf("web1 = %+v", settingsOf(h))
	}
}
