package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"flotilla/internal/lab"
	"flotilla/tasks"
)

// Secrets planted in container environments; no output may show them
// without --show-secrets.
const (
	dbPassword = "s3cret-db-pw-4711"
	apiToken   = "tok-98765-very-secret"
)

// viewsLab is a 3-host lab (one engine each) with known containers:
// host1: web (running), job (exited), shop-api-1 (compose shop/api, running);
// host2: web (running); host3: none, but a dangling image.
// drift/app:1 is lab/app:1 on host1 and lab/app:2 on host2.
type viewsLab struct {
	*lab.Lab
	busybox string
}

func newViewsLab(t *testing.T) *viewsLab {
	t.Helper()
	l := lab.New(t, lab.Config{Hosts: 3})
	ctx := context.Background()
	v := &viewsLab{Lab: l, busybox: l.Image(lab.ImageBusybox)}
	e0, e1, e2 := l.Hosts[0].Engine, l.Hosts[1].Engine, l.Hosts[2].Engine
	specs := []struct {
		e    *lab.Engine
		spec lab.ContainerSpec
	}{
		{e0, lab.ContainerSpec{Name: "web", Image: v.busybox, Env: []string{"APP_MODE=prod", "DB_PASSWORD=" + dbPassword}}},
		{e0, lab.ContainerSpec{Name: "job", Image: v.busybox, Cmd: []string{"true"}, Exited: true}},
		{e0, lab.ContainerSpec{Name: "shop-api-1", Image: v.busybox, Labels: lab.ComposeLabels("shop", "api"),
			Env: []string{"GREETING=hello world", "API_TOKEN=" + apiToken}}},
		{e1, lab.ContainerSpec{Name: "web", Image: v.busybox, Env: []string{"APP_MODE=staging", "DB_PASSWORD=" + dbPassword}}},
	}
	for _, s := range specs {
		if _, err := s.e.RunContainer(ctx, s.spec); err != nil {
			t.Fatal(err)
		}
	}
	if err := e0.TagImage(ctx, l.Image(lab.ImageApp1), "drift/app:1"); err != nil {
		t.Fatal(err)
	}
	if err := e1.TagImage(ctx, l.Image(lab.ImageApp2), "drift/app:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.ImportDangling(ctx, "dangling"); err != nil {
		t.Fatal(err)
	}
	return v
}

type psDoc struct {
	Hosts []struct {
		Host   string            `json:"host"`
		Status string            `json:"status"`
		Error  string            `json:"error"`
		Data   []tasks.Container `json:"data"`
	} `json:"hosts"`
}

type envDoc struct {
	Hosts []struct {
		Host   string               `json:"host"`
		Status string               `json:"status"`
		Error  string               `json:"error"`
		Data   []tasks.ContainerEnv `json:"data"`
	} `json:"hosts"`
	Summary summary `json:"summary"`
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not one JSON document: %v\n%s", err, out)
	}
}

