package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// HiddenPair is a jump host and a host only the jump host can reach, each
// an sshd in its own network namespace:
//
//	admin (root ns) --veth 169.254.R.0/30--> Jump (ns J) --veth 169.254.S.0/30--> Hidden (ns T)
//
// The root namespace has no route to 169.254.S.0/30 (an "unreachable"
// route makes a direct attempt fail here instead of leaving the machine),
// so the admin reaches Hidden only through Jump. Both listen on port 22.
type HiddenPair struct {
	Jump, Hidden *Host
	JumpNetns    string
	HiddenNetns  string
}

// AddHiddenPair creates the namespaces, veth pairs and both sshds (named
// jumpName and hiddenName, using engine e), adds them to l.Hosts, their keys
// to l.KnownHosts and Host blocks to l.SSHConfig (Hidden with ProxyJump
// Jump). Stop removes the namespaces, links and route by name. The hosts'
// Stop works; their Start does not (it would start sshd outside the
// namespace).
func (l *Lab) AddHiddenPair(ctx context.Context, e *Engine, jumpName, hiddenName string) (*HiddenPair, error) {
	suffix := randomSuffix(3)
	nsJ, nsT := "flab-"+suffix+"-j", "flab-"+suffix+"-t"
	vJ, vT := "fj"+suffix, "ft"+suffix // veth names (<= 15 bytes), +a/+b for the ends
	r, s, err := freeLinkLocalPair()
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	jumpAddr, hiddenAddr := fmt.Sprintf("169.254.%d.2", r), fmt.Sprintf("169.254.%d.2", s)
	unreachable := fmt.Sprintf("169.254.%d.0/30", s)

	l.addCleanup(func() error {
		// Best effort, by name: each may not exist if setup stopped early.
		_ = ipCmd("netns", "del", nsT)
		_ = ipCmd("netns", "del", nsJ)
		_ = ipCmd("link", "del", vJ+"a")
		_ = ipCmd("route", "del", "unreachable", unreachable)
		return nil
	})
	steps := [][]string{
		{"netns", "add", nsJ},
		{"netns", "add", nsT},
		{"link", "add", vJ + "a", "type", "veth", "peer", "name", vJ + "b"},
		{"link", "set", vJ + "b", "netns", nsJ},
		{"addr", "add", fmt.Sprintf("169.254.%d.1/30", r), "dev", vJ + "a"},
		{"link", "set", vJ + "a", "up"},
		{"route", "add", "unreachable", unreachable},
		{"-n", nsJ, "link", "set", "lo", "up"},
		{"-n", nsJ, "addr", "add", jumpAddr + "/30", "dev", vJ + "b"},
		{"-n", nsJ, "link", "set", vJ + "b", "up"},
		{"-n", nsJ, "link", "add", vT + "a", "type", "veth", "peer", "name", vT + "b"},
		{"-n", nsJ, "link", "set", vT + "b", "netns", nsT},
		{"-n", nsJ, "addr", "add", fmt.Sprintf("169.254.%d.1/30", s), "dev", vT + "a"},
		{"-n", nsJ, "link", "set", vT + "a", "up"},
		{"-n", nsT, "link", "set", "lo", "up"},
		{"-n", nsT, "addr", "add", hiddenAddr + "/30", "dev", vT + "b"},
		{"-n", nsT, "link", "set", vT + "b", "up"},
	}
	for _, st := range steps {
		if err := ipCmd(st...); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
	}
	pair := &HiddenPair{JumpNetns: nsJ, HiddenNetns: nsT}
	for _, spec := range []struct {
		name, addr, ns string
		dst            **Host
	}{{jumpName, jumpAddr, nsJ, &pair.Jump}, {hiddenName, hiddenAddr, nsT, &pair.Hidden}} {
		d := filepath.Join(l.Dir, "hosts", spec.name)
		h := &Host{Name: spec.name, Address: spec.addr, Port: 22, Engine: e, Log: filepath.Join(d, "sshd.log"),
			dir: d, authorizedKeys: filepath.Join(l.Dir, "authorized_keys")}
		if err := h.startInNetns(ctx, spec.ns); err != nil {
			return nil, fmt.Errorf("lab: %w", err)
		}
		l.mu.Lock()
		l.Hosts = append(l.Hosts, h)
		l.mu.Unlock()
		*spec.dst = h
	}
	if err := l.appendClientFiles(pair); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return pair, nil
}

// startInNetns makes the host's key and config and starts its sshd inside
// network namespace ns (ip netns exec execs sshd: the PID is sshd's).
func (h *Host) startInNetns(ctx context.Context, ns string) error {
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return err
	}
	if _, err := writeKeyPair(h.hostKeyPath(), "root@"+h.Name); err != nil {
		return err
	}
	if err := h.writeConfig(); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p, err := startProc("ip", []string{"netns", "exec", ns, sshdPath, "-D", "-f", h.configPath(), "-E", h.Log},
		h.Log, h.detach, syscall.SIGKILL)
	if err != nil {
		return err
	}
	h.p, h.PID = p, p.PID
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// The admin side cannot dial in to wait for a banner: wait for the log.
	if err := waitLog(wctx, h.Log, 0, "Server listening on "+h.Address+" port 22", p); err != nil {
		_ = p.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("%s: sshd in netns %s: %w%s", h.Name, ns, err, logTail(h.Log, 0))
	}
	return nil
}

// appendClientFiles adds the pair's keys to known_hosts and Host blocks to
// ssh_config.
func (l *Lab) appendClientFiles(p *HiddenPair) error {
	var kh, sc strings.Builder
	for _, h := range []*Host{p.Jump, p.Hidden} {
		key, err := h.PublicKey()
		if err != nil {
			return err
		}
		kh.WriteString(knownHostsLine(h.Address, h.Port, key))
		fmt.Fprintf(&sc, "\nHost %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  UpdateHostKeys no\n",
			h.Name, h.Address, h.Port, currentUser(), l.IdentityFile, l.KnownHosts)
		if h == p.Hidden {
			fmt.Fprintf(&sc, "  ProxyJump %s\n", p.Jump.Name)
		}
	}
	if err := appendFile(l.KnownHosts, kh.String()); err != nil {
		return err
	}
	return appendFile(l.SSHConfig, sc.String())
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeLinkLocalPair picks two distinct 169.254.X.0/30 subnets that no
// address or route of the root namespace uses yet.
func freeLinkLocalPair() (int, int, error) {
	addrs, err := exec.Command("ip", "-4", "-o", "addr").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("ip addr: %w", err)
	}
	routes, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return 0, 0, fmt.Errorf("ip route: %w", err)
	}
	used := string(addrs) + string(routes)
	var picked []int
	for i := 0; i < 200 && len(picked) < 2; i++ {
		x := 1 + rand.IntN(253)
		if strings.Contains(used, fmt.Sprintf("169.254.%d.", x)) || (len(picked) == 1 && picked[0] == x) {
			continue
		}
		picked = append(picked, x)
	}
	if len(picked) < 2 {
		return 0, 0, fmt.Errorf("no free 169.254.X.0/30 subnet")
	}
	return picked[0], picked[1], nil
}
