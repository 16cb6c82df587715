package connect

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"flotilla/hosts"
	"flotilla/internal/lab"
)

// invHost is one [[host]] of a test inventory.
type invHost struct {
	name, addr string
	port       int
	extra      string // more TOML lines
}

func labEntry(name string, h *lab.Host, extra string) invHost {
	return invHost{name: name, addr: h.Address, port: h.Port, extra: extra}
}

// loadInventory writes an inventory with the lab's key and known_hosts as
// defaults (plus defaults), and loads it with home as the home directory.
func loadInventory(t *testing.T, l *lab.Lab, home, defaults string, list ...invHost) *hosts.Inventory {
	t.Helper()
	var b strings.Builder
	b.WriteString("[defaults]\nuser = \"root\"\n")
	if !strings.Contains(defaults, "connect_timeout") {
		b.WriteString("connect_timeout = \"5s\"\n")
	}
	if !strings.Contains(defaults, "identity_file") {
		fmt.Fprintf(&b, "identity_file = %q\n", l.IdentityFile)
	}
	if !strings.Contains(defaults, "known_hosts") {
		fmt.Fprintf(&b, "known_hosts = %q\n", l.KnownHosts)
	}
	b.WriteString(defaults + "\n")
	for _, h := range list {
		fmt.Fprintf(&b, "\n[[host]]\nname = %q\naddress = %q\nport = %d\n%s\n", h.name, h.addr, h.port, h.extra)
	}
	path := filepath.Join(t.TempDir(), "inventory.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if home == "" {
		home = t.TempDir()
	}
	inv, err := hosts.LoadWith(path, hosts.Options{Home: home})
	if err != nil {
		t.Fatalf("inventory:\n%s\n%v", b.String(), err)
	}
	return inv
}

