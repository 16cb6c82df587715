package hosts

import (
	"slices"
	"testing"
	"time"
)

// settings is what precedence decides for one host.
type settings struct {
	Address, User, Transport, IdentityFile, KnownHosts, HostKeyCheck, Socket, Jump string
	Port                                                                           int
	ConnectTimeout                                                                 time.Duration
}

func settingsOf(h *Host) settings {
	return settings{
		Address: h.Address, User: h.User, Transport: h.Transport, IdentityFile: h.IdentityFile,
		KnownHosts: h.KnownHosts, HostKeyCheck: h.HostKeyCheck, Socket: h.Socket, Jump: h.Jump,
		Port: h.Port, ConnectTimeout: h.ConnectTimeout,
	}
}

// builtins is what a host gets when nothing sets anything (see testOpts).
var builtins = settings{
	Address: "a", User: "osuser", Transport: "ssh", KnownHosts: "/home/test/.ssh/known_hosts",
	HostKeyCheck: "strict", Port: 22, ConnectTimeout: 10 * time.Second,
}

func TestPrecedence(t *testing.T) {
	with := func(f func(*settings)) settings {
		s := builtins
		f(&s)
		return s
	}
	tests := []struct {
		name string
		src  string
		o    Overrides
		want settings
	}{
		{"built-in defaults", `[[host]]
name = "a"`, Overrides{}, builtins},

		{"defaults over built-ins", `
[defaults]
user = "deploy"
port = 2200
transport = "openssh"
identity_file = "keys/id"
known_hosts = "~/kh"
host_key_check = "accept-new"
connect_timeout = "3s"
socket = "unix:///run/docker.sock"
[[host]]
name = "a"`, Overrides{}, settings{
			Address: "a", User: "deploy", Port: 2200, Transport: "openssh", IdentityFile: "/inv/keys/id",
			KnownHosts: "/home/test/kh", HostKeyCheck: "accept-new", ConnectTimeout: 3 * time.Second,
			Socket: "/run/docker.sock",
		}},

		{"group vars over defaults", `
[defaults]
user = "deploy"
port = 2200
[groups.g]
hosts = ["a"]
vars = { user = "g" }
[[host]]
name = "a"`, Overrides{}, with(func(s *settings) { s.User = "g"; s.Port = 2200 })},

		{"later group name wins, whatever the file order", `
[groups.zeta]
hosts = ["a"]
vars = { user = "zeta", port = 2201 }
[groups.alpha]
hosts = ["a"]
vars = { user = "alpha", connect_timeout = "1s" }
[[host]]
name = "a"`, Overrides{}, with(func(s *settings) { s.User = "zeta"; s.Port = 2201; s.ConnectTimeout = time.Second })},

		{"parent group vars reach a child's hosts", `
[groups.prod]
children = ["web"]
vars = { user = "prod", port = 2200 }
[groups.web]
hosts = ["a"]
vars = { user = "web" }
[[host]]
name = "a"`, Overrides{}, with(func(s *settings) { s.User = "web"; s.Port = 2200 })},

		{"host keys over group vars", `
[defaults]
connect_timeout = "5s"
[groups.g]
hosts = ["a"]
vars = { user = "g", port = 2200 }
[[host]]
name = "a"
address = "10.0.0.1"
user = "host"
jump = "b"
[[host]]
name = "b"`, Overrides{}, with(func(s *settings) {
			s.Address = "10.0.0.1"
			s.User = "host"
			s.Port = 2200
			s.Jump = "b"
			s.ConnectTimeout = 5 * time.Second
		})},

		{"overrides over host keys", `
[[host]]
name = "a"
user = "host"
port = 2200
transport = "openssh"
identity_file = "/k"
connect_timeout = "5s"`, Overrides{User: "flag", Port: 2300, Transport: "ssh", IdentityFile: "~/flag_key", ConnectTimeout: time.Minute},
			with(func(s *settings) {
				s.User = "flag"
				s.Port = 2300
				s.IdentityFile = "/home/test/flag_key"
				s.ConnectTimeout = time.Minute
			})},

		{"empty overrides change nothing", `
[[host]]
name = "a"
user = "host"`, Overrides{}, with(func(s *settings) { s.User = "host" })},

		{"identity_file empty means none", `
[defaults]
identity_file = "~/.ssh/id"
[[host]]
name = "a"
identity_file = ""`, Overrides{}, builtins},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := mustLoad(t, tt.src, testOpts(t))
			inv.Apply(tt.o)
			if got := settingsOf(inv.Host("a")); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestHostGroupsThroughChildren(t *testing.T) {
	inv := mustLoad(t, `
[groups.prod]
children = ["web", "db"]
[groups.web]
hosts = ["w"]
[groups.db]
hosts = ["d"]
[groups.all-web]
children = ["web"]
hosts = ["d"]
[[host]]
name = "d"
[[host]]
name = "w"
`, testOpts(t))
	if got := inv.Host("w").Groups; !slices.Equal(got, []string{"all-web", "prod", "web"}) {
		t.Errorf("w groups = %v", got)
	}
	if got := inv.Groups["all-web"].Hosts; !slices.Equal(got, []string{"d", "w"}) {
		t.Errorf("all-web hosts = %v, want file order", got)
	}
	if got := inv.Groups["prod"].Hosts; !slices.Equal(got, []string{"d", "w"}) {
		t.Errorf("prod hosts = %v", got)
	}
}

func TestOverridesValidate(t *testing.T) {
	for _, o := range []Overrides{{Port: 70000}, {Transport: "telnet"}, {ConnectTimeout: -time.Second}, {IdentityFile: "~bob/id"}} {
		if o.Validate() == nil {
			t.Errorf("%+v: Validate() = nil, want an error", o)
		}
	}
	if err := (Overrides{User: "u", Port: 22, Transport: "openssh", ConnectTimeout: time.Second, IdentityFile: "~/id"}).Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}
