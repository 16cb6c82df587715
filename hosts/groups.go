package hosts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

var groupKeys = []string{"hosts", "children", "vars"}

type groupDecl struct {
	t        *table
	name     string
	hosts    []string
	children []string
	vars     Vars
}

// readGroups reads [groups.NAME] tables, in file order.
func (l *loader) readGroups(root *table) []*groupDecl {
	gt, ok := l.sub(root, "groups")
	if !ok {
		return nil
	}
	var out []*groupDecl
	for name := range gt.m {
		label := "groups." + name
		if checkName(name) != nil {
			label = fmt.Sprintf("groups.%q", name)
		}
		raw, _ := gt.get(name)
		m, ok := raw.(map[string]any)
		if !ok {
			l.problemAt(gt, name, "expected a table ([%s]), got %s", label, describe(raw))
			continue
		}
		t := newTable(m, label, false, gt.locOf(name))
		g := &groupDecl{t: t, name: name}
		if err := checkHostOrGroupName(name); err != nil {
			l.problemAt(t, "", "%v", err)
			g.name = ""
		}
		g.hosts, _ = l.strs(t, "hosts")
		g.children, _ = l.strs(t, "children")
		if vt, ok := l.sub(t, "vars"); ok {
			g.vars = l.readVars(vt)
			l.unknown(vt, varKeys, varHints)
		}
		l.unknown(t, groupKeys, nil)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *groupDecl) int {
		if la, lb := l.pos.line(a.t.loc), l.pos.line(b.t.loc); la != lb {
			return la - lb
		}
		return strings.Compare(a.t.label, b.t.label)
	})
	return out
}

// resolveGroups checks what groups name, reports cycles of children, and
// fills Inventory.Groups and each host's Groups.
func (l *loader) resolveGroups(inv *Inventory, decls []*groupDecl) {
	byName := map[string]*groupDecl{}
	var names []string
	for _, g := range decls {
		if g.name != "" {
			byName[g.name] = g
			names = append(names, g.name)
		}
	}
	slices.Sort(names)

	for _, g := range decls {
		for i, h := range g.hosts {
			if _, ok := inv.byName[h]; !ok {
				msg := fmt.Sprintf("unknown host %q", h)
				if _, isGroup := byName[h]; isGroup {
					msg += " (it is a group: list it in children)"
				} else {
					msg += didYouMean(closest(h, inv.names(), 3))
				}
				l.add(l.pos.line(g.t.locOf("hosts", strconv.Itoa(i))), g.t.keyPath("hosts"), msg)
			}
		}
		for i, c := range g.children {
			if _, ok := byName[c]; !ok {
				msg := fmt.Sprintf("unknown group %q", c)
				if _, isHost := inv.byName[c]; isHost {
					msg += " (it is a host: list it in hosts)"
				} else {
					msg += didYouMean(closest(c, names, 3))
				}
				l.add(l.pos.line(g.t.locOf("children", strconv.Itoa(i))), g.t.keyPath("children"), msg)
			}
		}
	}
	l.reportCycles(byName, names)

	// Members through children; a cycle, already reported, is cut where met.
	memo := map[string]map[string]bool{}
	var members func(name string, path map[string]bool) map[string]bool
	members = func(name string, path map[string]bool) map[string]bool {
		if m, ok := memo[name]; ok {
			return m
		}
		g := byName[name]
		m := map[string]bool{}
		for _, h := range g.hosts {
			if inv.byName[h] != nil {
				m[h] = true
			}
		}
		path[name] = true
		for _, c := range g.children {
			if byName[c] == nil || path[c] {
				continue
			}
			for h := range members(c, path) {
				m[h] = true
			}
		}
		delete(path, name)
		memo[name] = m
		return m
	}
	for _, name := range names {
		g := byName[name]
		m := members(name, map[string]bool{})
		grp := &Group{Name: name, Children: g.children, Vars: g.vars, Hosts: []string{}}
		for _, h := range inv.Hosts { // file order
			if m[h.Name] {
				grp.Hosts = append(grp.Hosts, h.Name)
				h.Groups = append(h.Groups, name) // names are sorted
			}
		}
		inv.Groups[name] = grp
	}
}

// reportCycles reports each cycle of children once, at the group whose
// children close it.
func (l *loader) reportCycles(byName map[string]*groupDecl, names []string) {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		state[name] = active
		stack = append(stack, name)
		g := byName[name]
		for i, c := range g.children {
			if byName[c] == nil {
				continue
			}
			switch state[c] {
			case unseen:
				visit(c)
			case active:
				at := slices.Index(stack, c)
				cycle := append(slices.Clone(stack[at:]), c)
				members := slices.Clone(stack[at:])
				slices.Sort(members)
				key := strings.Join(members, "\x00")
				if !reported[key] {
					reported[key] = true
					l.add(l.pos.line(g.t.locOf("children", strconv.Itoa(i))), g.t.keyPath("children"),
						"cycle "+strings.Join(cycle, " -> "))
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, name := range names {
		if state[name] == unseen {
			visit(name)
		}
	}
}
