package tasks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CheckStatus is the outcome of one rootless check.
type CheckStatus string

const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
	CheckNA   CheckStatus = "n/a" // could not be determined from here
)

// Names of the rootless checks, in the order they are reported.
const (
	CheckEngine   = "engine"
	CheckLinger   = "linger"
	CheckService  = "user-service"
	CheckSubUID   = "subuid"
	CheckSubGID   = "subgid"
	CheckUIDMap   = "uidmap"
	CheckUserNS   = "userns"
	CheckLowPorts = "low-ports"
	CheckCLIEnv   = "cli-env"
)

// RootlessCheck is one check on one host: what was found and the command
// that fixes it (empty when nothing needs fixing).
type RootlessCheck struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Found  string      `json:"found"`
	Fix    string      `json:"fix,omitempty"`
}

// engineFacts is what the Engine API on the connection said, gathered
// before the pure evaluation.
type engineFacts struct {
	Socket   string // the socket flotilla's connection uses
	Queried  bool   // the engine was asked (it belongs to the checked user)
	Err      string // the engine did not answer
	Version  string
	Rootless bool
	Ports    []int  // host ports the engine's containers publish (when Rootless)
	PortsErr string // listing them failed
}

// rootlessSocket is where a rootless engine of uid listens.
func rootlessSocket(uid string) string { return "/run/user/" + uid + "/docker.sock" }

// minSubIDs is what rootless Docker needs: a full 16-bit id space for the containers.
const minSubIDs = 65536

// evaluate turns the probe and the engine facts into the checks. It is pure:
// every decision about status and fix lives here and is table-tested.
func evaluate(p probe, e engineFacts, user string) []RootlessCheck {
	uid := p.get("uid")
	return []RootlessCheck{
		checkEngine(p, e, user, uid),
		checkLinger(p, user),
		checkService(p, user),
		checkSubIDs(p, user, "subuid"),
		checkSubIDs(p, user, "subgid"),
		checkUIDMap(p),
		checkUserNS(p),
		checkLowPorts(p, e),
		checkCLIEnv(p, user, uid),
	}
}

// sshUser is who the probe ran as, for messages.
func sshUser(p probe) string {
	if u := p.get("ssh_user"); u != "" {
		return u
	}
	return "uid " + p.get("ssh_uid")
}

// asUser says that a command must be run by user, not by the admin.
func asUser(user, cmd string) string { return "as " + user + ": " + cmd }

const installRootless = "dockerd-rootless-setuptool.sh install"

func checkEngine(p probe, e engineFacts, user, uid string) RootlessCheck {
	c := RootlessCheck{Name: CheckEngine}
	rs := rootlessSocket(uid)
	sock := p.get("rootless_socket")
	switch {
	case e.Queried && e.Err == "" && e.Rootless:
		c.Status, c.Found = CheckOK, fmt.Sprintf("rootless engine %s on %s", e.Version, e.Socket)
	case e.Queried && e.Err == "" && sock == "yes":
		c.Status = CheckWarn
		c.Found = fmt.Sprintf("flotilla reaches the rootful engine %s on %s; %s's rootless socket is %s", e.Version, e.Socket, user, rs)
		c.Fix = fmt.Sprintf("set socket = %q for this host in the inventory", rs)
	case e.Queried && e.Err == "":
		c.Status = CheckWarn
		c.Found = fmt.Sprintf("only a rootful engine (%s on %s); no socket at %s", e.Version, e.Socket, rs)
		c.Fix = asUser(user, installRootless)
	case sock == "yes":
		c.Status, c.Found = CheckOK, fmt.Sprintf("socket %s exists", rs)
		if n, _ := p.int("dockerd_procs"); n > 0 {
			c.Found += fmt.Sprintf(", dockerd runs as %s", user)
		}
		c.Found += fmt.Sprintf(" (not asked: flotilla's connection uses %s)", e.Socket)
	case sock == "unknown":
		c.Status, c.Found = CheckNA, fmt.Sprintf("cannot look into /run/user/%s as %s", uid, sshUser(p))
	default:
		c.Status, c.Found = CheckWarn, fmt.Sprintf("no rootless engine: no socket at %s", rs)
		if e.Err != "" {
			c.Found += "; " + e.Err
		}
		c.Fix = asUser(user, installRootless)
	}
	return c
}

// lingerSource says how linger was read: "loginctl" when logind answered,
// otherwise why not, and the check then reads /var/lib/systemd/linger.
func lingerSource(p probe) (viaLoginctl bool, linger bool, why string) {
	rc, out := p.get("loginctl_rc"), p.get("loginctl_out")
	switch {
	case rc == "missing":
		return false, false, "loginctl not installed"
	case rc == "0" && strings.Contains(out, "Linger=yes"):
		return true, true, ""
	case rc == "0" && strings.Contains(out, "Linger=no"):
		return true, false, ""
	case strings.Contains(out, "not logged in or lingering"):
		// logind knows the user and says: no session, no linger.
		return true, false, ""
	case strings.Contains(out, "not been booted with systemd"):
		return false, false, "no systemd as PID 1"
	case out != "":
		return false, false, "loginctl: " + firstSentence(out)
	}
	return false, false, "loginctl gave no answer"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i > 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(strings.TrimSpace(s), ".")
}

