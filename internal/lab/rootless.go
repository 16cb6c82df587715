package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// RootlessEngine is a real rootless Docker engine run by a lab user:
// Debian's dockerd-rootless.sh under rootlesskit, its socket in the user's
// runtime directory, its data under the user's home.
//
// rootlesskit runs with --net=host and no port driver: the default
// slirp4netns network needs /dev/net/tun, which in this sandbox is
// crw------- root:root, so rootlesskit's child cannot open it ("open:
// Permission denied" while adding tap0). With the host network namespace
// and dockerd's --bridge=none the engine creates no network at all, which
// is what the lab wants anyway.
type RootlessEngine struct {
	User   *User
	Socket string // /run/user/UID/docker.sock
	PID    int    // rootlesskit's
	Log    string

	p *proc
}

// rootlessScripts are where Debian's docker.io ships dockerd-rootless.sh.
var rootlessScripts = []string{"/usr/share/docker.io/contrib/dockerd-rootless.sh", "/usr/bin/dockerd-rootless.sh"}

// StartRootlessEngine starts a rootless engine as u (who needs SubIDs) and
// waits until it answers; it holds ImageBusybox (imported, no registry).
// Lab.Stop stops it before removing the user.
func (l *Lab) StartRootlessEngine(ctx context.Context, u *User) (*RootlessEngine, error) {
	script := ""
	for _, s := range rootlessScripts {
		if _, err := os.Stat(s); err == nil {
			script = s
			break
		}
	}
	if script == "" {
		return nil, errors.New("lab: dockerd-rootless.sh not found (docker.io ships it in /usr/share/docker.io/contrib)")
	}
	for _, bin := range []string{"rootlesskit", "newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("lab: %s not found (run scripts/install-deps.sh)", bin)
		}
	}
	if u.SubIDStart == 0 {
		return nil, fmt.Errorf("lab: %s has no subordinate ids: a rootless engine needs them", u.Name)
	}
	if err := u.MakeRuntimeDir(); err != nil {
		return nil, err
	}
	e := &RootlessEngine{User: u, Socket: filepath.Join(u.RuntimeDir, "docker.sock"), Log: filepath.Join(u.Home, "dockerd-rootless.log")}
	logf, err := os.OpenFile(e.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(script, "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
		"-H", "unix://"+e.Socket, "--shutdown-timeout=3")
	cmd.Dir = u.Home
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name,
		"XDG_RUNTIME_DIR=" + u.RuntimeDir,
		"DOCKERD_ROOTLESS_ROOTLESSKIT_NET=host",
		"DOCKERD_ROOTLESS_ROOTLESSKIT_PORT_DRIVER=none",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setsid:     true,
		Pdeathsig:  syscall.SIGTERM,
		Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lab: start rootless engine: %w", err)
	}
	e.p = &proc{PID: cmd.Process.Pid, done: make(chan struct{})}
	e.p.Start, _ = procStartTime(e.p.PID)
	e.PID = e.p.PID
	go func() {
		_ = cmd.Wait()
		close(e.p.done)
	}()
	l.mu.Lock()
	l.rootless = append(l.rootless, e)
	l.mu.Unlock()

	if err := waitPing(ctx, e.Socket, e.p); err != nil {
		return nil, fmt.Errorf("lab: rootless engine of %s: %w%s", u.Name, err, logTail(e.Log, 0))
	}
	if err := e.importBusybox(ctx); err != nil {
		return nil, fmt.Errorf("lab: rootless engine of %s: %w", u.Name, err)
	}
	return e, nil
}

// Client returns an Engine API client on the engine's socket (as root).
func (e *RootlessEngine) Client() (*client.Client, error) {
	return client.New(client.WithHost("unix://"+e.Socket), client.WithAPIVersionNegotiation())
}

func (e *RootlessEngine) importBusybox(ctx context.Context) error {
	busybox, err := os.ReadFile(busyboxPath)
	if err != nil {
		return fmt.Errorf("busybox-static: %w (run scripts/install-deps.sh)", err)
	}
	c, err := e.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	return importImage(ctx, c, ImageBusybox, rootfsTar(busybox, ""))
}

// Running reports whether rootlesskit is still alive.
func (e *RootlessEngine) Running() bool { return e.p.alive() }

// Stop stops dockerd (rootlesskit exits with it), then any process of the
// user that is left, and removes the runtime directory.
func (e *RootlessEngine) Stop() error {
	var errs []error
	if e.p.alive() {
		// SIGTERM to dockerd itself (its pid file names it) shuts it down
		// cleanly; rootlesskit exits when its child does.
		if pid, ok := e.dockerdPID(); ok {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		} else {
			_ = e.p.signal(syscall.SIGTERM)
		}
		if err := e.p.stop(syscall.SIGTERM, 10*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("rootless engine of %s: %w", e.User.Name, err))
		}
	}
	killPIDs(userPIDs(e.User.UID))
	if err := os.RemoveAll(e.User.RuntimeDir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dockerdPID reads dockerd's pid file and checks that the pid still is a
// dockerd of the user.
func (e *RootlessEngine) dockerdPID() (int, bool) {
	b, err := os.ReadFile(filepath.Join(e.User.RuntimeDir, "docker.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "dockerd" {
		return 0, false
	}
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return 0, false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != e.User.UID {
		return 0, false
	}
	return pid, true
}
