package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/cli/cli/connhelper"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"flotilla/hosts"
)

// Transport names (the inventory's transport).
const (
	TransportSSH     = "ssh"
	TransportOpenSSH = "openssh"
)

// sshBinary is the OpenSSH client the openssh transport runs.
var sshBinary = "ssh"

// opensshLink is the openssh transport: the system ssh binary, so the
// user's whole OpenSSH setup applies. One master connection per host per
// run (ControlMaster, its socket in a private temp dir) carries every
// Engine stream (docker system dial-stdio on the host, through
// github.com/docker/cli's connhelper) and every host command.
type opensshLink struct {
	host  *hosts.Host
	dir   string   // private dir holding the control socket
	flags []string // options every ssh of this host gets (no -l, -p)

	master     *exec.Cmd
	masterDone chan struct{}
	masterErr  *boundedBuffer
	closeOnce  sync.Once
}

// opensshFlags are the ssh options for h: what the inventory resolved
// (user, port, key, known_hosts, host key policy, timeout, jump hosts),
// never a prompt (BatchMode: cron), keepalives like the ssh transport.
func opensshFlags(h *hosts.Host, sshConfig string, lookup func(string) *hosts.Host, depth int) ([]string, error) {
	var f []string
	if sshConfig != "" {
		f = append(f, "-F", sshConfig)
	}
	f = append(f,
		"-o", "BatchMode=yes",
		"-o", "HostName="+h.Address,
		"-o", "ConnectTimeout="+strconv.Itoa(max(1, int(connectTimeout(h.ConnectTimeout).Round(time.Second)/time.Second))),
		"-o", "ServerAliveInterval="+strconv.Itoa(int(DefaultKeepaliveInterval/time.Second)),
		"-o", "ServerAliveCountMax="+strconv.Itoa(DefaultKeepaliveMissed),
	)
	if h.User != "" {
		f = append(f, "-o", "User="+h.User)
	}
	if h.Port != 0 {
		f = append(f, "-o", "Port="+strconv.Itoa(h.Port))
	}
	if h.IdentityFile != "" {
		f = append(f, "-o", "IdentityFile="+h.IdentityFile)
	}
	if h.KnownHosts != "" {
		f = append(f, "-o", "UserKnownHostsFile="+h.KnownHosts)
	}
	if h.HostKeyCheck == HostKeyAcceptNew {
		f = append(f, "-o", "StrictHostKeyChecking=accept-new")
	} else {
		f = append(f, "-o", "StrictHostKeyChecking=yes")
	}
	if h.Jump != "" {
		if depth >= maxHops {
			return nil, fmt.Errorf("more than %d jump hosts before %s", maxHops, h.Name)
		}
		var j *hosts.Host
		if lookup != nil {
			j = lookup(h.Jump)
		}
		if j == nil {
			return nil, fmt.Errorf("jump host %q of %s is not in the inventory", h.Jump, h.Name)
		}
		jf, err := opensshFlags(j, sshConfig, lookup, depth+1)
		if err != nil {
			return nil, err
		}
		// The jump's own ssh, its %-tokens escaped from this ssh's expansion.
		args := []string{sshBinary}
		for _, a := range jf {
			args = append(args, strings.ReplaceAll(a, "%", "%%"))
		}
		args = append(args, "-o", "ControlMaster=no", "-o", "ControlPath=none", "-W", "[%h]:%p", "--", j.Name)
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = shellQuote(a)
		}
		f = append(f, "-o", "ProxyCommand="+strings.Join(quoted, " "))
	}
	return f, nil
}

