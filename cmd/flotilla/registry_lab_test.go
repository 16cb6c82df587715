package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"flotilla/internal/lab"
)

type pullDoc struct {
	Hosts []struct {
		Host   string `json:"host"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			Image      string `json:"image"`
			Digest     string `json:"digest"`
			ID         string `json:"id"`
			PreviousID string `json:"previous_id"`
			Changed    bool   `json:"changed"`
			Via        string `json:"via"`
		} `json:"data"`
	} `json:"hosts"`
}

type outdatedDoc struct {
	Hosts []struct {
		Host   string `json:"host"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			Ref            string `json:"ref"`
			Status         string `json:"status"`
			LocalDigest    string `json:"local_digest"`
			RegistryDigest string `json:"registry_digest"`
			Reason         string `json:"reason"`
			Labels         map[string]struct {
				Local, Registry, Error string
			} `json:"labels"`
		} `json:"data"`
	} `json:"hosts"`
}

// image returns host's row for ref in an outdated document.
func (d outdatedDoc) image(host, ref string) (status, local, registry string, labels map[string]struct{ Local, Registry, Error string }) {
	for _, h := range d.Hosts {
		if h.Host != host {
			continue
		}
		for _, im := range h.Data {
			if im.Ref == ref {
				return im.Status, im.LocalDigest, im.RegistryDigest, im.Labels
			}
		}
	}
	return "absent", "", "", nil
}

// hookWriter is a stderr that calls onLine for every complete line, as the
// CLI writes it: a test can act between two steps of one run.
type hookWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	all    bytes.Buffer
	onLine func(string)
}

func (w *hookWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		w.onLine(line)
	}
	return len(p), nil
}