const lingerDir = "/var/lib/systemd/linger"

// lingerFix is the command that enables linger, through loginctl when logind
// answers, else by creating the file logind reads at boot.
func lingerFix(p probe, user string, sudo string) string {
	if via, _, _ := lingerSource(p); via {
		return sudo + "loginctl enable-linger " + user
	}
	return sudo + "mkdir -p " + lingerDir + " && " + sudo + "touch " + lingerDir + "/" + user
}

func checkLinger(p probe, user string) RootlessCheck {
	c := RootlessCheck{Name: CheckLinger}
	via, linger, why := lingerSource(p)
	if via {
		if linger {
			c.Status, c.Found = CheckOK, "loginctl: Linger=yes"
			return c
		}
		c.Status, c.Found = CheckFail, "loginctl: Linger=no: the engine stops at logout and does not start at boot"
		c.Fix = lingerFix(p, user, "sudo ")
		return c
	}
	file := lingerDir + "/" + user
	switch p.get("linger_file") {
	case "yes":
		c.Status, c.Found = CheckOK, file+" exists ("+why+")"
	case "no", "nodir":
		c.Status, c.Found = CheckFail, "no "+file+" ("+why+"): the engine does not start at boot"
		c.Fix = lingerFix(p, user, "sudo ")
	default:
		c.Status, c.Found = CheckNA, "linger unknown ("+why+")"
	}
	return c
}

var (
	enabledStates = []string{"enabled", "enabled-runtime", "linked", "linked-runtime", "alias", "static", "indirect", "generated", "transient"}
	unitStates    = append([]string{"disabled", "masked", "masked-runtime", "bad"}, enabledStates...)
	activeStates  = []string{"active", "reloading", "inactive", "failed", "activating", "deactivating", "maintenance"}
)

// firstWord is the first line's first word of a systemctl answer.
func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func checkService(p probe, user string) RootlessCheck {
	c := RootlessCheck{Name: CheckService}
	enabled, active := firstWord(p.get("svc_enabled")), firstWord(p.get("svc_active"))
	enabledKnown, activeKnown := slices.Contains(unitStates, enabled), slices.Contains(activeStates, active)
	notFound := strings.Contains(p.get("svc_enabled"), "No such file") || strings.Contains(p.get("svc_enabled"), "not-found")
	home := p.get("home_access") == "1"
	units := p["unit_file"]
	procs, _ := p.int("dockerd_procs")

	var how string // where the enabled state came from
	switch {
	case enabledKnown:
		how = "systemctl --user"
	case notFound && p.get("svc_via") == "self":
		how = "systemctl --user"
	case home || len(units) > 0:
		how = "unit files"
		notFound = len(units) == 0 && home
		enabledKnown = len(units) > 0 && home
		enabled = "disabled"
		if p.has("unit_wants") {
			enabled = "enabled"
		}
	default:
		c.Status, c.Found = CheckNA, fmt.Sprintf("cannot read %s's unit files as %s, and systemctl --user does not answer", user, sshUser(p))
		return c
	}
	if notFound {
		c.Status, c.Found, c.Fix = CheckFail, "no docker.service in "+user+"'s systemd ("+how+")", asUser(user, installRootless)
		return c
	}
	if !enabledKnown {
		c.Status, c.Found = CheckNA, "docker.service state unknown: "+p.get("svc_enabled")
		return c
	}
	isEnabled := slices.Contains(enabledStates, enabled)
	running := activeKnown && active == "active"
	activeText := "active " + active
	if !activeKnown {
		switch {
		case procs > 0:
			running, activeKnown, activeText = true, true, "dockerd runs as "+user+" (systemd --user not reachable)"
		case p.get("rootless_socket") == "no":
			activeKnown, activeText = true, "no dockerd runs as "+user+" (systemd --user not reachable)"
		default:
			activeText = "active state unknown: systemd --user not reachable"
		}
	}
	found := fmt.Sprintf("docker.service %s (%s), %s", enabled, how, activeText)
	if p.get("systemd_booted") == "0" {
		found += "; no systemd as PID 1 (" + p.get("pid1") + ")"
	}
	c.Found = found
	switch {
	case isEnabled && running:
		c.Status = CheckOK
	case isEnabled && !activeKnown:
		c.Status = CheckWarn
	case isEnabled:
		c.Status, c.Fix = CheckFail, asUser(user, "systemctl --user start docker")
	case running:
		c.Status, c.Fix = CheckWarn, asUser(user, "systemctl --user enable docker")
	default:
		c.Status, c.Fix = CheckFail, asUser(user, "systemctl --user enable --now docker")
	}
	return c
}

