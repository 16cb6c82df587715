package hosts

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
)

// resolveHost fills h's settings through the levels of precedence below the
// command line, and reports whether its jump came from ~/.ssh/config. A nil
// pointer in Vars is a key no level set: only those are asked of ssh.
func (l *loader) resolveHost(inv *Inventory, h *Host, defaults Vars, hd *hostDecl, ssh *sshConfig) (jumpFromSSH bool) {
	v := defaults
	for _, g := range h.Groups { // sorted: a later group name wins
		v = v.over(inv.Groups[g].Vars)
	}
	v = v.over(hd.vars)

	address, jump := hd.address, hd.jump
	if ssh != nil {
		sh := ssh.lookup(h.Name)
		if address == nil && sh.hostName != "" {
			address = &sh.hostName
		}
		if v.User == nil && sh.user != "" {
			v.User = &sh.user
		}
		if v.Port == nil && sh.port != 0 {
			v.Port = &sh.port
		}
		if v.IdentityFile == nil && sh.identityFile != "" {
			v.IdentityFile = &sh.identityFile
		}
		if v.KnownHosts == nil && sh.knownHosts != "" {
			v.KnownHosts = &sh.knownHosts
		}
		// A wildcard's ProxyJump that names the host itself is not meant for it.
		if jump == nil && sh.proxyJump != "" && sh.proxyJump != h.Name {
			if inv.byName[sh.proxyJump] != nil {
				jump, jumpFromSSH = &sh.proxyJump, true
			} else {
				h.ProxyJump = sh.proxyJump
			}
		}
	}

	// Built-in defaults, for whatever is still unset.
	h.Address = deref(address, h.Name)
	h.Jump = deref(jump, "")
	h.Port = deref(v.Port, DefaultPort)
	if v.User != nil {
		h.User = *v.User
	} else {
		if l.osUser == nil {
			u := l.defaultUser()
			l.osUser = &u
		}
		h.User = *l.osUser
	}
	h.Transport = deref(v.Transport, DefaultTransport)
	h.IdentityFile = deref(v.IdentityFile, "")
	h.KnownHosts = deref(v.KnownHosts, "")
	if v.KnownHosts == nil && l.home != "" {
		h.KnownHosts = filepath.Join(l.home, ".ssh", "known_hosts")
	}
	h.HostKeyCheck = deref(v.HostKeyCheck, DefaultHostKeyCheck)
	h.ConnectTimeout = deref(v.ConnectTimeout, DefaultConnectTimeout)
	h.Socket = deref(v.Socket, "")
	return jumpFromSSH
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// defaultUser is the user for hosts nothing gives one: like ssh, the local
// user's name.
func (l *loader) defaultUser() string {
	if l.opts.User != "" {
		return l.opts.User
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		name := u.Username
		if i := strings.LastIndexByte(name, '\\'); i >= 0 { // DOMAIN\user on Windows
			name = name[i+1:]
		}
		return name
	}
	for _, env := range []string{"USER", "LOGNAME", "USERNAME"} {
		if s := os.Getenv(env); s != "" {
			return s
		}
	}
	return ""
}

// checkJumps reports jumps to unknown hosts and loops of jumps.
func (l *loader) checkJumps(inv *Inventory, decls map[string]*hostDecl, fromSSH map[string]bool) {
	for _, h := range inv.Hosts {
		hd := decls[h.Name]
		if h.Jump == "" || fromSSH[h.Name] {
			continue
		}
		switch {
		case h.Jump == h.Name:
			l.problemAt(hd.t, "jump", "a host cannot jump through itself")
			h.Jump = ""
		case inv.byName[h.Jump] == nil:
			l.problemAt(hd.t, "jump", "unknown host %q%s", h.Jump, didYouMean(closest(h.Jump, inv.names(), 3)))
			h.Jump = ""
		}
	}
	// Walk each chain once: a host already walked ends a walk.
	done := map[string]bool{}
	for _, h := range inv.Hosts {
		var chain []string
		onChain := map[string]int{}
		for cur := h; cur != nil && !done[cur.Name]; cur = inv.byName[cur.Jump] {
			if i, ok := onChain[cur.Name]; ok {
				loop := append(slices.Clone(chain[i:]), cur.Name)
				msg := "loop " + strings.Join(loop, " -> ")
				if slices.ContainsFunc(loop, func(n string) bool { return fromSSH[n] }) {
					msg += " (through ProxyJump in ~/.ssh/config)"
				}
				l.problemAt(decls[loop[0]].t, "jump", "%s", msg)
				break
			}
			onChain[cur.Name] = len(chain)
			chain = append(chain, cur.Name)
		}
		for _, name := range chain {
			done[name] = true
		}
	}
}

// checkNameClashes warns when a host and a group share a name: a bare word
// then selects the host.
func (l *loader) checkNameClashes(inv *Inventory) {
	for _, h := range inv.Hosts {
		if _, ok := inv.Groups[h.Name]; ok {
			l.warnings = append(l.warnings, fmt.Sprintf(
				"host %q and group %q share a name: the pattern %q selects the host, %q the group",
				h.Name, h.Name, h.Name, "@"+h.Name))
		}
	}
}