// TestLabRegistry runs pull, images --outdated, promote and pull --relay
// against a real lab plus a second registry with htpasswd auth behind TLS.
// Subtests run in order and build on each other.
func TestLabRegistry(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 3})
	reg := lab.NewAuthRegistry(t, l)
	inv := l.Inventory
	ctx := context.Background()

	good := filepath.Join(t.TempDir(), "docker-good")
	if err := reg.WriteDockerConfig(good, reg.User, reg.Password); err != nil {
		t.Fatal(err)
	}
	wrongPassword := "wrong-" + reg.Password[:8]
	bad := filepath.Join(t.TempDir(), "docker-bad")
	if err := reg.WriteDockerConfig(bad, reg.User, wrongPassword); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", good)

	var outputs strings.Builder // every byte flotilla wrote, checked for the password at the end
	run := func(t *testing.T, args ...string) (string, string, int) {
		t.Helper()
		out, errOut, code := flotilla(t, args...)
		outputs.WriteString(out + errOut)
		return out, errOut, code
	}
	const rev = "org.opencontainers.image.revision"
	app := reg.Addr + "/team/app:1"
	d1, err := reg.PushImage(ctx, "team/app:1", "app v1", map[string]string{rev: "aaa111"})
	if err != nil {
		t.Fatal(err)
	}

	var firstIDs []string
	t.Run("pull with the right credentials succeeds on all hosts", func(t *testing.T) {
		out, errOut, code := run(t, "-i", inv, "-o", "json", "pull", app)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		var doc pullDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(doc.Hosts) != 3 {
			t.Fatalf("want 3 hosts:\n%s", out)
		}
		for _, h := range doc.Hosts {
			if h.Status != "ok" || len(h.Data) != 1 {
				t.Fatalf("%s: %s %q", h.Host, h.Status, h.Error)
			}
			p := h.Data[0]
			if p.Digest != d1 || !p.Changed || p.PreviousID != "" || !strings.HasPrefix(p.ID, "sha256:") {
				t.Errorf("%s: %+v, want digest %s, changed, no previous id", h.Host, p, d1)
			}
			firstIDs = append(firstIDs, p.ID)
		}
		out, _, code = run(t, "-i", inv, "-o", "json", "pull", app)
		var again pullDoc
		json.Unmarshal([]byte(out), &again)
		for _, h := range again.Hosts {
			if code != ExitOK || len(h.Data) != 1 || h.Data[0].Changed || h.Data[0].PreviousID != h.Data[0].ID {
				t.Errorf("second pull on %s: %+v, want unchanged", h.Host, h.Data)
			}
		}
	})

	t.Run("process arguments never carry the password", func(t *testing.T) {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err == nil && bytes.Contains(b, []byte(reg.Password)) {
				t.Errorf("%s has the password: %q", p, b)
			}
		}
	})

	t.Run("wrong credentials fail with the registry's reason", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", bad)
		out, errOut, code := run(t, "-i", inv, "-o", "json", "pull", app)
		if code != ExitFailed {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitFailed, out, errOut)
		}
		var doc pullDoc
		json.Unmarshal([]byte(out), &doc)
		for _, h := range doc.Hosts {
			if h.Status != "failed" || !strings.Contains(h.Error, "unauthorized") {
				t.Errorf("%s: %s %q, want failed with the registry's unauthorized", h.Host, h.Status, h.Error)
			}
		}
		// The admin's look-ups use the same credentials: the tag is unknown, with why.
		out, _, _ = run(t, "-i", inv, "-o", "json", "images", "--outdated")
		var od outdatedDoc
		json.Unmarshal([]byte(out), &od)
		for _, h := range od.Hosts {
			for _, im := range h.Data {
				if im.Ref == app && (im.Status != "unknown" || !strings.Contains(im.Reason, "unauthorized")) {
					t.Errorf("%s: %s is %s (%q), want unknown: unauthorized", h.Host, app, im.Status, im.Reason)
				}
			}
		}
		// Table output carries the reason too.
		out, _, _ = run(t, "-i", inv, "-l", "host1", "pull", app)
		if !strings.Contains(out, "unauthorized") {
			t.Errorf("table lacks the reason:\n%s", out)
		}
	})

	t.Run("a bad reference is refused before any host is contacted", func(t *testing.T) {
		before := accepted(t, l)
		_, errOut, code := run(t, "-i", inv, "pull", app, "Team/App::1")
		if code != ExitUsage || !strings.Contains(errOut, `invalid image reference "Team/App::1"`) {
			t.Errorf("exit %d, stderr %q; want 2 naming the reference", code, errOut)
		}
		if after := accepted(t, l); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("connected anyway: accepted %v then %v", before, after)
		}
	})

	t.Run("outdated flags exactly the hosts holding the old digest", func(t *testing.T) {
		d2, err := reg.PushImage(ctx, "team/app:1", "app v2", map[string]string{rev: "bbb222"})
		if err != nil {
			t.Fatal(err)
		}
		if _, errOut, code := run(t, "-i", inv, "-l", "host1", "pull", app); code != ExitOK {
			t.Fatalf("pull on host1: exit %d %s", code, errOut)
		}
		heads := func() int {
			n, err := reg.Requests("HEAD", "/v2/team/app/manifests/1")
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := heads()
		out, errOut, code := run(t, "-i", inv, "-o", "json", "images", "--outdated", "--label", rev)
		if code != ExitOK {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		// The registry's own log: one HEAD for the tag, though three hosts hold it
		// (each 401 challenge answered would show as a second line).
		if n := heads() - before; n != 1 {
			t.Errorf("registry log shows %d HEAD requests for team/app:1, want 1", n)
		}
		var doc outdatedDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, h := range l.Hosts {
			status, local, remote, labels := doc.image(h.Name, app)
			wantStatus, wantLocal, wantRev := "outdated", d1, "aaa111"
			if h.Name == "host1" {
				wantStatus, wantLocal, wantRev = "up to date", d2, "bbb222"
			}
			if status != wantStatus || local != wantLocal || remote != d2 {
				t.Errorf("%s: %s %s -> %s, want %s %s -> %s", h.Name, status, local, remote, wantStatus, wantLocal, d2)
			}
			if l := labels[rev]; l.Local != wantRev || l.Registry != "bbb222" || l.Error != "" {
				t.Errorf("%s: label %+v, want local %s registry bbb222", h.Name, l, wantRev)
			}
			// The plain lab registry's images are looked up too (HTTP, no auth).
			if status, _, _, _ := doc.image(h.Name, l.Image(lab.ImageBusybox)); status != "up to date" {
				t.Errorf("%s: %s is %q, want up to date", h.Name, lab.ImageBusybox, status)
			}
		}
		tableOut, _, _ := run(t, "-i", inv, "images", "--outdated")
		if !strings.Contains(tableOut, "outdated") || !strings.Contains(tableOut, shortHash(d2)) {
			t.Errorf("table lacks the outdated rows:\n%s", tableOut)
		}

		// On a terminal, stderr shows each host's layers as they land.
		var pout, perr bytes.Buffer
		tio := &IOStreams{In: strings.NewReader(""), Out: &pout, ErrOut: &perr, ErrIsTerminal: true, TermWidth: 80}
		if code := run0(tio, "-i", inv, "pull", app); code != ExitOK {
			t.Fatalf("pull: exit %d %s", code, perr.String())
		}
		outputs.WriteString(pout.String() + perr.String())
		for _, h := range []string{"host2", "host3"} {
			if want := "flotilla: " + h + ": " + app + ": 1/1 layers"; !strings.Contains(perr.String(), want) {
				t.Errorf("terminal progress lacks %q:\n%s", want, perr.String())
			}
		}
		out, _, _ = run(t, "-i", inv, "-o", "json", "images", "--outdated")
		json.Unmarshal([]byte(out), &doc)
		for _, h := range l.Hosts {
			if status, _, _, _ := doc.image(h.Name, app); status != "up to date" {
				t.Errorf("after pull, %s: %s is %q", h.Name, app, status)
			}
		}
	})

	t.Run("multi-platform tags compare the index digest", func(t *testing.T) {
		multi := reg.Addr + "/team/multi:1"
		di, err := reg.PushIndex(ctx, "team/multi:1", "multi v1", map[string]string{rev: "m1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, errOut, code := run(t, "-i", inv, "pull", multi); code != ExitOK {
			t.Fatalf("pull: exit %d %s", code, errOut)
		}
		out, _, _ := run(t, "-i", inv, "-o", "json", "images", "--outdated", "--label", rev)
		var doc outdatedDoc
		json.Unmarshal([]byte(out), &doc)
		for _, h := range l.Hosts {
			status, local, remote, labels := doc.image(h.Name, multi)
			if status != "up to date" || local != di || remote != di || labels[rev].Registry != "m1" {
				t.Errorf("%s: %s %s -> %s labels %+v, want up to date at index %s", h.Name, status, local, remote, labels, di)
			}
		}
		dj, err := reg.PushIndex(ctx, "team/multi:1", "multi v2", map[string]string{rev: "m2"})
		if err != nil {
			t.Fatal(err)
		}
		out, _, _ = run(t, "-i", inv, "-o", "json", "images", "--outdated")
		json.Unmarshal([]byte(out), &doc)
		for _, h := range l.Hosts {
			if status, local, remote, _ := doc.image(h.Name, multi); status != "outdated" || local != di || remote != dj {
				t.Errorf("%s: %s %s -> %s, want outdated %s -> %s", h.Name, status, local, remote, di, dj)
			}
		}
	})

	t.Run("promote copies every platform, digests unchanged", func(t *testing.T) {
		data, _ := os.ReadFile(inv)
		pinv := filepath.Join(t.TempDir(), "promote.toml")
		extra := fmt.Sprintf("\n[[promote]]\nfrom = %q\nto = %q\ntags = [\"1\"]\n\n[[promote]]\nfrom = %q\nto = %q\ntags = [\"1\"]\n",
			l.Registry+"/lab/app", reg.Addr+"/promoted/app", reg.Addr+"/team/multi", l.Registry+"/lab/multi")
		os.WriteFile(pinv, append(data, extra...), 0o644)

		out, errOut, code := run(t, "-i", pinv, "promote", "--dry-run")
		if code != ExitOK || strings.Count(out, "would copy") != 2 {
			t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
		}
		if _, err := reg.Digest(ctx, "promoted/app:1"); err == nil {
			t.Fatal("dry run copied")
		}
		out, errOut, code = run(t, "-i", pinv, "-o", "json", "promote")
		if code != ExitOK {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		srcApp := headDigest(t, l.Image(lab.ImageApp1))
		if got, err := reg.Digest(ctx, "promoted/app:1"); err != nil || got != srcApp {
			t.Errorf("promoted/app:1 is %s (%v), want the source's %s", got, err, srcApp)
		}
		srcMulti, _ := reg.Digest(ctx, "team/multi:1")
		if got := headDigest(t, l.Registry+"/lab/multi:1"); got != srcMulti {
			t.Errorf("lab/multi:1 is %s, want the source index %s", got, srcMulti)
		}
		out, _, _ = run(t, "-i", pinv, "promote")
		if strings.Count(out, "up to date") != 2 {
			t.Errorf("second promote should find both up to date:\n%s", out)
		}
	})

	t.Run("relay reaches hosts after the registry is gone", func(t *testing.T) {
		relay := reg.Addr + "/team/relay:1"
		if _, err := reg.PushImage(ctx, "team/relay:1", "relay v1", nil); err != nil {
			t.Fatal(err)
		}
		// Stop the registry as soon as host1's pull is reported (a jsonl line
		// per host as it finishes), before the stream to the others starts:
		// they cannot have used the registry.
		var stopErr error
		stopped := false
		out := &hookWriter{onLine: func(line string) {
			if strings.Contains(line, `"host":"host1"`) && strings.Contains(line, `"status":"ok"`) {
				stopErr, stopped = reg.Stop(), true
			}
		}}
		var errOut bytes.Buffer
		io := &IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &errOut, TermWidth: 80}
		code := run0(io, "-i", inv, "-o", "jsonl", "pull", "--relay", relay)
		outputs.WriteString(out.all.String() + errOut.String())
		if !stopped || stopErr != nil || reg.Running() {
			t.Fatalf("registry not stopped after host1's pull (%v)\n%s", stopErr, out.all.String())
		}
		if code != ExitOK {
			t.Fatalf("exit %d\n%s\n%s", code, out.all.String(), errOut.String())
		}
		var doc pullDoc
		for _, line := range strings.Split(strings.TrimSpace(out.all.String()), "\n") {
			var h struct {
				Type string `json:"type"`
			}
			json.Unmarshal([]byte(line), &h)
			if h.Type == "host" {
				var one pullDoc
				json.Unmarshal([]byte(`{"hosts":[`+line+`]}`), &one)
				doc.Hosts = append(doc.Hosts, one.Hosts...)
			}
		}
		if len(doc.Hosts) != 3 {
			t.Fatalf("want 3 host lines:\n%s", out.all.String())
		}
		var srcID string
		for _, h := range doc.Hosts {
			if h.Status != "ok" || len(h.Data) != 1 {
				t.Fatalf("%s: %s %q", h.Host, h.Status, h.Error)
			}
			p := h.Data[0]
			if h.Host == "host1" {
				srcID = p.ID
				if p.Via != "" {
					t.Errorf("host1 should pull from the registry, got via %q", p.Via)
				}
			}
		}
		for _, h := range doc.Hosts {
			if p := h.Data[0]; h.Host != "host1" && (p.Via != "host1" || p.ID != srcID || !p.Changed) {
				t.Errorf("%s: %+v, want via host1 with id %s", h.Host, p, srcID)
			}
		}
		// What the engines hold, asked directly.
		for _, e := range l.Engines {
			c, err := e.Client()
			if err != nil {
				t.Fatal(err)
			}
			in, err := c.ImageInspect(ctx, relay)
			c.Close()
			if err != nil || in.ID != srcID {
				t.Errorf("engine %s: %s has id %s (%v), want %s", e.Name, relay, in.ID, err, srcID)
			}
		}
	})

	t.Run("relay goes on without an unreachable target", func(t *testing.T) {
		tool := l.Image(lab.ImageTool) // only on host1's engine
		if err := l.Hosts[2].Stop(); err != nil {
			t.Fatal(err)
		}
		defer l.Hosts[2].Start()
		out, errOut, code := run(t, "-i", inv, "-o", "json", "pull", "--relay", tool)
		if code != ExitUnreachable {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitUnreachable, out, errOut)
		}
		var doc pullDoc
		json.Unmarshal([]byte(out), &doc)
		if len(doc.Hosts) != 3 || doc.Hosts[1].Status != "ok" || doc.Hosts[2].Status != "unreachable" {
			t.Fatalf("want host2 ok and host3 unreachable:\n%s", out)
		}
		if src, got := doc.Hosts[0].Data[0].ID, doc.Hosts[1].Data[0]; got.ID != src || got.Via != "host1" || !got.Changed {
			t.Errorf("host2: %+v, want id %s via host1", got, src)
		}
	})

	t.Run("the password appears in no output or log", func(t *testing.T) {
		secrets := []string{reg.Password, wrongPassword,
			base64.StdEncoding.EncodeToString([]byte(reg.User + ":" + reg.Password))}
		logs, _ := filepath.Glob(filepath.Join(l.Dir, "*", "*.log"))
		more, _ := filepath.Glob(filepath.Join(l.Dir, "hosts", "*", "*.log"))
		logs = append(append(logs, more...), reg.Log)
		if len(logs) < 5 {
			t.Fatalf("found only logs %v", logs)
		}
		texts := map[string]string{"flotilla output": outputs.String()}
		for _, p := range logs {
			b, _ := os.ReadFile(p)
			texts[p] = string(b)
		}
		if !strings.Contains(texts[reg.Log], "team/app") {
			t.Fatalf("registry log %s does not record requests: the check would prove nothing", reg.Log)
		}
		for where, text := range texts {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s contains a secret", where)
				}
			}
		}
	})
}

// run0 runs the CLI in-process with the given streams.
func run0(io *IOStreams, args ...string) int {
	return run(context.Background(), io, args)
}

// headDigest asks a registry (the plain-HTTP lab one) for a tag's digest.
func headDigest(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return d.Digest.String()
}
