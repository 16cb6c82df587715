package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"flotilla/internal/lab"
)

// Env is what the cases run against: a lab, the binaries, and the files
// the reference tools need (per-size inventories, an ssh wrapper).
type Env struct {
	Lab      *lab.Lab
	Flotilla string // the flotilla binary under test
	Minimal  string // bench/minimal, the floor
	Docker   string // the docker CLI
	Dir      string // scratch: inventories, wrapper, docker config, backups

	wrapDir   string
	dockerCfg string
}

// dockerCandidates: the docker CLI, newest packaging first. ssh://HOST/SOCKET
// URLs (a socket other than /var/run/docker.sock on the remote) need docker
// CLI 28 or later; Debian 12's 20.10 refuses the path.
var dockerCandidates = []string{"/usr/local/bin/docker", "/usr/bin/docker"}

// NewEnv prepares dir for the reference tools. The docker CLI's ssh
// connection helper runs `ssh` from $PATH with no way to pass -F, so a
// wrapper `ssh` that adds the lab's ssh_config goes first on the references'
// PATH; DOCKER_CONFIG points at an empty directory so no user context or
// credential helper interferes.
func NewEnv(l *lab.Lab, flotilla, minimal, dir string) (*Env, error) {
	e := &Env{Lab: l, Flotilla: flotilla, Minimal: minimal, Dir: dir,
		wrapDir: filepath.Join(dir, "wrap"), dockerCfg: filepath.Join(dir, "docker-config")}
	for _, d := range dockerCandidates {
		if _, err := os.Stat(d); err == nil {
			e.Docker = d
			break
		}
	}
	if e.Docker == "" {
		return nil, fmt.Errorf("no docker CLI at %s (install docker.io)", strings.Join(dockerCandidates, " or "))
	}
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		return nil, fmt.Errorf("ssh client: %w (install openssh-client)", err)
	}
	for _, d := range []string{e.wrapDir, e.dockerCfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -F %s \"$@\"\n", sshBin, l.SSHConfig)
	if err := os.WriteFile(filepath.Join(e.wrapDir, "ssh"), []byte(wrapper), 0o755); err != nil {
		return nil, err
	}
	return e, nil
}

// refEnv is the environment of the reference commands.
func (e *Env) refEnv() []string {
	return []string{"PATH=" + e.wrapDir + ":" + os.Getenv("PATH"), "DOCKER_CONFIG=" + e.dockerCfg}
}

// Inventory writes (once) an inventory with the lab's first n hosts, plus
// extra TOML appended at the end, and returns its path.
func (e *Env) Inventory(name string, n int, extra string) (string, error) {
	path := filepath.Join(e.Dir, "inventory-"+name+".toml")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	b, err := os.ReadFile(e.Lab.Inventory)
	if err != nil {
		return "", err
	}
	text, err := firstHosts(string(b), n)
	if err != nil {
		return "", fmt.Errorf("%s: %w", e.Lab.Inventory, err)
	}
	return path, os.WriteFile(path, []byte(text+extra), 0o644)
}

// firstHosts keeps the inventory's header and its first n [[host]] tables
// (the lab writes every host table after the defaults).
func firstHosts(inv string, n int) (string, error) {
	const sep = "\n[[host]]\n"
	parts := strings.Split(inv, sep)
	if len(parts)-1 < n {
		return "", fmt.Errorf("has %d [[host]] tables, want %d", len(parts)-1, n)
	}
	return strings.Join(parts[:n+1], sep), nil
}

// hosts returns the lab's first n hosts, checked.
func (e *Env) hosts(n int) ([]*lab.Host, error) {
	if n > len(e.Lab.Hosts) {
		return nil, fmt.Errorf("lab has %d hosts, case wants %d", len(e.Lab.Hosts), n)
	}
	return e.Lab.Hosts[:n], nil
}

// Targets writes the minimal program's target file for the first n hosts.
func (e *Env) Targets(n int) (string, error) {
	hs, err := e.hosts(n)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "%s %s\n", h.Addr(), h.Engine.Socket)
	}
	path := filepath.Join(e.Dir, "targets-"+strconv.Itoa(n))
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

// Available reports whether the flotilla binary implements command: its
// placeholder says "not built yet".
func (e *Env) Available(ctx context.Context, command string) bool {
	out, err := exec.CommandContext(ctx, e.Flotilla, command, "--help").CombinedOutput()
	return err == nil && !strings.Contains(string(out), "not built yet")
}

// notAvailable is what a case that needs a missing command reports.
const notAvailable = "not available in this build"