// dialOpenSSH starts the host's master connection and waits until its
// control socket is up (authenticated), ctx ends, or the master exits.
func dialOpenSSH(ctx context.Context, h *hosts.Host, sshConfig string, lookup func(string) *hosts.Host) (*opensshLink, time.Duration, error) {
	addr := sshAddr(h)
	flags, err := opensshFlags(h, sshConfig, lookup, 0)
	if err != nil {
		return nil, 0, &Error{Addr: addr, Kind: ErrUnreachable, Err: err}
	}
	if _, err := exec.LookPath(sshBinary); err != nil {
		return nil, 0, &Error{Addr: addr, Kind: ErrUnreachable, Err: fmt.Errorf("the openssh transport needs ssh: %w", err),
			Hint: "install the OpenSSH client, or use transport = \"ssh\""}
	}
	dir, err := os.MkdirTemp(controlBase(), "flotilla-ssh-")
	if err != nil {
		return nil, 0, err
	}
	l := &opensshLink{host: h, dir: dir, masterDone: make(chan struct{}), masterErr: &boundedBuffer{max: 16 << 10}}
	l.flags = append(flags, "-o", "ControlPath="+l.controlPath())

	timeout := connectTimeout(h.ConnectTimeout)
	// ssh's own ConnectTimeout covers TCP and the banner; this guard covers
	// a server that stalls later in the handshake.
	hctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	start := time.Now()
	args := append(append([]string{}, l.flags...), "-o", "ControlMaster=yes", "-o", "ControlPersist=no", "-N", "--", h.Name)
	l.master = exec.Command(sshBinary, args...)
	l.master.Stdin, l.master.Stdout, l.master.Stderr = nil, nil, l.masterErr
	l.master.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := l.master.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, 0, &Error{Addr: addr, Kind: ErrUnreachable, Err: fmt.Errorf("starting ssh: %w", err)}
	}
	go func() {
		_ = l.master.Wait()
		close(l.masterDone)
	}()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(l.controlPath()); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return l, time.Since(start), nil
		}
		select {
		case <-l.masterDone:
			l.Close()
			return nil, 0, classifyOpenSSHError(h, addr, l.masterErr.String())
		case <-hctx.Done():
			l.Close()
			cause := fmt.Errorf("no SSH session after %s (ssh reported nothing)", 2*timeout)
			if ctx.Err() != nil {
				cause = context.Cause(ctx)
			}
			if msg := strings.TrimSpace(l.masterErr.String()); msg != "" {
				return nil, 0, classifyOpenSSHError(h, addr, msg)
			}
			return nil, 0, &Error{Addr: addr, Kind: ErrUnreachable, Err: cause}
		case <-tick.C:
		}
	}
}

func (l *opensshLink) controlPath() string { return filepath.Join(l.dir, "cm") }

// controlBase is where control sockets go: $TMPDIR when it is short, else
// /tmp (a unix socket path, plus the suffix ssh adds while creating it,
// must stay under 108 bytes).
func controlBase() string {
	if d := os.TempDir(); len(d) <= 48 {
		return d
	}
	return "/tmp"
}

// command is ssh (multiplexed on the master) running remote on the host.
func (l *opensshLink) command(ctx context.Context, remote string) *exec.Cmd {
	args := append(append([]string{}, l.flags...), "-o", "ControlMaster=no", "-T", "--", l.host.Name, remote)
	cmd := exec.CommandContext(ctx, sshBinary, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (l *opensshLink) Run(ctx context.Context, remote string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := l.command(ctx, remote)
	cmd.Stdin, cmd.Stdout = stdin, stdout
	sshErr := &boundedBuffer{max: 4 << 10, tee: stderr}
	cmd.Stderr = sshErr
	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return fmt.Errorf("%s: %w", remote, ctxErr)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		// 255 is ssh's own failure; anything else is the command's status.
		if exit.ExitCode() == 255 {
			return fmt.Errorf("running %q: ssh failed: %s", remote, strings.TrimSpace(sshErr.String()))
		}
		return &ExitError{Cmd: remote, Status: exit.ExitCode(), Err: exit}
	}
	if err != nil {
		return fmt.Errorf("running %q: %w", remote, err)
	}
	return nil
}

// DialSocket runs docker system dial-stdio on the host, on the master
// connection, through connhelper.
func (l *opensshLink) DialSocket(ctx context.Context, path string) (net.Conn, error) {
	u := url.URL{Scheme: "ssh", Host: l.host.Name, Path: path}
	flags := append(append([]string{}, l.flags...), "-o", "ControlMaster=no")
	helper, err := connhelper.GetConnectionHelperWithSSHOpts(u.String(), flags)
	if err != nil {
		return nil, err
	}
	return helper.Dialer(ctx, "unix", path)
}

// Close stops the master (ssh -O exit, then by PID) and removes its dir.
func (l *opensshLink) Close() error {
	l.closeOnce.Do(func() {
		select {
		case <-l.masterDone:
		default:
			// A master that is up is asked to exit; one still connecting
			// (no control socket yet) is stopped by PID at once.
			grace := time.Duration(0)
			if _, err := os.Stat(l.controlPath()); err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				args := append(append([]string{}, l.flags...), "-O", "exit", "--", l.host.Name)
				_ = exec.CommandContext(ctx, sshBinary, args...).Run()
				cancel()
				grace = 2 * time.Second
			}
			l.stopMaster(grace)
		}
		os.RemoveAll(l.dir)
	})
	return nil
}

