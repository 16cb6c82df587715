package hosts

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Inventory is a loaded, valid inventory.
type Inventory struct {
	Path     string            `json:"path"` // as given to Load
	Defaults Vars              `json:"defaults"`
	Hosts    []*Host           `json:"hosts"`  // file order
	Groups   map[string]*Group `json:"groups"` // name -> group
	Backup   *Backup           `json:"backup,omitempty"`
	Promote  []Promote         `json:"promote,omitempty"`
	// Warnings are things worth saying that do not stop a run, such as an
	// unreadable ~/.ssh/config.
	Warnings []string `json:"warnings,omitempty"`

	byName map[string]*Host
	home   string
}

// Host returns the host named name, or nil.
func (inv *Inventory) Host(name string) *Host {
	return inv.byName[name]
}

func (inv *Inventory) names() []string {
	out := make([]string, len(inv.Hosts))
	for i, h := range inv.Hosts {
		out[i] = h.Name
	}
	return out
}

// groupNames returns the group names, sorted.
func (inv *Inventory) groupNames() []string {
	out := make([]string, 0, len(inv.Groups))
	for name := range inv.Groups {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// labelPairs returns every distinct "key=value" label, sorted.
func (inv *Inventory) labelPairs() []string {
	var out []string
	for _, h := range inv.Hosts {
		for k, v := range h.Labels {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Completions returns what --limit can complete to: host names, "@group"
// for each group and "key=value" for each label, sorted.
func (inv *Inventory) Completions() []string {
	out := inv.names()
	for _, g := range inv.groupNames() {
		out = append(out, "@"+g)
	}
	out = append(out, inv.labelPairs()...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Overrides are settings from the command line: they win over everything in
// the inventory and ~/.ssh/config. Zero values are not set.
type Overrides struct {
	User           string
	Port           int
	IdentityFile   string // relative to the current directory; "~" expands
	ConnectTimeout time.Duration
	Transport      string
}

// Validate checks o before Apply, which cannot fail.
func (o Overrides) Validate() error {
	var errs []error
	if o.Port != 0 {
		if err := checkPort(o.Port); err != nil {
			errs = append(errs, errors.New("port: "+err.Error()))
		}
	}
	if o.Transport != "" {
		if err := checkOneOf("transport", o.Transport, transports); err != nil {
			errs = append(errs, err)
		}
	}
	if o.ConnectTimeout < 0 {
		errs = append(errs, errors.New("connect timeout: must be positive, got "+o.ConnectTimeout.String()))
	}
	if id := o.IdentityFile; strings.HasPrefix(id, "~") && id != "~" && !strings.HasPrefix(id, "~/") {
		errs = append(errs, errors.New(`identity file: "~user" is not supported (use "~/" or an absolute path)`))
	}
	return errors.Join(errs...)
}

// Apply sets the overrides on every host.
func (inv *Inventory) Apply(o Overrides) {
	id := ""
	if o.IdentityFile != "" {
		wd, _ := filepath.Abs(".")
		if p, err := resolvePath(o.IdentityFile, wd, inv.home); err == nil {
			id = p
		} else {
			id = o.IdentityFile
		}
	}
	for _, h := range inv.Hosts {
		if o.User != "" {
			h.User = o.User
		}
		if o.Port != 0 {
			h.Port = o.Port
		}
		if id != "" {
			h.IdentityFile = id
		}
		if o.ConnectTimeout > 0 {
			h.ConnectTimeout = o.ConnectTimeout
		}
		if o.Transport != "" {
			h.Transport = o.Transport
		}
	}
}
