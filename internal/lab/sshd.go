package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// Host is one fake host: an sshd on its own loopback address, whose Engine
// is reached through the engine's local unix socket.
type Host struct {
	Name    string
	Address string
	Port    int
	Engine  *Engine
	PID     int
	Log     string // sshd -E log

	dir            string
	authorizedKeys string
	detach         bool

	mu sync.Mutex
	p  *proc
}

// hostAddress is the loopback address of the i-th host (0-based):
// 127.0.1.1 .. 127.0.1.254, then 127.0.2.1 and so on.
func hostAddress(i int) string {
	return fmt.Sprintf("127.0.%d.%d", 1+i/254, 1+i%254)
}

func (h *Host) configPath() string  { return filepath.Join(h.dir, "sshd_config") }
func (h *Host) hostKeyPath() string { return filepath.Join(h.dir, "ssh_host_ed25519_key") }

// Addr is "address:port".
func (h *Host) Addr() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// PublicKey is the host key sshd currently serves (after ChangeHostKey, the
// new one; the lab's known_hosts keeps the original).
func (h *Host) PublicKey() (ssh.PublicKey, error) { return readPublicKey(h.hostKeyPath() + ".pub") }

func (h *Host) writeConfig() error {
	cfg := fmt.Sprintf(`# flotilla lab host %s
ListenAddress %s
HostKey %s
PidFile none
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowStreamLocalForwarding yes
AllowTcpForwarding yes
LogLevel VERBOSE
MaxStartups 1000:30:1000
MaxSessions 100
LoginGraceTime 30
PrintMotd no
PrintLastLog no
UseDNS no
Subsystem sftp internal-sftp
`, h.Name, h.Addr(), h.hostKeyPath(), h.authorizedKeys)
	return os.WriteFile(h.configPath(), []byte(cfg), 0o644)
}

// freePort asks the kernel for a free TCP port on addr.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// create makes the host's directory and host key and starts sshd on a free
// port, retrying with another port when the bind loses a race.
func (h *Host) create(ctx context.Context) error {
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return err
	}
	if _, err := writeKeyPair(h.hostKeyPath(), "root@"+h.Name); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if h.Port, err = freePort(h.Address); err != nil {
			continue
		}
		if err = h.start(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("%s: %w", h.Name, err)
}

// Start starts sshd again on the same address, port and host key.
func (h *Host) Start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = h.start(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return err
}

func (h *Host) start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.p.alive() {
		return fmt.Errorf("%s: sshd already running (pid %d)", h.Name, h.p.PID)
	}
	if err := h.writeConfig(); err != nil {
		return err
	}
	logStart := fileSize(h.Log)
	p, err := startProc(sshdPath, []string{"-D", "-f", h.configPath(), "-E", h.Log}, h.Log, h.detach, syscall.SIGKILL)
	if err != nil {
		return err
	}
	h.p, h.PID = p, p.PID
	err = waitBanner(ctx, h.Addr(), p)
	if err == nil {
		// The banner could come from someone else who took the port in
		// between: make sure it is our sshd that listens.
		err = waitLog(ctx, h.Log, logStart, "Server listening on "+h.Address+" port "+strconv.Itoa(h.Port), p)
	}
	if err != nil {
		_ = p.stop(syscall.SIGKILL, time.Second)
		if ctx.Err() != nil {
			return fmt.Errorf("%s: sshd on %s: %w", h.Name, h.Addr(), err)
		}
		return fmt.Errorf("%s: sshd on %s: %w%s", h.Name, h.Addr(), err, logTail(h.Log, logStart))
	}
	return nil
}

// waitLog waits (bounded) until the log at path has a line containing want
// after offset, while p is alive.
func waitLog(ctx context.Context, path string, offset int64, want string, p *proc) error {
	for i := 0; i < 200; i++ {
		if b, err := os.ReadFile(path); err == nil && int64(len(b)) > offset && bytes.Contains(b[offset:], []byte(want)) {
			return nil
		}
		if !p.alive() {
			return errors.New("exited")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("log has no %q", want)
}

// waitBanner waits (bounded) until addr sends an SSH banner.
func waitBanner(ctx context.Context, addr string, p *proc) error {
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if p != nil && !p.alive() {
			return errors.New("exited")
		}
		if lastErr = readBanner(addr); lastErr == nil {
			return nil
		}
		time.Sleep(time.Duration(min(5*(i+1), 100)) * time.Millisecond)
	}
	return fmt.Errorf("no SSH banner: %v", lastErr)
}

func readBanner(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if n >= 4 && string(buf[:4]) == "SSH-" {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("unexpected banner %q", buf[:n])
	}
	return err
}

// Stop stops this host's sshd and every session process below it, so the
// host is unreachable until Start.
func (h *Host) Stop() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.p
	if !p.alive() {
		return nil
	}
	// Freeze the listener so it forks nothing new, kill the per-connection
	// processes below it, then the listener.
	_ = p.signal(syscall.SIGSTOP)
	killPIDs(descendants(p.PID))
	return p.stop(syscall.SIGTERM, 3*time.Second)
}

// Freeze SIGSTOPs the sshd: the kernel still accepts TCP connections, but
// no banner is sent.
func (h *Host) Freeze() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.p.alive() {
		return fmt.Errorf("%s: sshd is not running", h.Name)
	}
	return h.p.signal(syscall.SIGSTOP)
}

// Thaw SIGCONTs a frozen sshd.
func (h *Host) Thaw() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.p.alive() {
		return fmt.Errorf("%s: sshd is not running", h.Name)
	}
	return h.p.signal(syscall.SIGCONT)
}

// ChangeHostKey gives the host a new host key and restarts sshd; the lab's
// known_hosts keeps the old key.
func (h *Host) ChangeHostKey() error {
	if err := h.Stop(); err != nil {
		return err
	}
	if _, err := writeKeyPair(h.hostKeyPath(), "root@"+h.Name); err != nil {
		return err
	}
	return h.Start()
}

// Running reports whether the host's sshd process is alive.
func (h *Host) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.p.alive()
}

// AcceptedConnections counts "Accepted publickey" lines in the sshd log.
func (h *Host) AcceptedConnections() (int, error) {
	b, err := os.ReadFile(h.Log)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte("Accepted publickey")), nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns the last lines written to path after offset, formatted
// to be appended to an error.
func logTail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) <= offset {
		return ""
	}
	b = b[offset:]
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return " (" + path + ": " + strings.Join(lines, " | ") + ")"
}
