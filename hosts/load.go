package hosts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	osUser   *string // the default user, once asked for
}

var (
	topKeys  = []string{"defaults", "groups", "host", "backup", "promote"}
	topHints = map[string]string{
		"hosts": "declare each host in a [[host]] table",
		"vars":  "use [defaults]",
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
	for _, h := range inv.Hosts {
		if l.resolveHost(inv, h, d.defaults, decls[h.Name], ssh) {
			jumpFromSSH[h.Name] = true
		}
	}
	l.checkJumps(inv, decls, jumpFromSSH)
	l.checkNameClashes(inv)
	inv.Backup = l.resolveBackup(inv, d.backup)
	inv.Warnings = l.warnings
	return inv
}
