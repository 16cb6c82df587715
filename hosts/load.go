package hosts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/BurntSushi/toml"
)

// Options changes where Load looks outside the inventory; the zero value is
// what the command line uses.
type Options struct {
	Home        string // for "~" and ~/.ssh/config; empty: os.UserHomeDir
	User        string // the user when nothing sets one; empty: the current OS user
	NoSSHConfig bool   // leave ~/.ssh/config out
}

// Load reads the inventory at path, fills in defaults and validates it. Every
// problem found is reported at once in a *LoadError, which wraps ErrInventory.
func Load(path string) (*Inventory, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with options.
func LoadWith(path string, o Options) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	return load(path, data, o)
}

func readError(path string, err error) *LoadError {
	e := &LoadError{File: path, Err: err}
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	if errors.Is(err, fs.ErrNotExist) {
		msg = "no such file"
		e.Hint = "name the inventory with -i FILE or set FLOTILLA_INVENTORY"
	}
	e.Problems = []Problem{{Msg: msg}}
	return e
}

// loader holds what one load needs, and the problems found so far.
type loader struct {
	file     string
	dir      string // the inventory's folder: relative paths start here
	home     string
	opts     Options
	pos      positions
	problems []Problem
	warnings []string
}

// Keys of each table, for unknown-key suggestions.
var (
	topKeys  = []string{"defaults", "groups", "host", "backup", "promote"}
	varKeys  = []string{"user", "port", "transport", "identity_file", "known_hosts", "host_key_check", "connect_timeout", "socket"}
	hostKeys = append([]string{"name", "address", "jump", "labels"}, varKeys...)

	topHints = map[string]string{
		"hosts": "declare each host in a [[host]] table",
		"vars":  "use [defaults]",
	}
	// Keys that belong to a host, met where only vars are allowed.
	varHints = map[string]string{
		"name":    "only a [[host]] has a name",
		"address": "only a [[host]] can set address",
		"jump":    "only a [[host]] can set jump",
		"labels":  "only a [[host]] can set labels",
	}
	hostHints = map[string]string{
		"host":     `use "address"`,
		"hostname": `use "address"`,
		"ip":       `use "address"`,
		"groups":   "list the host in hosts = [...] of a [groups.NAME] table",
		"group":    "list the host in hosts = [...] of a [groups.NAME] table",
		"vars":     "set the keys directly in [[host]]",
	}
)

func load(file string, data []byte, o Options) (*Inventory, error) {
	home := o.Home
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	dir, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		dir = filepath.Dir(file)
	}
	l := &loader{file: file, dir: dir, home: home, opts: o}

	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		l.syntaxError(err)
		return nil, l.err()
	}
	l.pos = scanPositions(string(data))
	d := l.readDocument(newTable(doc, "", false, nil))
	inv := l.build(d)
	if len(l.problems) > 0 {
		return nil, l.err()
	}
	return inv, nil
}

func (l *loader) syntaxError(err error) {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		l.add(pe.Position.Line, "", sentence(pe.Message))
		return
	}
	l.add(0, "", sentence(strings.TrimPrefix(err.Error(), "toml: ")))
}

// sentence brings a message from elsewhere to our style: lowercase, no
// trailing period.
func sentence(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return "invalid toml"
	}
	r := []rune(s)
	// Leave acronyms alone ("TOML", "EOF").
	if len(r) > 1 && unicode.IsUpper(r[0]) && !unicode.IsUpper(r[1]) {
		r[0] = unicode.ToLower(r[0])
	}
	return string(r)
}

// err sorts the problems by line, keeping the order they were found in for
// one line, and those without a line last.
func (l *loader) err() *LoadError {
	slices.SortStableFunc(l.problems, func(a, b Problem) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = int(^uint(0) >> 1)
		}
		if lb == 0 {
			lb = int(^uint(0) >> 1)
		}
		return la - lb
	})
	return &LoadError{File: l.file, Problems: l.problems}
}

// document is the inventory as declared, before resolution.
type document struct {
	defaults Vars
	groups   []*groupDecl // by line, then name
	hosts    []*hostDecl  // file order
	backup   *backupDecl  // nil without [backup]
	promote  []Promote
}

type hostDecl struct {
	t       *table
	name    string // "" when missing or invalid
	address *string
	jump    *string
	vars    Vars
	labels  map[string]string
}

