package connect

import (
	"errors"
	"strings"
	"testing"
	"time"

	"flotilla/hosts"
)

func testHosts(list ...*hosts.Host) func(string) *hosts.Host {
	return func(name string) *hosts.Host {
		for _, h := range list {
			if h.Name == name {
				return h
			}
		}
		return nil
	}
}

func TestRoute(t *testing.T) {
	bastion := &hosts.Host{Name: "bastion", Address: "10.0.0.1", Port: 22, User: "ops", KnownHosts: "/kh-b"}
	inner := &hosts.Host{Name: "inner", Address: "10.1.0.1", Port: 2222, User: "deploy", Jump: "bastion", ConnectTimeout: 3 * time.Second}
	db := &hosts.Host{Name: "db", Address: "10.2.0.1", Port: 22, User: "deploy", Jump: "inner"}
	pj := &hosts.Host{Name: "pj", Address: "10.3.0.1", Port: 22, User: "deploy", ProxyJump: "gw1.example, admin@[fd00::1]:2200,ssh://gw3:23", KnownHosts: "/kh"}
	loopA := &hosts.Host{Name: "a", Address: "a", Jump: "b"}
	loopB := &hosts.Host{Name: "b", Address: "b", Jump: "a"}
	lookup := testHosts(bastion, inner, db, pj, loopA, loopB)

	tests := []struct {
		host    *hosts.Host
		want    []string // user@addr per hop, admin side first
		wantErr string
	}{
		{host: bastion, want: []string{"ops@10.0.0.1:22"}},
		{host: db, want: []string{"ops@10.0.0.1:22", "deploy@10.1.0.1:2222", "deploy@10.2.0.1:22"}},
		{host: pj, want: []string{"deploy@gw1.example:22", "admin@[fd00::1]:2200", "deploy@gw3:23", "deploy@10.3.0.1:22"}},
		{host: &hosts.Host{Name: "x", Address: "x", Jump: "nope"}, wantErr: `jump host "nope" of x is not in the inventory`},
		{host: loopA, wantErr: "loop"},
		{host: &hosts.Host{Name: "y", Address: "y", User: "u", ProxyJump: "gw:99999"}, wantErr: "bad port"},
	}
	for _, tt := range tests {
		hops, err := route(tt.host, lookup)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.host.Name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.host.Name, err)
			continue
		}
		var got []string
		for _, h := range hops {
			got = append(got, h.user+"@"+h.addr)
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: route %v, want %v", tt.host.Name, got, tt.want)
		}
	}
	// Each inventory hop keeps its own settings; ProxyJump hops take the target's.
	hops, _ := route(db, lookup)
	if hops[0].knownHosts != "/kh-b" || hops[1].timeout != 3*time.Second || hops[2].timeout != hosts.DefaultConnectTimeout {
		t.Errorf("hop settings not taken from each host: %+v", hops)
	}
	hops, _ = route(pj, lookup)
	if hops[0].knownHosts != "/kh" {
		t.Errorf("ProxyJump hop does not use the host's known_hosts: %+v", hops[0])
	}
}

func TestOpenSSHJumpFlags(t *testing.T) {
	b := &hosts.Host{Name: "b", Address: "10.0.0.1", Port: 22, User: "ops"}
	j := &hosts.Host{Name: "j", Address: "10.0.0.2", Port: 22, User: "ops", Jump: "b"}
	h := &hosts.Host{Name: "h", Address: "10.0.0.3", Port: 2200, User: "deploy", Jump: "j", HostKeyCheck: HostKeyAcceptNew}
	flags, err := opensshFlags(h, "", testHosts(b, j, h), 0)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(flags, " ")
	for _, want := range []string{"BatchMode=yes", "HostName=10.0.0.3", "Port=2200", "User=deploy", "StrictHostKeyChecking=accept-new"} {
		if !strings.Contains(joined, want) {
			t.Errorf("flags lack %s: %s", want, joined)
		}
	}
	var proxy string
	for _, f := range flags {
		if strings.HasPrefix(f, "ProxyCommand=") {
			proxy = f
		}
	}
	// This ssh expands [%h]:%p for j; j's own ProxyCommand (for b) must
	// reach j's ssh with single percents: doubled here.
	if !strings.Contains(proxy, "-W '[%h]:%p' -- j") || !strings.Contains(proxy, "[%%h]:%%p") || !strings.Contains(proxy, "-- b") {
		t.Errorf("ProxyCommand does not chain j then b with escaped tokens: %s", proxy)
	}
	if _, err := opensshFlags(&hosts.Host{Name: "x", Jump: "x2"}, "", testHosts(), 0); err == nil {
		t.Error("unknown jump host: no error")
	}
}

func TestClassifyOpenSSHError(t *testing.T) {
	h := &hosts.Host{Name: "h", User: "deploy"}
	tests := []struct {
		stderr string
		kind   error
		text   string
	}{
		{"ssh: connect to host 127.0.1.9 port 22: Connection refused", ErrUnreachable, "connection refused"},
		{"Connection timed out during banner exchange\nConnection to 127.0.1.9 port 22 timed out", ErrUnreachable, "did not answer"},
		{"ssh: connect to host 10.9.9.9 port 22: Connection timed out", ErrUnreachable, "connect timed out"},
		{"deploy@127.0.1.9: Permission denied (publickey).", ErrAuth, `user "deploy"`},
		{"No ED25519 host key is known for [127.0.1.9]:2222 and you have requested strict checking.\nHost key verification failed.", ErrHostKeyUnknown, "host key"},
		{"@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nThe fingerprint for the ED25519 key sent by the remote host is\nSHA256:abc.\nHost key verification failed.", ErrHostKeyChanged, "host key changed"},
	}
	for _, tt := range tests {
		err := classifyOpenSSHError(h, "127.0.1.9:22", tt.stderr)
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%q: got %v, want %v containing %q", tt.stderr, err, tt.kind, tt.text)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/var/run/docker.sock": "/var/run/docker.sock",
		"a b":                  "'a b'",
		"it's":                 `'it'\''s'`,
		"":                     "''",
		"$(rm -rf /)":          "'$(rm -rf /)'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
