package hosts

import (
	"slices"
	"strings"
)

// The keys of [defaults], group vars and [[host]], for unknown-key suggestions.
var (
	varKeys  = []string{"user", "port", "transport", "identity_file", "known_hosts", "host_key_check", "connect_timeout", "socket"}
	hostKeys = append([]string{"name", "address", "jump", "labels"}, varKeys...)

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

type hostDecl struct {
	t       *table
	name    string // "" when missing or invalid
	address *string
	jump    *string
	vars    Vars
	labels  map[string]string
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