func (l *loader) readDocument(root *table) *document {
	d := &document{}
	if t, ok := l.sub(root, "defaults"); ok {
		d.defaults = l.readVars(t)
		l.unknown(t, varKeys, varHints)
	}
	d.groups = l.readGroups(root)
	if items, ok := l.items(root, "host", "host", "name"); ok {
		for _, t := range items {
			d.hosts = append(d.hosts, l.readHost(t))
		}
	}
	d.backup = l.readBackup(root)
	d.promote = l.readPromote(root)
	l.unknown(root, topKeys, topHints)
	return d
}

// readVars reads the connection settings of [defaults], group vars or a host.
func (l *loader) readVars(t *table) Vars {
	var v Vars
	if s, ok := l.str(t, "user"); ok {
		if s == "" {
			l.problemAt(t, "user", "empty (leave the key out for the default)")
		} else {
			v.User = &s
		}
	}
	if n, ok := l.integer(t, "port"); ok {
		if err := checkPort(n); err != nil {
			l.problemAt(t, "port", "%v", err)
		} else {
			v.Port = &n
		}
	}
	if s, ok := l.str(t, "transport"); ok {
		if err := checkOneOf("transport", s, transports); err != nil {
			l.problemAt(t, "transport", "%v", err)
		} else {
			v.Transport = &s
		}
	}
	if s, ok := l.str(t, "identity_file"); ok {
		// "" is allowed: no identity file, the agent only.
		if p, ok := l.path(t, "identity_file", s, true); ok {
			v.IdentityFile = &p
		}
	}
	if s, ok := l.str(t, "known_hosts"); ok {
		if p, ok := l.path(t, "known_hosts", s, false); ok {
			v.KnownHosts = &p
		}
	}
	if s, ok := l.str(t, "host_key_check"); ok {
		if err := checkOneOf("host_key_check", s, hostKeyChecks); err != nil {
			l.problemAt(t, "host_key_check", "%v", err)
		} else {
			v.HostKeyCheck = &s
		}
	}
	if raw, ok := t.get("connect_timeout"); ok {
		switch s := raw.(type) {
		case string:
			if d, err := parseTimeout(s); err != nil {
				l.problemAt(t, "connect_timeout", "%v", err)
			} else {
				v.ConnectTimeout = &d
			}
		case int64:
			l.problemAt(t, "connect_timeout", `expected a duration string such as "%ds", got integer %d`, s, s)
		default:
			l.problemAt(t, "connect_timeout", `expected a duration string such as "10s", got %s`, describe(raw))
		}
	}
	if s, ok := l.str(t, "socket"); ok {
		if p, err := checkSocket(s); err != nil {
			l.problemAt(t, "socket", "%v", err)
		} else {
			v.Socket = &p
		}
	}
	return v
}

// path resolves a local path read from key k.
func (l *loader) path(t *table, k, s string, emptyOK bool) (string, bool) {
	if s == "" {
		if !emptyOK {
			l.problemAt(t, k, "empty path")
		}
		return "", emptyOK
	}
	p, err := resolvePath(s, l.dir, l.home)
	if err != nil {
		l.problemAt(t, k, "%v", err)
		return "", false
	}
	return p, true
}

func (l *loader) readHost(t *table) *hostDecl {
	d := &hostDecl{t: t}
	if s, ok := l.str(t, "name"); ok {
		if err := checkHostOrGroupName(s); err != nil {
			l.problemAt(t, "name", "%v", err)
		} else {
			d.name = s
		}
	} else if !t.has("name") {
		l.problemAt(t, "", "missing key \"name\"")
	}
	if s, ok := l.str(t, "address"); ok {
		if strings.TrimSpace(s) == "" {
			l.problemAt(t, "address", "empty (leave the key out to use the host's name)")
		} else if strings.ContainsAny(s, " \t\r\n") {
			l.problemAt(t, "address", "%q holds a space", s)
		} else {
			d.address = &s
		}
	}
	if s, ok := l.str(t, "jump"); ok {
		d.jump = &s // checked once every host is known
	}
	d.vars = l.readVars(t)
	if lt, ok := l.sub(t, "labels"); ok {
		d.labels = l.readLabels(lt)
	}
	l.unknown(t, hostKeys, hostHints)
	return d
}

