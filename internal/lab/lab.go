// Package lab runs a throw-away fleet on this machine for tests, demos and
// benchmarks: Docker engines (dockerd without networking), a registry with
// a few test images, and one sshd per fake host on its own loopback address,
// plus the inventory, keys, known_hosts and ssh_config to reach them.
// Everything lives under one temporary directory, traffic stays on
// 127.0.0.0/8, and every process is stopped by PID.
package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sync/errgroup"
)

// Config says what to start. The zero value is a 3-host, 3-engine lab with a
// registry.
type Config struct {
	Hosts      int  // sshd hosts; default 3
	Engines    int  // docker engines; default min(Hosts, 3); hosts map onto engines round-robin
	NoRegistry bool // skip the registry and image seeding

	// Detach leaves the processes running when the calling process dies
	// (flotilla-lab up). Otherwise they get a signal when it dies, so a killed
	// test binary leaves nothing behind.
	Detach bool
}

// Lab is a running lab.
type Lab struct {
	Dir          string // the one temp dir
	Inventory    string // generated flotilla inventory (TOML)
	IdentityFile string // client private key (ed25519, OpenSSH format, unencrypted)
	KnownHosts   string // known_hosts with every host's [addr]:port key
	SSHConfig    string // ssh_config with a Host block per lab host
	Registry     string // "127.0.0.1:PORT", empty with NoRegistry
	Engines      []*Engine
	Hosts        []*Host

	reg     *proc
	mu      sync.Mutex
	stopped bool

	users    []*User           // local users made by AddUser (users.go)
	rootless []*RootlessEngine // engines made by StartRootlessEngine (rootless.go)
	// cleanups undo what the fault helpers (faults.go, netns.go) made
	// outside Dir: users, network namespaces. Run by Stop, last first.
	cleanups []func() error
}

// maxHosts is what 127.0.1.1 .. 127.254.254.254 gives.
const maxHosts = 254 * 254

// hostStartParallel bounds concurrent sshd starts (2 cores here).
const hostStartParallel = 16

// Start starts a lab. On error everything started so far is stopped and
// the directory removed.
func Start(ctx context.Context, cfg Config) (*Lab, error) {
	if cfg.Hosts == 0 {
		cfg.Hosts = 3
	}
	if cfg.Engines == 0 {
		cfg.Engines = min(cfg.Hosts, 3)
	}
	if cfg.Hosts < 0 || cfg.Hosts > maxHosts || cfg.Engines < 1 || cfg.Engines > 64 {
		return nil, fmt.Errorf("lab: bad config: %d hosts, %d engines", cfg.Hosts, cfg.Engines)
	}
	if err := preflight(cfg); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempBase(), "flab-")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("lab: %w", err)
	}
	l := &Lab{
		Dir:          dir,
		Inventory:    filepath.Join(dir, "inventory.toml"),
		IdentityFile: filepath.Join(dir, "id_ed25519"),
		KnownHosts:   filepath.Join(dir, "known_hosts"),
		SSHConfig:    filepath.Join(dir, "ssh_config"),
	}
	if err := l.start(ctx, cfg); err != nil {
		if serr := l.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		return nil, fmt.Errorf("lab: %w", err)
	}
	return l, nil
}

func (l *Lab) start(ctx context.Context, cfg Config) error {
	clientPub, err := writeKeyPair(l.IdentityFile, "flotilla-lab")
	if err != nil {
		return err
	}
	authorizedKeys := filepath.Join(l.Dir, "authorized_keys")
	if err := os.WriteFile(authorizedKeys, ssh.MarshalAuthorizedKey(clientPub), 0o644); err != nil {
		return err
	}
	for i := 0; i < cfg.Engines; i++ {
		name := "e" + strconv.Itoa(i)
		d := filepath.Join(l.Dir, name)
		l.Engines = append(l.Engines, &Engine{Name: name, Dir: d, Socket: filepath.Join(d, "docker.sock"), detach: cfg.Detach})
	}
	for i := 0; i < cfg.Hosts; i++ {
		name := "host" + strconv.Itoa(i+1)
		d := filepath.Join(l.Dir, "hosts", name)
		l.Hosts = append(l.Hosts, &Host{
			Name: name, Address: hostAddress(i), Engine: l.Engines[i%cfg.Engines],
			Log: filepath.Join(d, "sshd.log"), dir: d, authorizedKeys: authorizedKeys, detach: cfg.Detach,
		})
	}

	g, gctx := errgroup.WithContext(ctx)
	// Engines and registry, then images.
	g.Go(func() error {
		eg, ectx := errgroup.WithContext(gctx)
		for _, e := range l.Engines {
			eg.Go(func() error { return e.start(ectx) })
		}
		if !cfg.NoRegistry {
			eg.Go(func() error {
				addr, p, err := startRegistry(ectx, filepath.Join(l.Dir, "registry"), cfg.Detach)
				l.mu.Lock()
				l.Registry, l.reg = addr, p
				l.mu.Unlock()
				return err
			})
		}
		if err := eg.Wait(); err != nil {
			return err
		}
		if cfg.NoRegistry {
			return nil
		}
		return l.seedImages(gctx)
	})
	// Hosts, at most hostStartParallel at once.
	g.Go(func() error {
		hg, hctx := errgroup.WithContext(gctx)
		hg.SetLimit(hostStartParallel)
		for _, h := range l.Hosts {
			hg.Go(func() error { return h.create(hctx) })
		}
		return hg.Wait()
	})
	if err := g.Wait(); err != nil {
		return err
	}
	return l.writeClientFiles()
}