func get(t *testing.T, p *Pool, inv *hosts.Inventory, name string) (*Conn, error) {
	t.Helper()
	h := inv.Host(name)
	if h == nil {
		t.Fatalf("no host %s", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.Get(ctx, h)
}

// mustWork checks that c reaches its engine and runs a host command.
func mustWork(t *testing.T, c *Conn, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("connect: %v (hint: %s)", err, Hint(err))
	}
	ctx := context.Background()
	if _, err := c.Engine.Ping(ctx, clientPing); err != nil {
		t.Errorf("%s: engine ping: %v", c.Host.Name, err)
	}
	var out bytes.Buffer
	if err := c.Run(ctx, "echo flotilla-$((6*7))", nil, &out, nil); err != nil || strings.TrimSpace(out.String()) != "flotilla-42" {
		t.Errorf("%s: host command: %v, output %q", c.Host.Name, err, out.String())
	}
}

var transports = []string{TransportSSH, TransportOpenSSH}

// TestLabJumpHosts reaches a host that only a jump host can reach: through
// the inventory's jump, a chain of jumps, and ssh_config's ProxyJump.
func TestLabJumpHosts(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 1, Engines: 1, NoRegistry: true})
	pair, err := l.AddHiddenPair(context.Background(), l.Engines[0], "jump", "hidden")
	if err != nil {
		t.Fatal(err)
	}
	// Nothing on this side routes to the hidden host: a direct dial fails here.
	if c, err := net.DialTimeout("tcp", pair.Hidden.Addr(), 2*time.Second); err == nil {
		c.Close()
		t.Fatalf("%s is reachable without the jump host; the test would prove nothing", pair.Hidden.Addr())
	}
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	sshConfig := filepath.Join(home, ".ssh", "config")
	cfg := fmt.Sprintf("Host hidden-pj\n  ProxyJump root@%s:22\nHost 169.254.*\n  IdentityFile %s\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
		pair.Jump.Address, l.IdentityFile, l.KnownHosts)
	os.WriteFile(sshConfig, []byte(cfg), 0o600)
	e := l.Engines[0].Socket
	sock := fmt.Sprintf("socket = %q", e)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			inv := loadInventory(t, l, home, fmt.Sprintf("transport = %q", tr),
				labEntry("host1", l.Hosts[0], sock),
				labEntry("jump", pair.Jump, sock),
				labEntry("hidden", pair.Hidden, sock+"\njump = \"jump\""),
				labEntry("jump-via-host1", pair.Jump, sock+"\njump = \"host1\""),
				labEntry("hidden-chain", pair.Hidden, sock+"\njump = \"jump-via-host1\""),
				labEntry("hidden-pj", pair.Hidden, sock),
			)
			if pj := inv.Host("hidden-pj").ProxyJump; pj == "" {
				t.Fatalf("hosts did not take ProxyJump from %s", sshConfig)
			}
			p := NewPool(WithInventory(inv), WithSSHConfig(sshConfig))
			defer p.Close()
			before, _ := pair.Hidden.AcceptedConnections()
			for _, name := range []string{"hidden", "hidden-chain", "hidden-pj"} {
				c, err := get(t, p, inv, name)
				mustWork(t, c, err)
			}
			after, _ := pair.Hidden.AcceptedConnections()
			if after-before != 3 {
				t.Errorf("hidden host accepted %d connections, want 3 (one per inventory entry)", after-before)
			}
			log, _ := os.ReadFile(pair.Hidden.Log)
			if !strings.Contains(string(log), "Accepted publickey for root from 169.254.") {
				t.Errorf("hidden host log shows no login from the jump host's network:\n%s", log)
			}
		})
	}

	// A hidden host that accepts TCP and then says nothing: the connect
	// timeout still ends the dial, through the jump host's channel.
	if err := pair.Hidden.Freeze(); err != nil {
		t.Fatal(err)
	}
	defer pair.Hidden.Thaw()
	for _, tr := range transports {
		t.Run(tr+" frozen behind the jump", func(t *testing.T) {
			inv := loadInventory(t, l, home, fmt.Sprintf("transport = %q\nconnect_timeout = \"2s\"", tr),
				labEntry("jump", pair.Jump, sock), labEntry("hidden", pair.Hidden, sock+"\njump = \"jump\""))
			p := NewPool(WithInventory(inv))
			defer p.Close()
			_, err := get(t, p, inv, "hidden")
			if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "did not answer") {
				t.Errorf("frozen host behind a jump: %v; want unreachable, did not answer", err)
			}
		})
	}
}