func (l *loader) readLabels(t *table) map[string]string {
	labels := map[string]string{}
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s, ok := l.str(t, k)
		if !ok {
			continue
		}
		if err := checkName(k); err != nil {
			l.problemAt(t, k, "label key: %v", err)
			continue
		}
		if err := checkLabelValue(s); err != nil {
			l.problemAt(t, k, "%v", err)
			continue
		}
		labels[k] = s
	}
	if len(labels) == 0 {
		return nil
	}
	return labels
}

// build resolves the declarations into an inventory: groups, each host's
// settings through every level of precedence, jumps, and backup patterns.
func (l *loader) build(d *document) *Inventory {
	inv := &Inventory{
		Path:     l.file,
		Defaults: d.defaults,
		Groups:   map[string]*Group{},
		Promote:  d.promote,
		byName:   map[string]*Host{},
		home:     l.home,
	}
	decls := map[string]*hostDecl{}
	for _, hd := range d.hosts {
		if hd.name == "" {
			continue
		}
		if first, dup := decls[hd.name]; dup {
			where := "above"
			if n := l.pos.line(first.t.locOf("name")); n > 0 {
				where = fmt.Sprintf("on line %d", n)
			}
			l.add(l.pos.line(hd.t.locOf("name")), hd.t.label, "duplicate host name (first defined "+where+")")
			continue
		}
		decls[hd.name] = hd
		h := &Host{Name: hd.name, Labels: hd.labels}
		inv.Hosts = append(inv.Hosts, h)
		inv.byName[h.Name] = h
	}

	l.resolveGroups(inv, d.groups)

	var ssh *sshConfig
	if !l.opts.NoSSHConfig {
		ssh = l.readSSHConfig()
	}
	jumpFromSSH := map[string]bool{}
	user := ""
	for _, h := range inv.Hosts {
		hd := decls[h.Name]
		v := d.defaults
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
			if jump == nil && sh.proxyJump != "" && sh.proxyJump != h.Name {
				if _, ok := inv.byName[sh.proxyJump]; ok {
					jump = &sh.proxyJump
					jumpFromSSH[h.Name] = true
				} else {
					h.ProxyJump = sh.proxyJump
				}
			}
		}

		// Built-in defaults, for whatever is still unset.
		h.Address = h.Name
		if address != nil {
			h.Address = *address
		}
		if jump != nil {
			h.Jump = *jump
		}
		h.Port = DefaultPort
		if v.Port != nil {
			h.Port = *v.Port
		}
		if v.User != nil {
			h.User = *v.User
		} else {
			if user == "" {
				user = l.defaultUser()
			}
			h.User = user
		}
		h.Transport = DefaultTransport
		if v.Transport != nil {
			h.Transport = *v.Transport
		}
		if v.IdentityFile != nil {
			h.IdentityFile = *v.IdentityFile
		}
		if v.KnownHosts != nil {
			h.KnownHosts = *v.KnownHosts
		} else if l.home != "" {
			h.KnownHosts = filepath.Join(l.home, ".ssh", "known_hosts")
		}
		h.HostKeyCheck = DefaultHostKeyCheck
		if v.HostKeyCheck != nil {
			h.HostKeyCheck = *v.HostKeyCheck
		}
		h.ConnectTimeout = DefaultConnectTimeout
		if v.ConnectTimeout != nil {
			h.ConnectTimeout = *v.ConnectTimeout
		}
		if v.Socket != nil {
			h.Socket = *v.Socket
		}
	}
	l.checkJumps(inv, decls, jumpFromSSH)
	l.checkNameClashes(inv)
	inv.Backup = l.resolveBackup(inv, d.backup)
	inv.Warnings = l.warnings
	return inv
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
	reported := map[string]bool{}
	for _, h := range inv.Hosts {
		var chain []string
		seen := map[string]int{}
		viaSSH := false
		for cur := h; cur != nil; cur = inv.byName[cur.Jump] {
			if i, ok := seen[cur.Name]; ok {
				loop := append(chain[i:], cur.Name)
				members := slices.Clone(loop[:len(loop)-1])
				slices.Sort(members)
				key := strings.Join(members, "\x00")
				if !reported[key] {
					reported[key] = true
					msg := "loop " + strings.Join(loop, " -> ")
					if viaSSH {
						msg += " (through ProxyJump in ~/.ssh/config)"
					}
					l.problemAt(decls[loop[0]].t, "jump", "%s", msg)
				}
				break
			}
			seen[cur.Name] = len(chain)
			chain = append(chain, cur.Name)
			viaSSH = viaSSH || fromSSH[cur.Name]
			if cur.Jump == "" {
				break
			}
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