// preflight checks what the lab needs before creating anything.
func preflight(cfg Config) error {
	if os.Geteuid() != 0 {
		return errors.New("lab: must run as root (dockerd, sshd as root)")
	}
	if cfg.Hosts > 0 {
		if _, err := os.Stat(sshdPath); err != nil {
			return fmt.Errorf("lab: %s not found (run scripts/install-deps.sh)", sshdPath)
		}
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return fmt.Errorf("lab: sshd privilege separation dir: %w", err)
		}
	}
	if _, err := findBinary(dockerdPath, "/usr/sbin/dockerd", "/usr/bin/dockerd"); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if !cfg.NoRegistry {
		if _, err := findBinary(registryPath, "/usr/bin/docker-registry"); err != nil {
			return fmt.Errorf("lab: %w", err)
		}
		if _, err := os.Stat(busyboxPath); err != nil {
			return fmt.Errorf("lab: %s not found (run scripts/install-deps.sh)", busyboxPath)
		}
	}
	return nil
}

// tempBase is where the lab directory goes: $TMPDIR when it is short,
// else /tmp (containerd's sockets under the exec-root must stay below the
// 108-byte unix socket path limit).
func tempBase() string {
	if d := os.TempDir(); len(d) <= 24 {
		return d
	}
	return "/tmp"
}

// writeClientFiles writes known_hosts, ssh_config and the inventory.
func (l *Lab) writeClientFiles() error {
	var kh, sc, inv strings.Builder
	fmt.Fprintf(&sc, "# flotilla lab %s\n", l.Dir)
	fmt.Fprintf(&inv, "# flotilla lab %s (generated)\n\n[defaults]\nuser = %s\nidentity_file = %s\nknown_hosts = %s\nconnect_timeout = \"5s\"\n",
		l.Dir, strconv.Quote(currentUser()), strconv.Quote(l.IdentityFile), strconv.Quote(l.KnownHosts))
	for _, h := range l.Hosts {
		key, err := h.PublicKey()
		if err != nil {
			return err
		}
		kh.WriteString(knownHostsLine(h.Address, h.Port, key))
		fmt.Fprintf(&sc, "\nHost %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  UpdateHostKeys no\n",
			h.Name, h.Address, h.Port, currentUser(), l.IdentityFile, l.KnownHosts)
		fmt.Fprintf(&inv, "\n[[host]]\nname = %s\naddress = %s\nport = %d\nsocket = %s\nlabels = { engine = %s }\n",
			strconv.Quote(h.Name), strconv.Quote(h.Address), h.Port, strconv.Quote(h.Engine.Socket), strconv.Quote(h.Engine.Name))
	}
	if err := os.WriteFile(l.KnownHosts, []byte(kh.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(l.SSHConfig, []byte(sc.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(l.Inventory, []byte(inv.String()), 0o644)
}

func currentUser() string {
	if os.Geteuid() == 0 {
		return "root"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return strconv.Itoa(os.Geteuid())
}

// Host returns the host with that name, or nil.
func (l *Lab) Host(name string) *Host {
	for _, h := range l.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Stop stops everything the lab started (by PID), unmounts what is left
// under Dir and removes Dir. A second Stop does nothing.
func (l *Lab) Stop() error {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return nil
	}
	l.stopped = true
	reg := l.reg
	l.mu.Unlock()

	var (
		errMu sync.Mutex
		errs  []error
	)
	addErr := func(err error) {
		if err != nil {
			errMu.Lock()
			errs = append(errs, err)
			errMu.Unlock()
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, h := range l.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := h.Stop(); err != nil {
				addErr(fmt.Errorf("%s: %w", h.Name, err))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := reg.stop(syscall.SIGTERM, 5*time.Second); err != nil {
			addErr(fmt.Errorf("registry: %w", err))
		}
	}()
	for _, e := range l.Engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addErr(e.stop())
		}()
	}
	wg.Wait()
	addErr(l.removeUsers()) // after the sshds: no session runs as a lab user any more
	addErr(l.runCleanups())

	if l.Dir != "" && strings.HasPrefix(filepath.Base(l.Dir), "flab-") {
		// Anything still naming the lab directory was started by the lab.
		killPIDs(procsUnder(l.Dir))
		if err := unmountUnder(l.Dir); err != nil {
			addErr(err)
		}
		var err error
		for i := 0; i < 5; i++ {
			if err = os.RemoveAll(l.Dir); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		addErr(err)
	}
	return errors.Join(errs...)
}

// New starts a lab for a test and stops it in t.Cleanup. When the lab
// cannot start (not root, a missing binary, a failure), the test is skipped
// with the reason, or fails when $CI is "true". With go test -short the
// test is always skipped (make test-unit: no lab).
func New(t testing.TB, cfg Config) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("lab: skipped in -short mode")
	}
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("lab: needs root (euid %d)", os.Geteuid())
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l, err := Start(ctx, cfg)
	if err != nil {
		fail("%v", err)
		return nil
	}
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Errorf("lab stop: %v", err)
		}
	})
	return l
}