// TestLabAcceptNew lets many hosts and many runs at once add their keys
// to one empty known_hosts: every host ends up there exactly once, and a
// strict run then trusts them.
func TestLabAcceptNew(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 4, Engines: 1, NoRegistry: true})
	pair, err := l.AddHiddenPair(context.Background(), l.Engines[0], "jump", "hidden")
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // the directory does not exist yet
	sock := fmt.Sprintf("socket = %q", l.Engines[0].Socket)
	var list []invHost
	for _, h := range l.Hosts[:4] {
		list = append(list, labEntry(h.Name, h, sock))
	}
	list = append(list, labEntry("jump", pair.Jump, sock), labEntry("hidden", pair.Hidden, sock+"\njump = \"jump\""))
	defaults := fmt.Sprintf("host_key_check = \"accept-new\"\nknown_hosts = %q", kh)
	inv := loadInventory(t, l, "", defaults, list...)

	const runs = 6
	var wg sync.WaitGroup
	errs := make(chan error, runs*len(list))
	for r := 0; r < runs; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewPool(WithInventory(inv))
			defer p.Close()
			var hw sync.WaitGroup
			for _, h := range inv.Hosts {
				hw.Add(1)
				go func() {
					defer hw.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					if _, err := p.Get(ctx, h); err != nil {
						errs <- err
					}
				}()
			}
			hw.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("accept-new: %v", err)
	}
	data, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, h := range append(l.Hosts[:4], pair.Jump, pair.Hidden) {
		want := "[" + h.Address + "]:" + strconv.Itoa(h.Port) + " "
		if h.Port == 22 {
			want = h.Address + " " // OpenSSH writes port 22 bare
		}
		n := 0
		for _, line := range lines {
			if strings.HasPrefix(line, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("known_hosts has %d lines for %q, want 1:\n%s", n, want, data)
		}
	}
	if len(lines) != 6 {
		t.Errorf("known_hosts has %d lines, want 6:\n%s", len(lines), data)
	}
	// OpenSSH reads what was written.
	out, err := exec.Command("ssh-keygen", "-F", "["+l.Hosts[0].Address+"]:"+strconv.Itoa(l.Hosts[0].Port), "-f", kh).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ssh-ed25519") {
		t.Errorf("ssh-keygen -F does not find host1: %v %s", err, out)
	}

	strict := loadInventory(t, l, "", fmt.Sprintf("known_hosts = %q", kh), list...)
	p := NewPool(WithInventory(strict))
	defer p.Close()
	for _, h := range strict.Hosts {
		c, err := get(t, p, strict, h.Name)
		mustWork(t, c, err)
	}

	// A changed key is refused under accept-new too, with both fingerprints.
	if err := l.Hosts[0].ChangeHostKey(); err != nil {
		t.Fatal(err)
	}
	p2 := NewPool(WithInventory(inv))
	defer p2.Close()
	_, err = get(t, p2, inv, l.Hosts[0].Name)
	if !errors.Is(err, ErrHostKeyChanged) || strings.Count(err.Error(), "SHA256:") != 2 {
		t.Errorf("changed key under accept-new: %v; want ErrHostKeyChanged with both fingerprints", err)
	}
	if after, _ := os.ReadFile(kh); !bytes.Equal(after, data) {
		t.Errorf("a changed key altered known_hosts:\n%s", after)
	}
}

// TestLabEncryptedKey: an encrypted identity file and no agent is a clear
// error, never a prompt; with the key in an ssh-agent it works.
func TestLabEncryptedKey(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 1, Engines: 1, NoRegistry: true})
	raw, err := os.ReadFile(l.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := ssh.ParseRawPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "lab", []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(t.TempDir(), "id_encrypted")
	os.WriteFile(enc, pem.EncodeToMemory(block), 0o600)
	sock := fmt.Sprintf("socket = %q", l.Engines[0].Socket)

	for _, tr := range transports {
		t.Run(tr+" no agent", func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", "")
			inv := loadInventory(t, l, "", fmt.Sprintf("transport = %q\nidentity_file = %q", tr, enc), labEntry("host1", l.Hosts[0], sock))
			p := NewPool(WithInventory(inv))
			defer p.Close()
			_, err := get(t, p, inv, "host1")
			t.Logf("%v (hint: %s)", err, Hint(err))
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("got %v, want ErrAuth", err)
			}
			if !strings.Contains(err.Error(), "encrypted and no ssh-agent holds it") {
				t.Errorf("error does not say the key is encrypted: %v", err)
			}
			if !strings.Contains(Hint(err), "ssh-add") {
				t.Errorf("hint %q does not say to use ssh-agent", Hint(err))
			}
		})
	}

	agentSock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", agentSock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = agentCmd.Process.Signal(syscall.SIGTERM)
		_ = agentCmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(agentSock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", l.IdentityFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+agentSock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	for _, tr := range transports {
		t.Run(tr+" with agent", func(t *testing.T) {
			t.Setenv("SSH_AUTH_SOCK", agentSock)
			inv := loadInventory(t, l, "", fmt.Sprintf("transport = %q\nidentity_file = %q", tr, enc), labEntry("host1", l.Hosts[0], sock))
			p := NewPool(WithInventory(inv))
			defer p.Close()
			c, err := get(t, p, inv, "host1")
			mustWork(t, c, err)
		})
	}
}