// freeRangeStart picks the start of a new 65536-id range after every range
// in the file, aligned, and not below the usual 100000.
func freeRangeStart(maxEnd int64) int64 {
	start := max(maxEnd, 100000)
	if r := start % minSubIDs; r != 0 {
		start += minSubIDs - r
	}
	return start
}

func checkSubIDs(p probe, user, file string) RootlessCheck {
	c := RootlessCheck{Name: file}
	path := "/etc/" + file
	if p.get(file+"_file") == "missing" {
		c.Status, c.Found = CheckFail, path+" is missing or unreadable"
	} else {
		var total int64
		var parts []string
		for _, r := range p.ranges(file) {
			total += r.Count
			parts = append(parts, fmt.Sprintf("%d:%d", r.Start, r.Count))
		}
		switch {
		case total >= minSubIDs:
			c.Status, c.Found = CheckOK, fmt.Sprintf("%s %s: %d ids", path, strings.Join(parts, ", "), total)
			return c
		case total > 0:
			c.Status, c.Found = CheckFail, fmt.Sprintf("%s gives %s only %d ids (%s), rootless Docker needs %d", path, user, total, strings.Join(parts, ", "), minSubIDs)
		default:
			c.Status, c.Found = CheckFail, fmt.Sprintf("%s has no range for %s", path, user)
		}
	}
	maxEnd, _ := p.int(file + "_max_end")
	start := freeRangeStart(maxEnd)
	flag := "--add-subuids"
	if file == "subgid" {
		flag = "--add-subgids"
	}
	c.Fix = fmt.Sprintf("sudo usermod %s %d-%d %s", flag, start, start+minSubIDs-1, user)
	return c
}

// idmapPrivileged reports whether a newuidmap/newgidmap binary can map ids:
// setuid root, or the file capability it needs.
func idmapPrivileged(stat, caps, need string) (bool, string) {
	f := strings.Fields(stat)
	if len(f) == 2 {
		mode, err := strconv.ParseUint(f[0], 8, 32)
		if err == nil && mode&0o4000 != 0 && f[1] == "0" {
			return true, "setuid root"
		}
	}
	if strings.Contains(caps, need) {
		return true, "file capability " + need
	}
	if len(f) == 2 {
		return false, "mode " + f[0] + ", no " + need + " capability"
	}
	return false, "cannot stat"
}

func checkUIDMap(p probe) RootlessCheck {
	c := RootlessCheck{Name: CheckUIDMap, Status: CheckOK}
	var found, fixes []string
	for _, b := range []struct{ name, cap string }{{"newuidmap", "cap_setuid"}, {"newgidmap", "cap_setgid"}} {
		path := strings.TrimSpace(p.get(b.name + "_path"))
		if path == "" {
			c.Status = CheckFail
			found = append(found, b.name+" not installed")
			if !slices.Contains(fixes, "sudo apt-get install uidmap") {
				fixes = append(fixes, "sudo apt-get install uidmap")
			}
			continue
		}
		ok, how := idmapPrivileged(p.get(b.name+"_stat"), p.get(b.name+"_caps"), b.cap)
		found = append(found, path+" "+how)
		if !ok {
			c.Status = CheckFail
			fixes = append(fixes, "sudo chmod u+s "+path)
		}
	}
	c.Found = strings.Join(found, ", ")
	c.Fix = strings.Join(fixes, " && ")
	return c
}

// persistSysctl is the fix for a kernel setting: now, and at every boot.
func persistSysctl(key, value string) string {
	return fmt.Sprintf("sudo sysctl -w %s=%s && echo %s=%s | sudo tee /etc/sysctl.d/90-rootless-docker.conf", key, value, key, value)
}

func checkUserNS(p probe) RootlessCheck {
	c := RootlessCheck{Name: CheckUserNS}
	clone, hasClone := p.int("userns_clone")
	maxNS, hasMax := p.int("max_user_namespaces")
	var found []string
	if hasClone {
		found = append(found, fmt.Sprintf("kernel.unprivileged_userns_clone=%d", clone))
	}
	if hasMax {
		found = append(found, fmt.Sprintf("user.max_user_namespaces=%d", maxNS))
	}
	restrict, hasRestrict := p.int("apparmor_restrict_userns")
	if hasRestrict {
		found = append(found, fmt.Sprintf("kernel.apparmor_restrict_unprivileged_userns=%d", restrict))
	}
	c.Found = strings.Join(found, ", ")
	switch {
	case hasClone && clone == 0:
		c.Status, c.Fix = CheckFail, persistSysctl("kernel.unprivileged_userns_clone", "1")
	case hasMax && maxNS == 0:
		c.Status, c.Fix = CheckFail, persistSysctl("user.max_user_namespaces", "28633")
	case !hasMax:
		c.Status, c.Found = CheckNA, "user.max_user_namespaces unreadable: kernel without user namespaces?"
	case hasRestrict && restrict == 1:
		c.Status = CheckWarn
		c.Found += ": AppArmor must allow rootlesskit to create user namespaces"
		c.Fix = "as the user: " + installRootless + " (it prints the AppArmor profile to install)"
	default:
		c.Status = CheckOK
	}
	return c
}