// stopMaster waits up to grace for the master to exit, then SIGTERMs it
// and, after 3s more, SIGKILLs it; it returns once the master was reaped.
func (l *opensshLink) stopMaster(grace time.Duration) {
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-l.masterDone:
			return true
		case <-t.C:
			return false
		}
	}
	if wait(grace) {
		return
	}
	_ = l.master.Process.Signal(syscall.SIGTERM)
	if wait(3 * time.Second) {
		return
	}
	_ = l.master.Process.Kill()
	<-l.masterDone
}

// classifyOpenSSHError sorts ssh's stderr into the same errors the ssh
// transport gives.
func classifyOpenSSHError(h *hosts.Host, addr, stderr string) error {
	msg := strings.TrimSpace(stderr)
	short := lastLines(msg, 3)
	e := &Error{Addr: addr, Kind: ErrUnreachable, Err: errors.New(short)}
	switch {
	case strings.Contains(msg, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
		e.Kind = ErrHostKeyChanged
		presented := ""
		for _, line := range strings.Split(msg, "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "SHA256:") {
				presented = f[0]
			}
		}
		if want := knownKeys(h.KnownHosts, addr); len(want) > 0 && presented != "" {
			return hostKeyChanged(addr, presented, want)
		}
		e.Err = fmt.Errorf("host key changed: ssh says %s", short)
	case strings.Contains(msg, "Host key verification failed") || strings.Contains(msg, "No ") && strings.Contains(msg, "host key is known"):
		e.Kind = ErrHostKeyUnknown
		e.Hint = `verify the fingerprint and add the key to known_hosts, or set host_key_check = "accept-new"`
	case strings.Contains(msg, "Permission denied"):
		e.Kind = ErrAuth
		e.Err = fmt.Errorf("user %q: no offered key was accepted (%s)", h.User, short)
		if h.IdentityFile != "" {
			// BatchMode skipped the key without saying so: say it.
			if _, err := loadSigner(h.IdentityFile); err != nil {
				e.Err = fmt.Errorf("%w (%w)", e.Err, err)
			}
		}
		e.Hint = "check user and identity_file; an encrypted key must be loaded into ssh-agent (ssh-add)"
	case strings.Contains(msg, "Connection refused"):
		e.Err = errors.New("connection refused")
		e.Hint = "is sshd running on the host, and is the port right?"
	case strings.Contains(msg, "timed out"):
		if strings.Contains(msg, "banner exchange") {
			e.Err = errors.New("no SSH handshake before the connect timeout: the host accepted TCP but did not answer")
			e.Hint = "sshd may be hung or overloaded, or something else listens on the port"
		} else {
			e.Err = errors.New("connect timed out")
			e.Hint = "check the address, firewalls, or raise connect_timeout"
		}
	case msg == "":
		e.Err = errors.New("ssh exited without saying why")
	}
	return e
}

// knownKeys returns what known_hosts records for addr, for the message.
func knownKeys(file, addr string) []knownhosts.KnownKey {
	if file == "" {
		return nil
	}
	check, err := knownhosts.New(file)
	if err != nil {
		return nil
	}
	var keyErr *knownhosts.KeyError
	if errors.As(check(addr, &net.TCPAddr{}, probeKey{}), &keyErr) {
		return keyErr.Want
	}
	return nil
}

// probeKey is a key no host has: checking it lists the recorded keys.
type probeKey struct{}

func (probeKey) Type() string                        { return "flotilla-probe" }
func (probeKey) Marshal() []byte                     { return []byte("flotilla-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	var keep []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "@@@") {
			keep = append(keep, l)
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "; ")
}

// boundedBuffer keeps the last max bytes written (ssh's stderr), and
// passes everything on to tee.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
	tee io.Writer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	if b.tee != nil {
		return b.tee.Write(p)
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
