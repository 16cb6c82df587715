package connect

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAcceptNewFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	known, other, fresh := newKey(t), newKey(t), newKey(t)
	// A hashed line (HashKnownHosts yes) and an unterminated last line.
	hashed := knownhosts.Line([]string{knownhosts.HashHostname("[10.0.0.1]:2222")}, known)
	os.WriteFile(file, []byte(hashed), 0o600)
	remote := &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 2222}

	strict, err := hostKeyCallback(file, HostKeyStrict)
	if err != nil {
		t.Fatal(err)
	}
	if err := strict("10.0.0.1:2222", remote, known); err != nil {
		t.Errorf("hashed line not honoured: %v", err)
	}
	if err := strict("10.0.0.2:22", remote, fresh); !errors.Is(err, ErrHostKeyUnknown) {
		t.Errorf("strict, unknown host: %v", err)
	}

	accept, err := hostKeyCallback(file, HostKeyAcceptNew)
	if err != nil {
		t.Fatal(err)
	}
	if err := accept("10.0.0.1:2222", remote, other); !errors.Is(err, ErrHostKeyChanged) {
		t.Errorf("accept-new took a changed key: %v", err)
	}
	if err := accept("10.0.0.2:22", &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 22}, fresh); err != nil {
		t.Fatalf("accept-new: %v", err)
	}
	if err := accept("10.0.0.3:2200", &net.TCPAddr{IP: net.ParseIP("10.0.0.3"), Port: 2200}, fresh); err != nil {
		t.Fatalf("accept-new: %v", err)
	}
	data, _ := os.ReadFile(file)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "10.0.0.2 ssh-ed25519 ") || !strings.HasPrefix(lines[2], "[10.0.0.3]:2200 ssh-ed25519 ") {
		t.Errorf("known_hosts after accept-new:\n%s", data)
	}
	// Recorded now: strict trusts it, a different key is a change.
	strict, _ = hostKeyCallback(file, HostKeyStrict)
	if err := strict("10.0.0.2:22", &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 22}, fresh); err != nil {
		t.Errorf("accepted key not trusted afterwards: %v", err)
	}
	if err := accept("10.0.0.2:22", &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 22}, other); !errors.Is(err, ErrHostKeyChanged) {
		t.Errorf("key accepted in this run, then changed: %v", err)
	}
}
