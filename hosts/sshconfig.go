package hosts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshConfig is the user's ~/.ssh/config, consulted for what no level of the
// inventory sets. Its problems are warnings: it is not the inventory, and
// ssh itself may well make sense of what this parser does not.
type sshConfig struct {
	cfg  *ssh_config.Config
	home string
}

// sshHost is what ~/.ssh/config says about one alias; "" or 0 when nothing.
type sshHost struct {
	hostName, user, identityFile, knownHosts, proxyJump string
	port                                                int
}

func (l *loader) readSSHConfig() *sshConfig {
	if l.home == "" {
		return nil
	}
	path := filepath.Join(l.home, ".ssh", "config")
	data, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.warnings = append(l.warnings, fmt.Sprintf("%s: %v (not used)", path, err))
		}
		return nil
	}
	cfg, err := ssh_config.DecodeBytes(dropUnsupportedMatch(data))
	if err != nil {
		l.warnings = append(l.warnings, fmt.Sprintf("%s: %v (not used)", path, err))
		return nil
	}
	return &sshConfig{cfg: cfg, home: l.home}
}

// dropUnsupportedMatch turns each Match block the parser cannot evaluate
// (exec, user, canonical, ...) into a block that matches nothing, rather
// than let one such line make the whole file unreadable. "Match all" and a
// plain "Match host PATTERNS" are kept.
func dropUnsupportedMatch(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		f := strings.Fields(strings.ReplaceAll(line, "=", " "))
		if len(f) == 0 || !strings.EqualFold(f[0], "match") {
			continue
		}
		switch {
		case len(f) == 2 && strings.EqualFold(f[1], "all"):
		case len(f) == 3 && strings.EqualFold(f[1], "host"):
		default:
			lines[i] = "Host !*"
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func (c *sshConfig) get(alias, key string) string {
	v, err := c.cfg.Get(alias, key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v)
}

func (c *sshConfig) lookup(alias string) sshHost {
	var h sshHost
	if v := c.get(alias, "HostName"); v != "" {
		h.hostName = c.expand(v, alias)
	}
	h.user = c.get(alias, "User")
	if v := c.get(alias, "Port"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && checkPort(n) == nil {
			h.port = n
		}
	}
	if v := c.get(alias, "IdentityFile"); v != "" && !strings.EqualFold(v, "none") {
		h.identityFile = c.path(c.expand(unquote(v), alias))
	}
	if v := c.get(alias, "UserKnownHostsFile"); v != "" {
		// Several files may be listed; the first is the one ssh writes to.
		if f := strings.Fields(v); len(f) > 0 && !strings.EqualFold(f[0], "none") {
			h.knownHosts = c.path(c.expand(unquote(f[0]), alias))
		}
	}
	if v := c.get(alias, "ProxyJump"); v != "" && !strings.EqualFold(v, "none") {
		h.proxyJump = v
	}
	return h
}

// expand replaces the tokens ssh documents for these keys that can be known
// here: ~, %d (home), %h (the host), %%.
func (c *sshConfig) expand(s, alias string) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = c.home + s[1:]
	}
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'd':
			b.WriteString(c.home)
		case 'h':
			b.WriteString(alias)
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// path makes a path from ssh_config absolute; ssh takes relative ones from
// the current directory.
func (c *sshConfig) path(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
