package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"flotilla/internal/lab"
)

type rootlessDoc struct {
	Hosts []struct {
		Host   string `json:"host"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			User   string `json:"user"`
			UID    int    `json:"uid"`
			Socket string `json:"socket"`
			Checks []struct {
				Name, Status, Found, Fix string
			} `json:"checks"`
			Fixes []struct {
				Check, Command, Outcome, Error string
			} `json:"fixes"`
			Failing int `json:"failing"`
		} `json:"data"`
	} `json:"hosts"`
}

type rootlessHost = struct {
	Name, Status, Found, Fix string
}

// check returns the named check of the only host in doc.
func (d rootlessDoc) check(t *testing.T, name string) rootlessHost {
	t.Helper()
	if len(d.Hosts) != 1 {
		t.Fatalf("want one host, got %d", len(d.Hosts))
	}
	for _, c := range d.Hosts[0].Data.Checks {
		if c.Name == name {
			return rootlessHost(c)
		}
	}
	t.Fatalf("no %s check in %+v", name, d.Hosts[0])
	return rootlessHost{}
}

func runRootless(t *testing.T, args ...string) (rootlessDoc, string, int) {
	t.Helper()
	out, errOut, code := flotilla(t, append([]string{"-o", "json"}, args...)...)
	var doc rootlessDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output does not parse: %v\n%s\nstderr:\n%s", err, out, errOut)
	}
	return doc, errOut, code
}

// labInventoryHost is one inventory entry on the lab's single sshd.
type labInventoryHost struct {
	name, user, socket string
}

// writeUsersInventory writes an inventory whose hosts are all the lab's
// first sshd, each logging in as a different user.
func writeUsersInventory(t *testing.T, l *lab.Lab, hs []labInventoryHost) string {
	t.Helper()
	h := l.Hosts[0]
	var b strings.Builder
	fmt.Fprintf(&b, "[defaults]\nidentity_file = %q\nknown_hosts = %q\nconnect_timeout = \"5s\"\n", l.IdentityFile, l.KnownHosts)
	for _, x := range hs {
		fmt.Fprintf(&b, "\n[[host]]\nname = %q\naddress = %q\nport = %d\nuser = %q\n", x.name, h.Address, h.Port, x.user)
		if x.socket != "" {
			fmt.Fprintf(&b, "socket = %q\n", x.socket)
		}
	}
	path := filepath.Join(t.TempDir(), "users.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func addUser(t *testing.T, l *lab.Lab, cfg lab.UserConfig) *lab.User {
	t.Helper()
	u, err := l.AddUser(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestRootlessLab runs `flotilla rootless` against lab users that differ:
// one with a real rootless engine and everything set up, one with nothing
// (no subuid/subgid, no linger, no sudo right), one with a sudo right for
// the linger fix, and root. This machine has no systemd as PID 1 and no
// logind: the checks take their fallbacks (linger file, unit files).
func TestRootlessLab(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 1, Engines: 1, NoRegistry: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ready := addUser(t, l, lab.UserConfig{Tag: "ready", SubIDs: true, Linger: true, Docker: true})
	bare := addUser(t, l, lab.UserConfig{Tag: "bare", Docker: true})
	sudoer := addUser(t, l, lab.UserConfig{Tag: "sudo", SubIDs: true, Sudo: true, Docker: true})

	// ready: a real rootless engine, its user unit enabled, DOCKER_HOST set.
	engine, err := l.StartRootlessEngine(ctx, ready)
	if err != nil {
		t.Fatalf("rootless engine: %v", err)
	}
	for _, f := range []struct{ rel, content string }{
		{".config/systemd/user/docker.service", "[Service]\nExecStart=/usr/bin/dockerd-rootless.sh\n[Install]\nWantedBy=default.target\n"},
		{".bashrc", "# lab\nexport DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock\n"},
	} {
		if err := ready.WriteFile(f.rel, f.content); err != nil {
			t.Fatal(err)
		}
	}
	if err := ready.Symlink(filepath.Join(ready.Home, ".config/systemd/user/docker.service"),
		".config/systemd/user/default.target.wants/docker.service"); err != nil {
		t.Fatal(err)
	}

	rootful := l.Engines[0].Socket
	inv := writeUsersInventory(t, l, []labInventoryHost{
		{"ready", ready.Name, engine.Socket},
		{"bare", bare.Name, rootful},
		{"sudoer", sudoer.Name, rootful},
		{"root", "root", rootful},
		{"ready-discover", ready.Name, ""},
		{"ready-rootful", ready.Name, rootful},
	})

	t.Run("a host with a rootless engine passes every check", func(t *testing.T) {
		doc, errOut, code := runRootless(t, "-i", inv, "-l", "ready", "rootless")
		if code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s\n%+v", code, errOut, doc)
		}
		for _, name := range []string{"engine", "linger", "user-service", "subuid", "subgid", "uidmap", "userns", "low-ports", "cli-env"} {
			if c := doc.check(t, name); c.Status != "ok" || c.Fix != "" {
				t.Errorf("%s: %s %q fix %q, want ok without fix", name, c.Status, c.Found, c.Fix)
			}
		}
		if c := doc.check(t, "engine"); !strings.Contains(c.Found, "rootless engine") || !strings.Contains(c.Found, engine.Socket) {
			t.Errorf("engine found %q, want the rootless engine on %s", c.Found, engine.Socket)
		}
		if c := doc.check(t, "linger"); !strings.Contains(c.Found, ready.LingerFile()) {
			t.Errorf("linger found %q: without logind the linger file decides", c.Found)
		}
		if c := doc.check(t, "subuid"); !strings.Contains(c.Found, strconv.Itoa(ready.SubIDStart)+":65536") {
			t.Errorf("subuid found %q, want the lab's range %d:65536", c.Found, ready.SubIDStart)
		}
		if c := doc.check(t, "user-service"); !strings.Contains(c.Found, "no systemd as PID 1") {
			t.Errorf("user-service found %q: should say systemd is absent", c.Found)
		}
	})

	t.Run("a user with a rootless engine reached on the rootful socket is told to switch", func(t *testing.T) {
		doc, _, code := runRootless(t, "-i", inv, "-l", "ready-rootful", "rootless")
		if code != ExitOK {
			t.Errorf("exit %d, want 0: a warning is not a failure", code)
		}
		c := doc.check(t, "engine")
		if c.Status != "warn" || !strings.Contains(c.Found, "rootful engine") || c.Fix != fmt.Sprintf("set socket = %q for this host in the inventory", engine.Socket) {
			t.Errorf("engine %+v, want warn with the inventory fix", c)
		}
		if c := doc.check(t, "low-ports"); c.Status != "n/a" {
			t.Errorf("low-ports %s: the rootful engine's containers say nothing about the rootless one", c.Status)
		}
	})

	t.Run("table has one row per check", func(t *testing.T) {
		out, _, code := flotilla(t, "-i", inv, "-l", "ready", "rootless")
		if code != ExitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		rows := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "ready ") {
				rows++
			}
		}
		if rows != 9 || !strings.Contains(out, "CHECK") || !strings.Contains(out, "rootless engine") {
			t.Errorf("want 9 rows for host ready:\n%s", out)
		}
	})

	t.Run("a published port below the unprivileged start fails low-ports", func(t *testing.T) {
		c, err := engine.Client()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Created, never started: the binding is what the check reads.
		port := network.MustParsePort("80/tcp")
		created, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
			Name:       "web80",
			Config:     &container.Config{Image: lab.ImageBusybox, Cmd: []string{"true"}, ExposedPorts: network.PortSet{port: {}}},
			HostConfig: &container.HostConfig{NetworkMode: "none", PortBindings: network.PortMap{port: {{HostPort: "80"}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true})
		doc, _, code := runRootless(t, "-i", inv, "-l", "ready", "rootless")
		if code != ExitFailed {
			t.Errorf("exit %d, want %d for a failing check", code, ExitFailed)
		}
		ch := doc.check(t, "low-ports")
		if ch.Status != "fail" || !strings.Contains(ch.Found, "publish 80") || !strings.Contains(ch.Fix, "net.ipv4.ip_unprivileged_port_start=80") {
			t.Errorf("low-ports: %+v, want fail naming port 80 with the sysctl fix", ch)
		}
	})

	t.Run("a bare user fails with the fix for each check", func(t *testing.T) {
		doc, _, code := runRootless(t, "-i", inv, "-l", "bare", "rootless")
		if code != ExitFailed {
			t.Errorf("exit %d, want %d", code, ExitFailed)
		}
		want := map[string]struct{ status, found, fix string }{
			"engine":       {"warn", "only a rootful engine", "dockerd-rootless-setuptool.sh install"},
			"linger":       {"fail", "no " + bare.LingerFile(), "sudo mkdir -p /var/lib/systemd/linger && sudo touch " + bare.LingerFile()},
			"user-service": {"fail", "no docker.service", "dockerd-rootless-setuptool.sh install"},
			"subuid":       {"fail", "no range for " + bare.Name, "sudo usermod --add-subuids "},
			"subgid":       {"fail", "no range for " + bare.Name, "sudo usermod --add-subgids "},
			"uidmap":       {"ok", "/usr/bin/newuidmap setuid root", ""},
			"low-ports":    {"n/a", "no rootless engine", ""},
			"cli-env":      {"warn", "no DOCKER_HOST", "export DOCKER_HOST=unix:///run/user/"},
		}
		for name, w := range want {
			c := doc.check(t, name)
			if c.Status != w.status || !strings.Contains(c.Found, w.found) || !strings.Contains(c.Fix, w.fix) || (w.fix == "" && c.Fix != "") {
				t.Errorf("%s: got %s %q fix %q; want %s %q fix %q", name, c.Status, c.Found, c.Fix, w.status, w.found, w.fix)
			}
		}
		if doc.Hosts[0].Data.Failing != 4 {
			t.Errorf("failing %d, want 4 (linger, user-service, subuid, subgid)", doc.Hosts[0].Data.Failing)
		}
	})

	t.Run("fix without a sudo right is reported, not run", func(t *testing.T) {
		doc, errOut, code := runRootless(t, "-i", inv, "-l", "bare", "rootless", "--fix")
		if code != ExitFailed {
			t.Errorf("exit %d, want %d", code, ExitFailed)
		}
		fixes := doc.Hosts[0].Data.Fixes
		if len(fixes) != 1 || fixes[0].Check != "linger" || fixes[0].Outcome != "failed" || !strings.Contains(fixes[0].Error, "no sudo right") {
			t.Fatalf("fixes %+v, want one failed linger fix saying the sudo right is missing", fixes)
		}
		if !strings.Contains(errOut, "bare: running: sudo -n mkdir -p /var/lib/systemd/linger") {
			t.Errorf("the command is not shown before it runs; stderr:\n%s", errOut)
		}
		if exists(bare.LingerFile()) {
			t.Errorf("%s exists: the fix ran without a sudo right", bare.LingerFile())
		}
		if c := doc.check(t, "linger"); c.Status != "fail" {
			t.Errorf("linger %s after a failed fix, want fail", c.Status)
		}
	})

	t.Run("fix dry-run shows the command and changes nothing", func(t *testing.T) {
		doc, errOut, _ := runRootless(t, "-i", inv, "-l", "sudoer", "rootless", "--fix", "--dry-run")
		fixes := doc.Hosts[0].Data.Fixes
		if len(fixes) != 1 || fixes[0].Outcome != "dry-run" || !strings.Contains(errOut, "sudoer: would run: sudo -n mkdir") {
			t.Errorf("fixes %+v stderr %q, want one dry-run linger fix shown", fixes, errOut)
		}
		if exists(sudoer.LingerFile()) {
			t.Errorf("--dry-run created %s", sudoer.LingerFile())
		}
	})

	t.Run("fix with a sudo right enables linger; a second fix changes nothing", func(t *testing.T) {
		doc, errOut, _ := runRootless(t, "-i", inv, "-l", "sudoer", "rootless", "--fix")
		fixes := doc.Hosts[0].Data.Fixes
		if len(fixes) != 1 || fixes[0].Outcome != "applied" {
			t.Fatalf("fixes %+v, want the linger fix applied; stderr:\n%s", fixes, errOut)
		}
		if c := doc.check(t, "linger"); c.Status != "ok" {
			t.Errorf("linger %s %q after --fix, want ok", c.Status, c.Found)
		}
		if !exists(sudoer.LingerFile()) {
			t.Errorf("%s missing after --fix", sudoer.LingerFile())
		}
		doc, errOut, _ = runRootless(t, "-i", inv, "-l", "sudoer", "rootless", "--fix")
		if fixes := doc.Hosts[0].Data.Fixes; len(fixes) != 0 || strings.Contains(errOut, "running:") {
			t.Errorf("second --fix ran %+v (stderr %q), want nothing", fixes, errOut)
		}
		if c := doc.check(t, "linger"); c.Status != "ok" {
			t.Errorf("linger %s after the second --fix, want ok", c.Status)
		}
	})

	t.Run("root checks another user and fixes without sudo", func(t *testing.T) {
		doc, _, code := runRootless(t, "-i", inv, "-l", "root", "rootless", "--for-user", ready.Name)
		if code != ExitOK {
			t.Errorf("exit %d, want 0: %+v", code, doc)
		}
		if c := doc.check(t, "engine"); c.Status != "ok" || !strings.Contains(c.Found, "socket "+engine.Socket+" exists") {
			t.Errorf("engine %s %q, want ok from the socket", c.Status, c.Found)
		}
		if doc.Hosts[0].Data.User != ready.Name {
			t.Errorf("user %q, want %s", doc.Hosts[0].Data.User, ready.Name)
		}
		os.Remove(bare.LingerFile())
		doc, errOut, _ := runRootless(t, "-i", inv, "-l", "root", "rootless", "--for-user", bare.Name, "--fix")
		fixes := doc.Hosts[0].Data.Fixes
		if len(fixes) != 1 || fixes[0].Outcome != "applied" || strings.Contains(fixes[0].Command, "sudo") {
			t.Errorf("fixes %+v (stderr %q), want the linger fix applied by root without sudo", fixes, errOut)
		}
		if !exists(bare.LingerFile()) {
			t.Errorf("%s missing after root's --fix", bare.LingerFile())
		}
	})

	t.Run("the global --user logs in as that user and checks it", func(t *testing.T) {
		doc, errOut, _ := runRootless(t, "-i", inv, "-l", "root", "--user", ready.Name, "rootless")
		if len(doc.Hosts) != 1 || doc.Hosts[0].Data.User != ready.Name {
			t.Fatalf("hosts %+v (stderr %q), want %s checked", doc.Hosts, errOut, ready.Name)
		}
		// Logged in as the user itself: its home and runtime dir are readable.
		if c := doc.check(t, "cli-env"); c.Status != "ok" {
			t.Errorf("cli-env %s %q, want ok as %s", c.Status, c.Found, ready.Name)
		}
	})

	t.Run("another user's private files are n/a", func(t *testing.T) {
		doc, _, _ := runRootless(t, "-i", inv, "-l", "bare", "rootless", "--for-user", ready.Name)
		for _, name := range []string{"engine", "cli-env", "user-service"} {
			if c := doc.check(t, name); c.Status != "n/a" {
				t.Errorf("%s: %s %q, want n/a: %s cannot look into %s's home or runtime dir", name, c.Status, c.Found, bare.Name, ready.Name)
			}
		}
		if c := doc.check(t, "subuid"); c.Status != "ok" {
			t.Errorf("subuid %s: /etc/subuid is readable by everyone", c.Status)
		}
	})

	t.Run("a missing user fails that host", func(t *testing.T) {
		doc, _, code := runRootless(t, "-i", inv, "-l", "root", "rootless", "--for-user", "flab-nosuchuser")
		if code != ExitFailed || doc.Hosts[0].Status != "failed" || !strings.Contains(doc.Hosts[0].Error, `"flab-nosuchuser" does not exist`) {
			t.Errorf("exit %d host %+v, want failed: user does not exist", code, doc.Hosts[0])
		}
	})

	t.Run("bad flags are usage errors", func(t *testing.T) {
		for _, args := range [][]string{{"rootless", "--for-user", "a b"}, {"rootless", "--dry-run"}} {
			_, errOut, code := flotilla(t, append([]string{"-i", inv}, args...)...)
			if code != ExitUsage || !strings.Contains(errOut, "flotilla: error:") {
				t.Errorf("%v: exit %d stderr %q, want 2 with an error", args, code, errOut)
			}
		}
	})

	t.Run("check finds the rootless socket by itself", func(t *testing.T) {
		out, errOut, code := flotilla(t, "-i", inv, "-l", "ready-discover", "-o", "json", "check")
		if code != ExitOK || !strings.Contains(out, `"socket": "`+engine.Socket+`"`) ||
			!strings.Contains(out, `"socket_discovered": true`) || !strings.Contains(out, `"rootless": true`) {
			t.Errorf("exit %d, want the rootless socket found and reported:\n%s\n%s", code, out, errOut)
		}
	})
}