// defaultPortStart is the kernel's built-in limit where the sysctl does not exist (before 4.11).
const defaultPortStart = 1024

func checkLowPorts(p probe, e engineFacts) RootlessCheck {
	c := RootlessCheck{Name: CheckLowPorts}
	start, ok := p.int("unprivileged_port_start")
	setting := fmt.Sprintf("net.ipv4.ip_unprivileged_port_start=%d", start)
	if !ok {
		start, setting = defaultPortStart, "no net.ipv4.ip_unprivileged_port_start (ports below 1024 need privilege)"
	}
	switch {
	case !(e.Queried && e.Err == "" && e.Rootless):
		c.Status, c.Found = CheckNA, setting+"; no rootless engine to list published ports"
	case e.PortsErr != "":
		c.Status, c.Found = CheckNA, setting+"; listing containers failed: "+e.PortsErr
	default:
		var low []string
		lowest := start
		for _, port := range e.Ports {
			if port > 0 && int64(port) < start {
				low = append(low, strconv.Itoa(port))
				lowest = min(lowest, int64(port))
			}
		}
		if len(low) == 0 {
			c.Status, c.Found = CheckOK, setting+"; no published port below it"
			return c
		}
		c.Status = CheckFail
		c.Found = fmt.Sprintf("%s; containers publish %s", setting, strings.Join(low, ", "))
		if !ok {
			c.Fix = "sudo setcap cap_net_bind_service=ep $(command -v rootlesskit)"
		} else {
			c.Fix = persistSysctl("net.ipv4.ip_unprivileged_port_start", strconv.FormatInt(lowest, 10))
		}
	}
	return c
}

// expandRuntimeDir resolves the usual spellings of the user's runtime dir in
// a DOCKER_HOST value.
func expandRuntimeDir(v, uid string) string {
	r := strings.NewReplacer("${XDG_RUNTIME_DIR}", "/run/user/"+uid, "$XDG_RUNTIME_DIR", "/run/user/"+uid,
		"$(id -u)", uid, "`id -u`", uid, "${UID}", uid, "$UID", uid)
	return r.Replace(v)
}

func checkCLIEnv(p probe, user, uid string) RootlessCheck {
	c := RootlessCheck{Name: CheckCLIEnv}
	want := "unix://" + rootlessSocket(uid)
	fix := asUser(user, "echo 'export DOCKER_HOST="+want+"' >> ~/.bashrc")
	if p.get("home_access") != "1" {
		c.Status, c.Found = CheckNA, fmt.Sprintf("cannot read %s's home as %s", user, sshUser(p))
		return c
	}
	var right, wrong []string
	for _, l := range p.dockerHostLines() {
		if expandRuntimeDir(l.Value, uid) == want {
			right = append(right, l.File)
		} else {
			wrong = append(wrong, fmt.Sprintf("%s sets DOCKER_HOST=%s", l.File, l.Value))
		}
	}
	switch {
	case len(wrong) > 0:
		c.Status, c.Found, c.Fix = CheckWarn, strings.Join(wrong, "; ")+", not "+want, fix
		return c
	case len(right) > 0:
		c.Status, c.Found = CheckOK, fmt.Sprintf("DOCKER_HOST=%s in %s", want, strings.Join(right, ", "))
		return c
	}
	if name := p.get("docker_current_context"); name != "" && name != "default" {
		for _, ctx := range p.contexts() {
			if ctx.Name != name {
				continue
			}
			if expandRuntimeDir(ctx.Endpoints.Docker.Host, uid) == want {
				c.Status, c.Found = CheckOK, fmt.Sprintf("docker context %q points at %s", name, want)
			} else {
				c.Status, c.Found, c.Fix = CheckWarn, fmt.Sprintf("docker context %q points at %s, not %s", name, ctx.Endpoints.Docker.Host, want), fix
			}
			return c
		}
		c.Status, c.Found, c.Fix = CheckWarn, fmt.Sprintf("current docker context %q is not defined", name), fix
		return c
	}
	c.Status, c.Found, c.Fix = CheckWarn, "no DOCKER_HOST and no docker context: the docker CLI uses /var/run/docker.sock", fix
	return c
}
