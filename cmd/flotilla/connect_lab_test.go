package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"flotilla/internal/lab"
)

type checkDoc struct {
	Hosts []struct {
		Host   string `json:"host"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Hint   string `json:"hint"`
		Data   *struct {
			Transport        string  `json:"transport"`
			User             string  `json:"user"`
			Socket           string  `json:"socket"`
			SocketDiscovered bool    `json:"socket_discovered"`
			EngineVersion    string  `json:"engine_version"`
			APIVersion       string  `json:"api_version"`
			OS               string  `json:"os"`
			Arch             string  `json:"arch"`
			Rootless         *bool   `json:"rootless"`
			HandshakeMS      float64 `json:"ssh_handshake_ms"`
			RoundTripMS      float64 `json:"api_round_trip_ms"`
		} `json:"data"`
	} `json:"hosts"`
	Summary struct {
		OK, Failed, Unreachable, Total int
	} `json:"summary"`
}

// fleetEntry is one [[host]] of a generated inventory.
type fleetEntry struct {
	name  string
	host  *lab.Host
	extra string
}

func writeFleetInventory(t *testing.T, l *lab.Lab, defaults string, list []fleetEntry) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[defaults]\nuser = \"root\"\nidentity_file = %q\nknown_hosts = %q\n%s\n",
		l.IdentityFile, l.KnownHosts, defaults)
	for _, e := range list {
		fmt.Fprintf(&b, "\n[[host]]\nname = %q\naddress = %q\nport = %d\n%s\n", e.name, e.host.Address, e.host.Port, e.extra)
	}
	path := filepath.Join(t.TempDir(), "fleet.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLabCheckBrokenFleet runs check over a fleet with every kind of broken
// host beside healthy ones, on both transports: each broken host is
// unreachable with its own reason, every healthy one is ok, and the exit
// status is 4.
func TestLabCheckBrokenFleet(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 6, Engines: 2, NoRegistry: true})
	ctx := context.Background()
	pair, err := l.AddHiddenPair(ctx, l.Engines[0], "jump", "behind-jump")
	if err != nil {
		t.Fatal(err)
	}
	nosock, err := l.AddUser(lab.UserConfig{Tag: "nosock"})
	if err != nil {
		t.Fatal(err)
	}
	rootless, err := l.AddUser(lab.UserConfig{Tag: "rootless"})
	if err != nil {
		t.Fatal(err)
	}
	rlSock, err := l.AddRootlessSocket(rootless, l.Engines[0])
	if err != nil {
		t.Fatal(err)
	}
	h := l.Hosts
	if err := h[2].Stop(); err != nil {
		t.Fatal(err)
	}
	if err := h[3].Freeze(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h[3].Thaw() })
	if err := h[4].ChangeHostKey(); err != nil {
		t.Fatal(err)
	}
	if err := l.Engines[1].Stop(); err != nil {
		t.Fatal(err)
	}
	e0 := fmt.Sprintf("socket = %q", l.Engines[0].Socket)

	type want struct {
		status string
		reason []string // substrings of the error
		hint   string
	}
	expect := map[string]want{
		"healthy":          {status: "ok"},
		"healthy-rootless": {status: "ok"},
		"jump":             {status: "ok"},
		"behind-jump":      {status: "ok"},
		"other-transport":  {status: "ok"},
		"sshd-stopped":     {"unreachable", []string{"host unreachable", "connection refused"}, "sshd running"},
		"sshd-frozen":      {"unreachable", []string{"host unreachable", "accepted TCP but did not answer"}, "hung"},
		"key-changed":      {"unreachable", []string{"host key changed", "known_hosts expects"}, "ssh-keygen -R"},
		"engine-stopped":   {"unreachable", []string{"docker engine unavailable", l.Engines[1].Socket}, "dockerd"},
		"no-socket-perm":   {"unreachable", []string{"permission denied on the docker socket", nosock.Name}, "docker group"},
	}
	// The machine is shared and can be very loaded: generous timeouts.
	const timeout = 30 * time.Second
	for _, tr := range []string{"ssh", "openssh"} {
		t.Run(tr, func(t *testing.T) {
			other := map[string]string{"ssh": "openssh", "openssh": "ssh"}[tr]
			inv := writeFleetInventory(t, l, fmt.Sprintf("transport = %q\nconnect_timeout = \"8s\"", tr), []fleetEntry{
				{"healthy", h[0], e0},
				{"healthy-rootless", h[1], fmt.Sprintf("user = %q", rootless.Name)}, // socket discovered
				{"sshd-stopped", h[2], e0},
				{"sshd-frozen", h[3], e0},
				{"key-changed", h[4], e0},
				{"engine-stopped", h[5], fmt.Sprintf("socket = %q", l.Engines[1].Socket)},
				{"no-socket-perm", h[5], e0 + fmt.Sprintf("\nuser = %q", nosock.Name)},
				{"jump", pair.Jump, e0},
				{"behind-jump", pair.Hidden, e0 + "\njump = \"jump\""},
				{"other-transport", h[0], e0 + fmt.Sprintf("\ntransport = %q", other)},
			})
			start := time.Now()
			out, errOut, code := flotilla(t, "-i", inv, "--timeout", timeout.String(), "-o", "json", "check")
			elapsed := time.Since(start)
			if elapsed > timeout+10*time.Second { // a failure guard, not a benchmark
				t.Errorf("check took %s, more than the per-host timeout %s plus 10s", elapsed, timeout)
			}
			if code != ExitUnreachable {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitUnreachable, errOut)
			}
			var doc checkDoc
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
			if len(doc.Hosts) != len(expect) {
				t.Fatalf("%d hosts in the report, want %d", len(doc.Hosts), len(expect))
			}
			for _, got := range doc.Hosts {
				w := expect[got.Host]
				if got.Status != w.status {
					t.Errorf("%s: status %s (%s), want %s", got.Host, got.Status, got.Error, w.status)
					continue
				}
				for _, r := range w.reason {
					if !strings.Contains(got.Error, r) {
						t.Errorf("%s: error %q lacks %q", got.Host, got.Error, r)
					}
				}
				if !strings.Contains(got.Hint, w.hint) {
					t.Errorf("%s: hint %q lacks %q", got.Host, got.Hint, w.hint)
				}
				if w.status != "ok" {
					continue
				}
				d := got.Data
				if d == nil || d.EngineVersion == "" || d.APIVersion == "" || d.OS != "linux" || d.Arch == "" || d.Rootless == nil || d.User == "" || d.HandshakeMS <= 0 || d.RoundTripMS <= 0 {
					t.Errorf("%s: incomplete check data %+v", got.Host, d)
					continue
				}
				wantTr := tr
				if got.Host == "other-transport" {
					wantTr = other
				}
				if d.Transport != wantTr {
					t.Errorf("%s: transport %q, want %q", got.Host, d.Transport, wantTr)
				}
				if got.Host == "healthy-rootless" {
					if !d.SocketDiscovered || d.Socket != rlSock || d.User != rootless.Name {
						t.Errorf("%s: socket %s discovered %v user %s; want %s discovered for %s", got.Host, d.Socket, d.SocketDiscovered, d.User, rlSock, rootless.Name)
					}
				} else if d.SocketDiscovered || d.Socket != l.Engines[0].Socket {
					t.Errorf("%s: socket %s discovered %v; want the inventory's %s", got.Host, d.Socket, d.SocketDiscovered, l.Engines[0].Socket)
				}
			}
			if keyErr := errorOf(doc, "key-changed"); strings.Count(keyErr, "SHA256:") != 2 {
				t.Errorf("key-changed: want the presented and the expected fingerprint: %q", keyErr)
			}

			// The table says the same, with the transport and the discovery.
			table, _, _ := flotilla(t, "-i", inv, "--timeout", timeout.String(), "-l", "healthy-rootless,other-transport", "check")
			if !strings.Contains(table, "(discovered)") || !strings.Contains(table, other) || !strings.Contains(table, "TRANSPORT") {
				t.Errorf("table lacks transport or discovery:\n%s", table)
			}
		})
	}
}

func errorOf(doc checkDoc, host string) string {
	for _, h := range doc.Hosts {
		if h.Host == host {
			return h.Error
		}
	}
	return ""
}

// TestLabConnectionsDoNotLeak runs check many times in this process on both
// transports: each run opens one connection per host, and afterwards the
// goroutines and open files of the process are back where they started.
func TestLabConnectionsDoNotLeak(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 3, Engines: 1, NoRegistry: true})
	var invs []string
	for _, tr := range []string{"ssh", "openssh"} {
		var list []fleetEntry
		for _, h := range l.Hosts {
			list = append(list, fleetEntry{h.Name, h, fmt.Sprintf("socket = %q", l.Engines[0].Socket)})
		}
		invs = append(invs, writeFleetInventory(t, l, fmt.Sprintf("transport = %q", tr), list))
	}
	runCheck := func(inv string) {
		t.Helper()
		if _, errOut, code := flotilla(t, "-i", inv, "-o", "json", "check"); code != ExitOK {
			t.Fatalf("check exit %d: %s", code, errOut)
		}
	}
	// Warm up once per transport: lazily started runtime and library
	// goroutines are not leaks.
	for _, inv := range invs {
		runCheck(inv)
	}
	baseG, baseFD := settle(0, 0, 0)
	before := accepted(t, l)
	const runs = 30
	for i := 0; i < runs; i++ {
		runCheck(invs[i%2])
	}
	after := accepted(t, l)
	for i := range before {
		if n := after[i] - before[i]; n != runs {
			t.Errorf("%s: %d runs opened %d ssh connections, want one per run", l.Hosts[i].Name, runs, n)
		}
	}
	g, fd := settle(baseG, baseFD, 10*time.Second)
	if g > baseG || fd > baseFD {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("after %d runs: %d goroutines (baseline %d), %d open fds (baseline %d)\n%s", runs, g, baseG, fd, baseFD, buf[:n])
	}
}

// settle waits up to d for the goroutine and fd counts to come down to
// the given ones, and returns the last counts.
func settle(wantG, wantFD int, d time.Duration) (int, int) {
	deadline := time.Now().Add(d)
	for {
		runtime.GC()
		g, fd := runtime.NumGoroutine(), openFDs()
		if (g <= wantG && fd <= wantFD) || time.Now().After(deadline) {
			return g, fd
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
