package lab

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
)

// TestLabUsers: lab users log in over SSH with the lab key, get exactly the
// subordinate ids, linger file and sudo rule asked for, and Stop removes
// the accounts and every line and file that names them.
func TestLabUsers(t *testing.T) {
	l := New(t, Config{Hosts: 1, NoRegistry: true})
	plain, err := l.AddUser(UserConfig{Tag: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	full, err := l.AddUser(UserConfig{Tag: "full", SubIDs: true, Linger: true, Sudo: true, Docker: true})
	if err != nil {
		t.Fatal(err)
	}
	subuid := readFile(t, "/etc/subuid")
	if strings.Contains(subuid, plain.Name+":") || !strings.Contains(subuid, full.Name+":") {
		t.Errorf("/etc/subuid: want a line for %s only:\n%s", full.Name, subuid)
	}
	if _, err := os.Stat(full.LingerFile()); err != nil {
		t.Errorf("linger file: %v", err)
	}
	if _, err := os.Stat(plain.LingerFile()); err == nil {
		t.Errorf("%s has a linger file it did not ask for", plain.Name)
	}
	if out, err := exec.Command("sudo", "-n", "-l", "-U", full.Name).CombinedOutput(); err != nil || !strings.Contains(string(out), "loginctl enable-linger "+full.Name) {
		t.Errorf("sudo -l -U %s: %v\n%s", full.Name, err, out)
	}

	// Both log in with the lab key; the session runs as the user.
	for _, u := range []*User{plain, full} {
		out := sshRun(t, l, u.Name, "id -un; id -Gn")
		if !strings.HasPrefix(out, u.Name+"\n") {
			t.Errorf("ssh as %s runs as %q", u.Name, out)
		}
		if strings.Contains(out, "docker") != (u == full) {
			t.Errorf("%s: groups %q, docker group wanted only for %s", u.Name, out, full.Name)
		}
	}

	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*User{plain, full} {
		if _, err := user.Lookup(u.Name); err == nil {
			t.Errorf("%s still exists after Stop", u.Name)
		}
		for _, f := range []string{"/etc/subuid", "/etc/subgid", "/etc/passwd", "/etc/group"} {
			if strings.Contains(readFile(t, f), u.Name) {
				t.Errorf("%s still names %s after Stop", f, u.Name)
			}
		}
		for _, f := range []string{u.LingerFile(), u.SudoersFile(), u.RuntimeDir} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("%s still exists after Stop", f)
			}
		}
	}
}

// TestRootlessEngine runs a real rootless engine as a lab user and checks
// that it says so, runs a container, and is gone after Stop.
func TestRootlessEngine(t *testing.T) {
	l := New(t, Config{Hosts: 1, NoRegistry: true})
	u, err := l.AddUser(UserConfig{Tag: "rl", SubIDs: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := l.StartRootlessEngine(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if e.Socket != "/run/user/"+itoa(u.UID)+"/docker.sock" {
		t.Errorf("socket %s, want it in the user's runtime dir", e.Socket)
	}
	c, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.Info(ctx, client.InfoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(info.Info.SecurityOptions, " "), "name=rootless") {
		t.Errorf("security options %v lack name=rootless", info.Info.SecurityOptions)
	}
	// The engine's processes run as the user, not as root.
	if pids := userPIDs(u.UID); len(pids) < 2 {
		t.Errorf("%d processes run as %s, want rootlesskit, dockerd, containerd", len(pids), u.Name)
	}
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	if e.Running() || len(userPIDs(u.UID)) > 0 {
		t.Errorf("rootless engine or user processes still running after Stop")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// sshRun runs cmd on the lab's first host as user, with the lab key.
func sshRun(t *testing.T, l *Lab, user, cmd string) string {
	t.Helper()
	key, err := os.ReadFile(l.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h := l.Hosts[0]
	hostKey, err := h.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("ssh as %s: %v (sshd log: %s)", user, err, logTail(h.Log, 0))
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("ssh as %s: %s: %v: %s", user, cmd, err, out)
	}
	return string(out)
}