func TestLabViews(t *testing.T) {
	l := newViewsLab(t)
	inv := l.Inventory

	t.Run("ps lists running containers, -a the exited too", func(t *testing.T) {
		for _, all := range []bool{false, true} {
			args := []string{"-i", inv, "-o", "json", "ps"}
			want := map[string][]string{"host1": {"shop-api-1", "web"}, "host2": {"web"}, "host3": nil}
			if all {
				args = append(args, "-a")
				want["host1"] = []string{"job", "shop-api-1", "web"}
			}
			out, errOut, code := flotilla(t, args...)
			if code != ExitOK {
				t.Fatalf("%v: exit %d: %s", args, code, errOut)
			}
			var doc psDoc
			decode(t, out, &doc)
			for _, h := range doc.Hosts {
				var names []string
				for _, c := range h.Data {
					names = append(names, c.Name)
					if c.Image != l.busybox || len(c.ID) != 64 || c.Created.IsZero() || c.Ports == nil {
						t.Errorf("%s %s: image %q id %q created %v ports %v", h.Host, c.Name, c.Image, c.ID, c.Created, c.Ports)
					}
					wantState, wantStatus, project, service := "running", "Up ", "", ""
					if c.Name == "job" {
						wantState, wantStatus = "exited", "Exited (0) "
					}
					if c.Name == "shop-api-1" {
						project, service = "shop", "api"
					}
					if c.State != wantState || !strings.HasPrefix(c.Status, wantStatus) || c.Project != project || c.Service != service {
						t.Errorf("%s %s: state %q status %q compose %q/%q", h.Host, c.Name, c.State, c.Status, c.Project, c.Service)
					}
				}
				if !slices.Equal(names, want[h.Host]) {
					t.Errorf("all=%v %s: containers %v, want %v", all, h.Host, names, want[h.Host])
				}
			}
		}
	})

	t.Run("ps table rows", func(t *testing.T) {
		out, _, code := flotilla(t, "-i", inv, "ps", "-a")
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		img := regexp.QuoteMeta(l.busybox)
		date := `\d{4}-\d\d-\d\d \d\d:\d\d`
		rows := []string{
			`^HOST +NAME +IMAGE +STATE +STATUS +PORTS +PROJECT +SERVICE +CREATED$`,
			`^host1 +job +` + img + ` +exited +Exited \(0\) .+ +- +- +- +` + date + `$`,
			`^host1 +shop-api-1 +` + img + ` +running +Up .+ +- +shop +api +` + date + `$`,
			`^host1 +web +` + img + ` +running +Up .+ +- +- +- +` + date + `$`,
			`^host2 +web +` + img + ` +running +Up .+ +- +- +- +` + date + `$`,
			`^$`,
			`^3 hosts: 3 ok, 0 failed, 0 unreachable, 0 skipped in .+$`,
		}
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if len(lines) != len(rows) {
			t.Fatalf("want %d lines, got:\n%s", len(rows), out)
		}
		for i, re := range rows {
			if !regexp.MustCompile(re).MatchString(lines[i]) {
				t.Errorf("line %d %q does not match %s", i, lines[i], re)
			}
		}
		wide, _, _ := flotilla(t, "-i", inv, "-o", "wide", "ps")
		if !strings.Contains(strings.SplitN(wide, "\n", 2)[0], "ID") || !strings.Contains(wide, "sleep 3600") {
			t.Errorf("-o wide lacks ID and COMMAND:\n%s", wide)
		}
	})

	t.Run("env by name and by compose service, masked", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "env.json")
		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "--report", report, "env", "web")
		if code != ExitFailed {
			t.Errorf("exit %d, want 1: host3 has no web; stderr %s", code, errOut)
		}
		var doc envDoc
		decode(t, out, &doc)
		want := map[string]map[string]string{
			"host1": {"APP_MODE": "prod", "DB_PASSWORD": tasks.Masked, "PATH": "/bin"},
			"host2": {"APP_MODE": "staging", "DB_PASSWORD": tasks.Masked, "PATH": "/bin"},
		}
		for _, h := range doc.Hosts {
			if h.Host == "host3" {
				if h.Status != "failed" || !strings.Contains(h.Error, `no container or compose service named "web"`) {
					t.Errorf("host3: %s %q, want failed: no container", h.Status, h.Error)
				}
				continue
			}
			if h.Status != "ok" || len(h.Data) != 1 || h.Data[0].Container != "web" {
				t.Fatalf("%s: %+v", h.Host, h)
			}
			got := map[string]string{}
			for _, v := range h.Data[0].Vars {
				got[v.Key] = v.Value
				if v.Masked != (v.Key == "DB_PASSWORD") {
					t.Errorf("%s: %s masked=%v", h.Host, v.Key, v.Masked)
				}
			}
			if !mapsEqual(got, want[h.Host]) {
				t.Errorf("%s: env %v, want %v", h.Host, got, want[h.Host])
			}
		}
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatalf("report not written on a failed run: %v", err)
		}
		var rep envDoc
		decode(t, string(data), &rep)
		if rep.Summary.Failed != 1 || rep.Summary.OK != 2 || rep.Summary.ExitCode != ExitFailed {
			t.Errorf("report summary %+v", rep.Summary)
		}

		out, _, code = flotilla(t, "-i", inv, "-l", "host1", "env", "api")
		wantRows := "HOST   CONTAINER   VARIABLE   VALUE\n" +
			"host1  shop-api-1  GREETING   hello world\n" +
			"host1  shop-api-1  API_TOKEN  ****\n" +
			"host1  shop-api-1  PATH       /bin\n"
		if code != ExitOK || !strings.HasPrefix(out, wantRows) {
			t.Errorf("env api (compose service): exit %d\n%s\nwant rows\n%s", code, out, wantRows)
		}
	})

	t.Run("env VAR prints one value per host", func(t *testing.T) {
		out, _, code := flotilla(t, "-i", inv, "env", "web", "APP_MODE")
		want := "HOST   CONTAINER  VALUE\nhost1  web        prod\nhost2  web        staging\n\n" +
			"HOST   STATUS  REASON\nhost3  failed  no container or compose service named \"web\" on this host\n"
		if code != ExitFailed || !strings.HasPrefix(out, want) {
			t.Errorf("exit %d\n%s\nwant\n%s", code, out, want)
		}
		out, _, code = flotilla(t, "-i", inv, "-l", "host1", "env", "web", "NOPE")
		if code != ExitFailed || !strings.Contains(out, `NOPE is not set in container "web"`) {
			t.Errorf("unset VAR: exit %d\n%s", code, out)
		}
		_, errOut, code := flotilla(t, "-i", inv, "env", "web", "A=B")
		if code != ExitUsage || !strings.Contains(errOut, "not a variable name") {
			t.Errorf("bad VAR: exit %d %s", code, errOut)
		}
	})

	t.Run("secrets never appear without --show-secrets", func(t *testing.T) {
		dir := t.TempDir()
		runs := [][]string{{"env", "web"}, {"env", "api"}, {"env", "web", "DB_PASSWORD"}, {"env", "shop-api-1", "API_TOKEN"}}
		for _, format := range []string{"table", "wide", "json", "jsonl"} {
			for _, logFormat := range []string{"text", "json"} {
				for _, r := range runs {
					report := filepath.Join(dir, "report.json")
					args := append([]string{"-i", inv, "-v", "-o", format, "--log-format", logFormat, "--report", report}, r...)
					out, errOut, _ := flotilla(t, args...)
					data, err := os.ReadFile(report)
					if err != nil {
						t.Fatal(err)
					}
					for _, secret := range []string{dbPassword, apiToken} {
						for name, text := range map[string]string{"stdout": out, "stderr": errOut, "report": string(data)} {
							if strings.Contains(text, secret) {
								t.Errorf("%v: the secret is in %s:\n%s", args, name, text)
							}
						}
					}
					if !strings.Contains(out+string(data), tasks.Masked) {
						t.Errorf("%v: no masked value shown:\n%s", args, out)
					}
				}
			}
		}
		// The check above could fail: with --show-secrets the values are there.
		out, _, _ := flotilla(t, "-i", inv, "-o", "jsonl", "env", "--show-secrets", "web")
		if !strings.Contains(out, dbPassword) {
			t.Errorf("--show-secrets does not show the value:\n%s", out)
		}
	})

	t.Run("images filter, dangling only with -a", func(t *testing.T) {
		out, _, code := flotilla(t, "-i", inv, "-o", "json", "images", "--filter", "lab/app:*", "--filter", "drift/*")
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		var doc imagesDoc
		decode(t, out, &doc)
		want := map[string][]string{
			"host1": {l.Image(lab.ImageApp1), "drift/app:1"},
			"host2": {l.Image(lab.ImageApp2), "drift/app:1"},
			"host3": {l.Image(lab.ImageApp1)},
		}
		for i, h := range doc.Hosts {
			if got := refs(doc, i); !slices.Equal(got, want[h.Host]) {
				t.Errorf("%s: %v, want %v", h.Host, got, want[h.Host])
			}
		}
		plain, _, _ := flotilla(t, "-i", inv, "-l", "host3", "images")
		all, _, _ := flotilla(t, "-i", inv, "-l", "host3", "images", "-a")
		if strings.Contains(plain, "<none>") || !strings.Contains(all, "host3  <none>:<none>") {
			t.Errorf("dangling image: without -a\n%s\nwith -a\n%s", plain, all)
		}
		_, errOut, code := flotilla(t, "-i", inv, "images", "--filter", "")
		if code != ExitUsage || !strings.Contains(errOut, "empty image filter") {
			t.Errorf("empty filter: exit %d %s", code, errOut)
		}
	})

	t.Run("images --by image shows hosts and drift", func(t *testing.T) {
		out, _, code := flotilla(t, "-i", inv, "images", "--by", "image")
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		want := []string{
			"IMAGE HOSTS IDS DRIFT ON",
			l.Image(lab.ImageApp1) + " 2 1 no host1,host3",
			l.Image(lab.ImageApp2) + " 1 1 no host2",
			l.Image(lab.ImageBusybox) + " 3 1 no host1,host2,host3",
			l.Image(lab.ImageTool) + " 1 1 no host1",
		}
		lines := strings.Split(out, "\n")
		var got []string
		for _, line := range lines {
			f := strings.Join(strings.Fields(line), " ")
			if strings.HasPrefix(f, "drift/app:1 ") {
				if !regexp.MustCompile(`^drift/app:1 2 2 DRIFT host1=[0-9a-f]{12},host2=[0-9a-f]{12}$`).MatchString(f) {
					t.Errorf("drift row: %q", f)
				}
				continue
			}
			if f == "" || strings.HasPrefix(f, "3 hosts:") {
				continue
			}
			got = append(got, f)
		}
		if !slices.Equal(got, want) || !strings.Contains(out, "drift/app:1") {
			t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		js, _, _ := flotilla(t, "-i", inv, "-o", "json", "images", "--by", "image")
		var doc struct{ Fleet []tasks.ImageSpread }
		decode(t, js, &doc)
		drifted := 0
		for _, s := range doc.Fleet {
			if s.Drift {
				drifted++
			}
		}
		if len(doc.Fleet) != 5 || drifted != 1 {
			t.Errorf("fleet: %d refs, %d drifted, want 5 and 1", len(doc.Fleet), drifted)
		}
	})

	t.Run("quiet prints only failures and the summary", func(t *testing.T) {
		out, errOut, code := flotilla(t, "-i", inv, "-q", "env", "web")
		if code != ExitFailed || strings.Contains(out, "APP_MODE") || !strings.Contains(out, "host3  failed") ||
			!strings.Contains(out, "3 hosts: 2 ok, 1 failed") {
			t.Errorf("exit %d\nstdout:\n%s", code, out)
		}
		if strings.Contains(errOut, "host1") || !strings.Contains(errOut, "flotilla: host3: failed: ") {
			t.Errorf("stderr must carry the failure only:\n%s", errOut)
		}
	})

	t.Run("progress on a terminal", func(t *testing.T) {
		for _, noColor := range []string{"", "1"} {
			t.Setenv("NO_COLOR", noColor)
			t.Setenv("TERM", "xterm")
			ptmx, tty, err := pty.Open()
			if err != nil {
				t.Fatal(err)
			}
			pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120})
			seen := make(chan []byte)
			go func() {
				b, _ := io.ReadAll(ptmx) // ends with EIO once the tty side is closed
				seen <- b
			}()
			var out bytes.Buffer
			code := run(context.Background(), newIOStreams(strings.NewReader(""), &out, tty), []string{"-i", inv, "env", "web"})
			tty.Close()
			var b []byte
			select {
			case b = <-seen:
			case <-time.After(30 * time.Second):
				t.Fatal("no EOF from the pty")
			}
			ptmx.Close()
			got := string(b)
			if code != ExitFailed {
				t.Errorf("exit %d", code)
			}
			for _, want := range []string{clearLine, "/3 done, ", " running, ", "flotilla: host3: ", "failed", "flotilla: host1: "} {
				if !strings.Contains(got, want) {
					t.Errorf("NO_COLOR=%q: terminal lacks %q:\n%q", noColor, want, got)
				}
			}
			if !strings.HasSuffix(got, clearLine) {
				t.Errorf("the progress line is not cleared at the end: %q", got)
			}
			if colored := strings.Contains(got, "\x1b[31m"); colored != (noColor == "") {
				t.Errorf("NO_COLOR=%q: colour shown %v:\n%q", noColor, colored, got)
			}
			if strings.Contains(out.String(), "\x1b") {
				t.Errorf("stdout got escapes: %q", out.String())
			}
		}
	})

	t.Run("off a terminal no control characters", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		seen := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(r)
			seen <- b
		}()
		outR, outW, _ := os.Pipe()
		outSeen := make(chan []byte)
		go func() {
			b, _ := io.ReadAll(outR)
			outSeen <- b
		}()
		code := run(context.Background(), newIOStreams(strings.NewReader(""), outW, w), []string{"-i", inv, "-v", "env", "web"})
		w.Close()
		outW.Close()
		errb, outb := <-seen, <-outSeen
		r.Close()
		outR.Close()
		if code != ExitFailed || !strings.Contains(string(errb), "flotilla: host3: failed") {
			t.Errorf("exit %d, stderr %q", code, errb)
		}
		for name, b := range map[string][]byte{"stderr": errb, "stdout": outb} {
			for _, c := range b {
				if (c < 0x20 && c != '\n') || c == 0x7f {
					t.Errorf("%s has control character %#x:\n%q", name, c, b)
					break
				}
			}
		}
	})

	t.Run("completion of --limit", func(t *testing.T) {
		out, _, code := flotilla(t, "__complete", "-i", inv, "ps", "--limit", "host1,h")
		if code != ExitOK || !strings.Contains(out, "host1,host2\n") || !strings.Contains(out, "host1,host3\n") {
			t.Errorf("exit %d:\n%s", code, out)
		}
		out, _, _ = flotilla(t, "completion", "bash")
		if !strings.Contains(out, "__start_flotilla") {
			t.Errorf("no bash completion script:\n%.200s", out)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestLabUnattended covers --lock, --report and --metrics against a real lab.
func TestLabUnattended(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 3})
	inv := l.Inventory
	dir := t.TempDir()

	t.Run("a second run exits 3 naming the holder; a killed holder leaves no lock", func(t *testing.T) {
		lock := filepath.Join(dir, "run.lock")
		// The holder waits on a frozen sshd: TCP is accepted, no banner comes.
		slow := filepath.Join(dir, "slow.toml")
		data, _ := os.ReadFile(inv)
		os.WriteFile(slow, bytes.Replace(data, []byte(`connect_timeout = "5s"`), []byte(`connect_timeout = "120s"`), 1), 0o644)
		frozen := l.Hosts[2]
		if err := frozen.Freeze(); err != nil {
			t.Fatal(err)
		}
		defer frozen.Thaw()

		holder := exec.Command(os.Args[0], "-i", slow, "-l", frozen.Name, "--timeout", "120s", "--lock", lock, "check")
		holder.Env = append(os.Environ(), "FLOTILLA_TEST_MAIN=1")
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		defer holder.Process.Kill()
		pid := strconv.Itoa(holder.Process.Pid)
		for i := 0; i < 200; i++ {
			if b, _ := os.ReadFile(lock); strings.TrimSpace(string(b)) == pid {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if b, _ := os.ReadFile(lock); strings.TrimSpace(string(b)) != pid {
			t.Fatalf("the holder did not write its pid %s into the lock file: %q", pid, b)
		}

		before := accepted(t, l)
		out, errOut, code := flotilla(t, "-i", inv, "-l", "host1", "--lock", lock, "images")
		if code != ExitLocked || !strings.Contains(errOut, "pid "+pid) || out != "" {
			t.Errorf("second run: exit %d, stderr %q, stdout %q; want 3 naming pid %s", code, errOut, out, pid)
		}
		if after := accepted(t, l); after[0] != before[0] {
			t.Errorf("the locked-out run connected to host1")
		}

		// Asking for a completion script never waits for the lock.
		if out, _, code := flotilla(t, "--lock", lock, "completion", "fish"); code != ExitOK || out == "" {
			t.Errorf("completion under a held lock: exit %d", code)
		}

		if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		holder.Wait()
		_, errOut, code = flotilla(t, "-i", inv, "-l", "host1", "--lock", lock, "images")
		if code != ExitOK {
			t.Errorf("after the holder was killed: exit %d: %s", code, errOut)
		}
	})

	type metric struct {
		success, duration float64
	}
	readMetrics := func(t *testing.T, path string) (map[string]metric, map[string]float64) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(f)
		if err != nil {
			t.Fatalf("metrics do not parse: %v", err)
		}
		hosts := map[string]metric{}
		for _, name := range []string{"flotilla_host_success", "flotilla_host_duration_seconds"} {
			for _, m := range fams[name].GetMetric() {
				var host, command string
				for _, lp := range m.GetLabel() {
					switch lp.GetName() {
					case "host":
						host = lp.GetValue()
					case "command":
						command = lp.GetValue()
					}
				}
				if command != "images" {
					t.Errorf("%s: command label %q", name, command)
				}
				h := hosts[host]
				if name == "flotilla_host_success" {
					h.success = m.GetGauge().GetValue()
				} else {
					h.duration = m.GetGauge().GetValue()
				}
				hosts[host] = h
			}
		}
		run := map[string]float64{}
		for _, name := range []string{"flotilla_run_end_timestamp_seconds", "flotilla_run_exit_code"} {
			if ms := fams[name].GetMetric(); len(ms) == 1 {
				run[name] = ms[0].GetGauge().GetValue()
			} else {
				t.Errorf("%s: %d series", name, len(ms))
			}
		}
		return hosts, run
	}

	t.Run("report and metrics on success and on partial failure", func(t *testing.T) {
		report, metrics := filepath.Join(dir, "images.json"), filepath.Join(dir, "images.prom")
		for _, stopped := range []bool{false, true} {
			if stopped {
				if err := l.Hosts[1].Stop(); err != nil {
					t.Fatal(err)
				}
				defer l.Hosts[1].Start()
			}
			began := time.Now()
			out, errOut, code := flotilla(t, "-i", inv, "-o", "jsonl", "--report", report, "--metrics", metrics, "images")
			wantCode := ExitOK
			if stopped {
				wantCode = ExitUnreachable
			}
			if code != wantCode {
				t.Fatalf("stopped=%v: exit %d, want %d: %s", stopped, code, wantCode, errOut)
			}
			data, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("report: %v", err)
			}
			var doc imagesDoc
			decode(t, string(data), &doc)
			if len(doc.Hosts) != 3 {
				t.Fatalf("report has %d hosts", len(doc.Hosts))
			}
			for _, h := range doc.Hosts {
				want := "ok"
				if stopped && h.Host == "host2" {
					want = "unreachable"
				}
				if h.Status != want {
					t.Errorf("stopped=%v: report: %s %s, want %s", stopped, h.Host, h.Status, want)
				}
			}
			if n := strings.Count(out, `"type":"host"`); n != 3 {
				t.Errorf("jsonl has %d host lines", n)
			}
			hosts, runM := readMetrics(t, metrics)
			for _, name := range []string{"host1", "host2", "host3"} {
				want := 1.0
				if stopped && name == "host2" {
					want = 0
				}
				if m, ok := hosts[name]; !ok || m.success != want || m.duration <= 0 {
					t.Errorf("stopped=%v: metrics %s = %+v, want success %v and a duration", stopped, name, m, want)
				}
			}
			if end := runM["flotilla_run_end_timestamp_seconds"]; end < float64(began.Unix()) || end > float64(time.Now().Unix()+1) {
				t.Errorf("end timestamp %v not in the run", end)
			}
			if runM["flotilla_run_exit_code"] != float64(wantCode) {
				t.Errorf("exit code metric %v", runM["flotilla_run_exit_code"])
			}
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file left behind: %s", e.Name())
			}
		}
	})

	t.Run("an interrupted run still writes its report and metrics", func(t *testing.T) {
		slow := filepath.Join(dir, "slow.toml") // written by the lock subtest: connect_timeout 120s
		frozen := l.Hosts[2]
		if err := frozen.Freeze(); err != nil {
			t.Fatal(err)
		}
		defer frozen.Thaw()
		report, metrics := filepath.Join(dir, "interrupted.json"), filepath.Join(dir, "interrupted.prom")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The frozen host keeps the run going until the cancel, like a Ctrl-C.
		time.AfterFunc(time.Second, cancel)
		var out, errOut bytes.Buffer
		streams := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, TermWidth: 80}
		code := run(ctx, streams, []string{"-i", slow, "--timeout", "120s", "--report", report, "--metrics", metrics, "images"})
		if code != ExitInterrupted {
			t.Errorf("exit %d, want %d; stderr %s", code, ExitInterrupted, errOut.String())
		}
		var doc struct {
			Hosts []struct {
				Host, Status string
			}
			Summary summary
		}
		data, err := os.ReadFile(report)
		if err != nil {
			t.Fatalf("no report after an interrupt: %v", err)
		}
		decode(t, string(data), &doc)
		if doc.Summary.ExitCode != ExitInterrupted || doc.Summary.Total != 3 {
			t.Errorf("report summary %+v", doc.Summary)
		}
		for _, h := range doc.Hosts {
			if h.Host == frozen.Name && h.Status == "ok" {
				t.Errorf("the frozen host is ok in the report")
			}
		}
		if _, run := readMetrics(t, metrics); run["flotilla_run_exit_code"] != ExitInterrupted {
			t.Errorf("metrics exit code %v", run["flotilla_run_exit_code"])
		}
	})

	t.Run("a missing report directory is a usage error before connecting", func(t *testing.T) {
		before := accepted(t, l)
		_, errOut, code := flotilla(t, "-i", inv, "--report", filepath.Join(dir, "nope", "r.json"), "images")
		if code != ExitUsage || !strings.Contains(errOut, "no such directory") {
			t.Errorf("exit %d: %s", code, errOut)
		}
		if after := accepted(t, l); !slices.Equal(before, after) {
			t.Errorf("connected anyway")
		}
	})

	t.Run("json logs are one object per line", func(t *testing.T) {
		_, errOut, code := flotilla(t, "-i", inv, "--log-format", "json", "-q", "check")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if len(lines) != 4 {
			t.Errorf("want 3 host records and a run record:\n%s", errOut)
		}
		for _, line := range lines {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
				t.Errorf("not a slog JSON record: %q", line)
			}
		}
	})
}