// TestLabKeepalive: a host that stops answering mid-run has its connection
// closed after the missed keepalives, so nothing waits on it forever.
func TestLabKeepalive(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 1, Engines: 1, NoRegistry: true})
	inv := loadInventory(t, l, "", "", labEntry("host1", l.Hosts[0], fmt.Sprintf("socket = %q", l.Engines[0].Socket)))
	p := NewPool(WithInventory(inv), WithKeepalive(100*time.Millisecond, 3))
	defer p.Close()
	c, err := get(t, p, inv, "host1")
	mustWork(t, c, err)
	closed := make(chan struct{})
	go func() {
		_ = c.link.(*sshLink).client.Wait()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("connection closed while the host answers keepalives")
	case <-time.After(time.Second):
	}
	if err := l.Hosts[0].FreezeAll(); err != nil {
		t.Fatal(err)
	}
	defer l.Hosts[0].ThawAll()
	select {
	case <-closed:
	case <-time.After(30 * time.Second): // failure guard only
		t.Fatal("connection to a frozen host still open after 30s of missed keepalives")
	}
}

// TestLabSocketDiscovery: with socket unset, /var/run/docker.sock or the
// user's rootless socket is found; a socket the user may not open and a
// stopped engine are each reported as such.
func TestLabSocketDiscovery(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 1, Engines: 2, NoRegistry: true})
	nosock, err := l.AddUser(lab.UserConfig{Tag: "nosock"})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := l.AddUser(lab.UserConfig{Tag: "rootless"})
	if err != nil {
		t.Fatal(err)
	}
	rlSock, err := l.AddRootlessSocket(rl, l.Engines[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Engines[1].Stop(); err != nil {
		t.Fatal(err)
	}
	h := l.Hosts[0]
	e0 := fmt.Sprintf("socket = %q", l.Engines[0].Socket)
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			inv := loadInventory(t, l, "", fmt.Sprintf("transport = %q", tr),
				labEntry("explicit", h, e0),
				labEntry("denied", h, e0+fmt.Sprintf("\nuser = %q", nosock.Name)),
				labEntry("discover-rootless", h, fmt.Sprintf("user = %q", rl.Name)),
				labEntry("discover-none", h, ""),
				labEntry("engine-stopped", h, fmt.Sprintf("socket = %q", l.Engines[1].Socket)),
			)
			p := NewPool(WithInventory(inv))
			defer p.Close()

			c, err := get(t, p, inv, "explicit")
			mustWork(t, c, err)
			if c.SocketDiscovered || c.Socket != l.Engines[0].Socket || c.Transport != tr {
				t.Errorf("explicit: socket %s discovered %v transport %s", c.Socket, c.SocketDiscovered, c.Transport)
			}

			c, err = get(t, p, inv, "discover-rootless")
			mustWork(t, c, err)
			if err == nil && (!c.SocketDiscovered || c.Socket != rlSock) {
				t.Errorf("discover-rootless: socket %s discovered %v, want %s discovered", c.Socket, c.SocketDiscovered, rlSock)
			}

			_, err = get(t, p, inv, "denied")
			if !errors.Is(err, ErrSocketPermission) || !strings.Contains(err.Error(), nosock.Name) || !strings.Contains(Hint(err), "docker group") {
				t.Errorf("denied: %v (hint %q); want ErrSocketPermission naming the user, hint the docker group", err, Hint(err))
			}

			_, err = get(t, p, inv, "discover-none")
			if !errors.Is(err, ErrEngineUnavailable) || !strings.Contains(err.Error(), "/run/user/0/docker.sock") {
				t.Errorf("discover-none: %v; want ErrEngineUnavailable naming both sockets", err)
			}

			_, err = get(t, p, inv, "engine-stopped")
			if !errors.Is(err, ErrEngineUnavailable) || errors.Is(err, ErrSocketPermission) {
				t.Errorf("engine-stopped: %v; want ErrEngineUnavailable", err)
			}
		})
	}
}
