package connect

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"flotilla/hosts"
)

// maxHops bounds jump chains (and catches loops the inventory check missed).
const maxHops = 8

// hop is one SSH server on the way to a host; the host itself is the last.
type hop struct {
	name         string // inventory name, or the ProxyJump entry
	addr         string // host:port, as known_hosts records it
	user         string
	identityFile string
	knownHosts   string
	hostKeyCheck string
	timeout      time.Duration
}

func hopOf(h *hosts.Host) hop {
	return hop{name: h.Name, addr: sshAddr(h), user: h.User, identityFile: h.IdentityFile,
		knownHosts: h.KnownHosts, hostKeyCheck: h.HostKeyCheck, timeout: connectTimeout(h.ConnectTimeout)}
}

func connectTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return hosts.DefaultConnectTimeout
	}
	return d
}

// sshAddr is the host's TCP address in the form known_hosts and net.Dial use.
func sshAddr(h *hosts.Host) string {
	port := h.Port
	if port == 0 {
		port = hosts.DefaultPort
	}
	return net.JoinHostPort(h.Address, strconv.Itoa(port))
}

// route lists the hops to h, nearest the admin first: the inventory's
// jump hosts (each with its own settings, chains followed), or the entries
// of an ssh_config ProxyJump that names no inventory host (these share h's
// user, key and known_hosts unless the entry names a user or port).
func route(h *hosts.Host, lookup func(string) *hosts.Host) ([]hop, error) {
	var chain []hop
	seen := map[string]bool{}
	for cur := h; ; {
		if len(chain) > maxHops {
			return nil, fmt.Errorf("more than %d jump hosts before %s", maxHops, h.Name)
		}
		chain = append(chain, hopOf(cur))
		seen[cur.Name] = true
		if cur.Jump != "" {
			var j *hosts.Host
			if lookup != nil {
				j = lookup(cur.Jump)
			}
			if j == nil {
				return nil, fmt.Errorf("jump host %q of %s is not in the inventory", cur.Jump, cur.Name)
			}
			if seen[j.Name] {
				return nil, fmt.Errorf("jump hosts loop: %s jumps through %s again", cur.Name, j.Name)
			}
			cur = j
			continue
		}
		if pj := strings.TrimSpace(cur.ProxyJump); pj != "" && pj != "none" {
			hops, err := parseProxyJump(pj, cur)
			if err != nil {
				return nil, err
			}
			for i := len(hops) - 1; i >= 0; i-- {
				chain = append(chain, hops[i])
			}
		}
		break
	}
	slices.Reverse(chain)
	return chain, nil
}

// parseProxyJump reads OpenSSH's ProxyJump: [user@]host[:port] entries,
// comma separated, nearest the admin first; an ssh:// prefix is allowed.
func parseProxyJump(spec string, h *hosts.Host) ([]hop, error) {
	var out []hop
	for _, entry := range strings.Split(spec, ",") {
		e := strings.TrimPrefix(strings.TrimSpace(entry), "ssh://")
		hp := hop{name: e, user: h.User, identityFile: h.IdentityFile, knownHosts: h.KnownHosts,
			hostKeyCheck: h.HostKeyCheck, timeout: connectTimeout(h.ConnectTimeout)}
		if at := strings.LastIndexByte(e, '@'); at >= 0 {
			hp.user, e = e[:at], e[at+1:]
		}
		host, port := e, strconv.Itoa(hosts.DefaultPort)
		if hh, pp, err := net.SplitHostPort(e); err == nil {
			host, port = hh, pp
		} else if strings.HasPrefix(e, "[") && strings.HasSuffix(e, "]") {
			host = e[1 : len(e)-1]
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("ProxyJump %q of %s: bad port %q", spec, h.Name, port)
		}
		if host == "" || hp.user == "" {
			return nil, fmt.Errorf("ProxyJump %q of %s: want [user@]host[:port]", spec, h.Name)
		}
		hp.addr = net.JoinHostPort(host, port)
		out = append(out, hp)
	}
	return out, nil
}
