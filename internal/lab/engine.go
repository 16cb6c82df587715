package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

const dockerdPath = "dockerd"

// Engine is one Docker engine (dockerd) of the lab, with its own data-root,
// exec-root and unix socket, no bridge and no iptables rules.
type Engine struct {
	Name   string
	Dir    string
	Socket string
	PID    int

	detach bool
	p      *proc
}

func (e *Engine) logPath() string { return filepath.Join(e.Dir, "dockerd.log") }

// Client returns an Engine API client on the engine's local unix socket
// (API version negotiated on first use). The caller closes it.
func (e *Engine) Client() (*client.Client, error) {
	return client.New(client.WithHost("unix://" + e.Socket))
}

// Running reports whether the engine's dockerd process is alive.
func (e *Engine) Running() bool { return e.p.alive() }

// start starts dockerd and waits until its socket answers /_ping.
func (e *Engine) start(ctx context.Context) error {
	if err := os.MkdirAll(e.Dir, 0o711); err != nil {
		return err
	}
	cfg := filepath.Join(e.Dir, "daemon.json")
	if err := os.WriteFile(cfg, []byte("{}\n"), 0o644); err != nil {
		return err
	}
	bin, err := findBinary(dockerdPath, "/usr/sbin/dockerd", "/usr/bin/dockerd")
	if err != nil {
		return err
	}
	args := []string{
		"--config-file", cfg,
		"--data-root", filepath.Join(e.Dir, "data"),
		"--exec-root", filepath.Join(e.Dir, "x"),
		"--pidfile", filepath.Join(e.Dir, "docker.pid"),
		"-H", "unix://" + e.Socket,
		"--bridge=none",
		"--iptables=false",
		"--ip-masq=false",
		"--ip6tables=false",
		"--shutdown-timeout=3",
	}
	p, err := startProc(bin, args, e.logPath(), e.detach, syscall.SIGTERM)
	if err != nil {
		return err
	}
	e.p, e.PID = p, p.PID
	if err := waitPing(ctx, e.Socket, p); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("engine %s: %w", e.Name, err)
		}
		return fmt.Errorf("engine %s: %w%s", e.Name, err, logTail(e.logPath(), 0))
	}
	return nil
}

func findBinary(name string, fallbacks ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, f := range fallbacks {
		if fi, err := os.Stat(f); err == nil && fi.Mode()&0o111 != 0 {
			return f, nil
		}
	}
	return "", fmt.Errorf("%s not found (run scripts/install-deps.sh)", name)
}

// unixHTTPClient is an HTTP client that dials socket for every request.
func unixHTTPClient(socket string) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			DisableKeepAlives: true,
		},
	}
}

// ping does one GET /_ping on the engine socket.
func ping(ctx context.Context, socket string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := unixHTTPClient(socket).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if resp.StatusCode != http.StatusOK || string(b) != "OK" {
		return fmt.Errorf("/_ping: %s %q", resp.Status, b)
	}
	return nil
}

// waitPing waits (bounded) for the engine to answer /_ping.
func waitPing(ctx context.Context, socket string, p *proc) error {
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for i := 0; i < 1200 && time.Now().Before(deadline); i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !p.alive() {
			return errors.New("dockerd exited")
		}
		if lastErr = ping(ctx, socket); lastErr == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer on %s: %v", socket, lastErr)
}

// stop stops dockerd (SIGTERM, up to 10s, then SIGKILL), then anything it
// left behind: containerd, shims and container processes, and mounts under
// the engine directory.
func (e *Engine) stop() error {
	var errs []error
	containers := filepath.Join(e.Dir, "data", "containers")
	if e.p.alive() {
		// dockerd would give every running container its stop timeout
		// (10s by default) before exiting: once it is shutting down (no
		// more restarts), kill the container processes ourselves.
		_ = e.p.signal(syscall.SIGTERM)
		if !e.p.wait(200 * time.Millisecond) {
			killPIDs(containerPIDs(containers))
		}
	}
	if err := e.p.stop(syscall.SIGTERM, 10*time.Second); err != nil {
		errs = append(errs, fmt.Errorf("engine %s: %w", e.Name, err))
	}
	killPIDs(containerPIDs(containers))
	killPIDs(procsUnder(e.Dir))
	if err := unmountUnder(e.Dir); err != nil {
		errs = append(errs, fmt.Errorf("engine %s: %w", e.Name, err))
	}
	return errors.Join(errs...)
}

// containerPIDs returns processes whose cgroup names a container of the
// engine whose container store is containersDir.
func containerPIDs(containersDir string) []int {
	ents, err := os.ReadDir(containersDir)
	if err != nil || len(ents) == 0 {
		return nil
	}
	var ids []string
	for _, e := range ents {
		if len(e.Name()) == 64 {
			ids = append(ids, e.Name())
		}
	}
	if len(ids) == 0 {
		return nil
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, pe := range procs {
		pid, err := strconv.Atoi(pe.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + pe.Name() + "/cgroup")
		if err != nil {
			continue
		}
		s := string(b)
		for _, id := range ids {
			if strings.Contains(s, id) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// unmountUnder lazily unmounts every mount point at or below dir, deepest
// first.
func unmountUnder(dir string) error {
	dir = filepath.Clean(dir)
	var errs []error
	// Mounts can stack; a few rounds are enough.
	for round := 0; round < 5; round++ {
		mps, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, mp := range mps {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("unmount %s: %w", mp, err))
			}
		}
	}
	return errors.Join(errs...)
}

func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mps []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 etc.) of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Ping does one GET /_ping on the engine's socket.
func (e *Engine) Ping(ctx context.Context) error { return ping(ctx, e.Socket) }
