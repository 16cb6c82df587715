package lab

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestHostAddress(t *testing.T) {
	for i, want := range map[int]string{0: "127.0.1.1", 2: "127.0.1.3", 253: "127.0.1.254", 254: "127.0.2.1", 600: "127.0.3.93"} {
		if got := hostAddress(i); got != want {
			t.Errorf("hostAddress(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestRootfsTar(t *testing.T) {
	tr := tar.NewReader(bytes.NewReader(rootfsTar([]byte("BB"), "app 1")))
	links := map[string]bool{}
	var release string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case h.Typeflag == tar.TypeSymlink && h.Linkname == "busybox":
			links[strings.TrimPrefix(h.Name, "bin/")] = true
		case h.Name == "etc/lab-release":
			b, _ := io.ReadAll(tr)
			release = string(b)
		}
	}
	for _, a := range busyboxApplets {
		if !links[a] {
			t.Errorf("no bin/%s symlink", a)
		}
	}
	if release != "app 1\n" {
		t.Errorf("lab-release = %q", release)
	}
}

// sshClient dials h with the lab's key and known_hosts.
func sshClient(t *testing.T, l *Lab, h *Host) (*ssh.Client, error) {
	t.Helper()
	keyPEM, err := os.ReadFile(l.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hkcb, err := knownhosts.New(l.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.Dial("tcp", h.Addr(), &ssh.ClientConfig{
		User:            "root",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hkcb,
		Timeout:         5 * time.Second,
	})
}

func run(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// pingOver does GET /_ping on socket through a direct-streamlocal channel.
func pingOver(c *ssh.Client, socket string) error {
	conn, err := c.Dial("unix", socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodGet, "http://docker/_ping", nil)
	if err := req.Write(conn); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "OK" {
		return errors.New("ping: " + resp.Status + " " + string(b))
	}
	return nil
}

func TestLab(t *testing.T) {
	t0 := time.Now()
	l := New(t, Config{})
	t.Logf("3-host lab up in %v (dir %s, registry %s)", time.Since(t0).Round(time.Millisecond), l.Dir, l.Registry)
	if len(l.Hosts) != 3 || len(l.Engines) != 3 || l.Registry == "" {
		t.Fatalf("got %d hosts, %d engines, registry %q", len(l.Hosts), len(l.Engines), l.Registry)
	}
	inv, err := os.ReadFile(l.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`identity_file = "` + l.IdentityFile + `"`, `name = "host3"`, `socket = "` + l.Engines[2].Socket + `"`, `labels = { engine = "e1" }`} {
		if !strings.Contains(string(inv), want) {
			t.Errorf("inventory lacks %s:\n%s", want, inv)
		}
	}
	ctx := context.Background()

	t.Run("ssh", func(t *testing.T) {
		for i, h := range l.Hosts {
			if h.Engine != l.Engines[i%3] {
				t.Errorf("%s on engine %s", h.Name, h.Engine.Name)
			}
			c, err := sshClient(t, l, h)
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			if out, err := run(c, "true"); err != nil {
				t.Errorf("%s: true: %v %s", h.Name, err, out)
			}
			if err := pingOver(c, h.Engine.Socket); err != nil {
				t.Errorf("%s: %v", h.Name, err)
			}
			c.Close()
			if n, err := h.AcceptedConnections(); err != nil || n != 1 {
				t.Errorf("%s: AcceptedConnections = %d, %v; want 1", h.Name, n, err)
			}
		}
	})

	t.Run("images", func(t *testing.T) {
		for i, e := range l.Engines {
			got, err := e.Images(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := l.ExpectedImages(i); !slices.Equal(got, want) {
				t.Errorf("engine %s images %v, want %v", e.Name, got, want)
			}
			if !slices.Contains(got, l.Image(ImageBusybox)) {
				t.Errorf("engine %s lacks busybox", e.Name)
			}
		}
	})

	t.Run("container", func(t *testing.T) {
		c, err := l.Engines[1].Client()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cr, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
			Image:      l.Image(ImageApp2),
			Config:     &container.Config{Cmd: []string{"sh", "-c", "cat /etc/lab-release; id -u"}},
			HostConfig: &container.HostConfig{NetworkMode: "none"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.ContainerRemove(ctx, cr.ID, client.ContainerRemoveOptions{Force: true})
		if _, err := c.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
			t.Fatal(err)
		}
		w := c.ContainerWait(ctx, cr.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case r := <-w.Result:
			if r.StatusCode != 0 {
				t.Errorf("exit %d", r.StatusCode)
			}
		case err := <-w.Error:
			t.Fatal(err)
		case <-time.After(30 * time.Second):
			t.Fatal("container did not finish")
		}
		logs, err := c.ContainerLogs(ctx, cr.ID, client.ContainerLogsOptions{ShowStdout: true})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(logs)
		logs.Close()
		if !bytes.Contains(b, []byte("app 2")) {
			t.Errorf("container output %q", b)
		}
	})

	t.Run("host-control", func(t *testing.T) {
		h := l.Hosts[0]
		if err := h.Freeze(); err != nil {
			t.Fatal(err)
		}
		conn, err := net.DialTimeout("tcp", h.Addr(), time.Second)
		if err != nil {
			t.Fatalf("frozen host: TCP should be accepted: %v", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := conn.Read(make([]byte, 16)); err == nil || n > 0 {
			t.Errorf("frozen host sent a banner")
		}
		conn.Close()
		if err := h.Thaw(); err != nil {
			t.Fatal(err)
		}
		if err := readBanner(h.Addr()); err != nil {
			t.Fatalf("thawed host: %v", err)
		}

		oldPID := h.PID
		open, err := sshClient(t, l, h)
		if err != nil {
			t.Fatal(err)
		}
		defer open.Close()
		if err := h.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := run(open, "true"); err == nil {
			t.Errorf("connection opened before Stop still works")
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(oldPID)); err == nil && (&proc{PID: oldPID}).alive() {
			t.Errorf("sshd %d still alive", oldPID)
		}
		if _, err := sshClient(t, l, h); err == nil {
			t.Fatal("stopped host answers")
		}
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		c, err := sshClient(t, l, h)
		if err != nil {
			t.Fatalf("restarted host: %v", err)
		}
		c.Close()

		if err := h.ChangeHostKey(); err != nil {
			t.Fatal(err)
		}
		_, err = sshClient(t, l, h)
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) || len(ke.Want) == 0 {
			t.Fatalf("changed host key: got %v, want a knownhosts key mismatch", err)
		}
	})

	t.Run("state", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "lab.json")
		if err := l.WriteState(p); err != nil {
			t.Fatal(err)
		}
		a, err := Attach(p)
		if err != nil {
			t.Fatal(err)
		}
		if a.Dir != l.Dir || a.Registry != l.Registry || len(a.Hosts) != 3 || a.Hosts[2].Port != l.Hosts[2].Port ||
			a.Hosts[1].Engine.Socket != l.Engines[1].Socket || a.Engines[0].PID != l.Engines[0].PID || !a.Hosts[1].Running() || !a.RegistryRunning() {
			t.Errorf("attached lab differs: %+v", a)
		}
	})

	// Stop: every PID gone, the directory removed.
	pids := []*proc{l.reg}
	for _, e := range l.Engines {
		pids = append(pids, e.p)
	}
	for _, h := range l.Hosts {
		pids = append(pids, h.p)
	}
	t1 := time.Now()
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("3-host lab stopped in %v", time.Since(t1).Round(time.Millisecond))
	for _, p := range pids {
		if p.alive() {
			t.Errorf("pid %d alive after Stop", p.PID)
		}
	}
	if left := procsUnder(l.Dir); len(left) > 0 {
		t.Errorf("processes still under %s: %v", l.Dir, left)
	}
	if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists (%v)", l.Dir, err)
	}
	if m, _ := mountsUnder(l.Dir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if err := l.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestParallel runs two labs at once: distinct directories, ports and
// processes, both reachable while both are up.
func TestParallel(t *testing.T) {
	var (
		mu   sync.Mutex
		labs []*Lab
	)
	t.Run("group", func(t *testing.T) {
		for _, name := range []string{"a", "b"} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				t0 := time.Now()
				l := New(t, Config{Hosts: 4, Engines: 1, NoRegistry: true})
				t.Logf("4-host 1-engine lab (no registry) up in %v", time.Since(t0).Round(time.Millisecond))
				mu.Lock()
				labs = append(labs, l)
				mu.Unlock()
				// Wait (bounded) until the other lab is up too, then use this one.
				for i := 0; i < 1200; i++ {
					mu.Lock()
					n := len(labs)
					mu.Unlock()
					if n == 2 {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				for _, h := range l.Hosts {
					c, err := sshClient(t, l, h)
					if err != nil {
						t.Fatalf("%s: %v", h.Name, err)
					}
					if err := pingOver(c, h.Engine.Socket); err != nil {
						t.Errorf("%s: %v", h.Name, err)
					}
					c.Close()
				}
			})
		}
	})
	if len(labs) != 2 {
		return
	}
	a, b := labs[0], labs[1]
	if a.Dir == b.Dir || a.Engines[0].Socket == b.Engines[0].Socket {
		t.Errorf("labs share dir or socket: %s %s", a.Dir, b.Dir)
	}
	for i := range a.Hosts {
		if a.Hosts[i].Addr() == b.Hosts[i].Addr() {
			t.Errorf("labs share %s", a.Hosts[i].Addr())
		}
	}
	for _, l := range labs {
		if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
			t.Errorf("%s left behind", l.Dir)
		}
	}
}

// TestManyHosts (FLOTILLA_LAB_LARGE=1) starts 300 hosts (past 127.0.1.254)
// and opens an SSH connection to every one at once, plus 200 concurrent
// connections to host1.
func TestManyHosts(t *testing.T) {
	if os.Getenv("FLOTILLA_LAB_LARGE") == "" {
		t.Skip("set FLOTILLA_LAB_LARGE=1")
	}
	t0 := time.Now()
	l := New(t, Config{Hosts: 300, NoRegistry: true})
	t.Logf("300-host lab up in %v", time.Since(t0).Round(time.Millisecond))
	if got := l.Hosts[299].Address; got != "127.0.2.46" {
		t.Errorf("host300 address %s", got)
	}
	dial := func(hosts []*Host) {
		var wg sync.WaitGroup
		errs := make(chan error, len(hosts))
		t1 := time.Now()
		for _, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := sshClient(t, l, h)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if err := pingOver(c, h.Engine.Socket); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		n := 0
		for err := range errs {
			if n++; n <= 3 {
				t.Error(err)
			}
		}
		t.Logf("%d concurrent connections+pings in %v, %d failed", len(hosts), time.Since(t1).Round(time.Millisecond), n)
	}
	dial(l.Hosts)
	same := make([]*Host, 200)
	for i := range same {
		same[i] = l.Hosts[0]
	}
	dial(same)
}
