package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"flotilla/tasks"
)

var update = flag.Bool("update", false, "rewrite golden files")

// jsonKeys lists every key path of a JSON value: "hosts[].data[].ref".
func jsonKeys(prefix string, v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			jsonKeys(p, e, out)
		}
	case []any:
		for _, e := range v {
			jsonKeys(prefix+"[]", e, out)
		}
	}
}

func keysOf(t *testing.T, data []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	set := map[string]bool{}
	jsonKeys("", v, set)
	var keys []string
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sampleResults is one ok host with data and one unreachable host.
func sampleResults(data any) []tasks.Result {
	return []tasks.Result{
		{Host: "web1", Status: tasks.StatusOK, Duration: 41 * time.Millisecond, Data: data},
		{Host: "web2", Status: tasks.StatusUnreachable, Error: "host unreachable", Hint: "is sshd running?", Duration: time.Millisecond},
	}
}

// TestJSONShape pins the keys of -o json and -o jsonl for every command in
// testdata/json-shape.golden: the README promises fields are only added.
// After adding a field on purpose: go test ./cmd/flotilla -run TestJSONShape -update
func TestJSONShape(t *testing.T) {
	samples := []struct {
		command string
		data    any
		v       view
	}{
		{"check", &tasks.CheckResult{}, checkView},
		{"images", []tasks.Image{{}}, imagesView},
		{"images --by image", []tasks.Image{{Ref: "x:1"}}, view{fleet: imagesByRef}},
		{"ps", []tasks.Container{{Ports: []string{"80/tcp"}}}, psView},
		{"env", []tasks.ContainerEnv{{Vars: []tasks.EnvVar{{}}}}, envView},
	}
	var b strings.Builder
	for _, s := range samples {
		results := sampleResults(s.data)
		sum := summarize(results, time.Second)
		doc, _ := json.Marshal(newDocument(s.command, time.Now(), s.v, results, sum))
		fmt.Fprintf(&b, "== %s: -o json\n%s\n", s.command, strings.Join(keysOf(t, doc), "\n"))

		var out bytes.Buffer
		opts := &globalOptions{Output: "jsonl", LogFormat: "text", logger: newLogger(&IOStreams{ErrOut: &out}, &globalOptions{})}
		p := newPrinter(&IOStreams{Out: &out, ErrOut: &out}, opts, s.command, s.v)
		for _, r := range results {
			p.hostDone(r)
		}
		p.finish(results, sum)
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var typ struct{ Type string }
			json.Unmarshal([]byte(line), &typ)
			fmt.Fprintf(&b, "== %s: -o jsonl, type %s\n%s\n", s.command, typ.Type, strings.Join(keysOf(t, []byte(line)), "\n"))
		}
	}
	golden := filepath.Join("testdata", "json-shape.golden")
	if *update {
		os.WriteFile(golden, []byte(b.String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("JSON shape changed; fields may only be added (then run with -update).\ngot:\n%s", got)
	}
}

func TestTableFitsWidth(t *testing.T) {
	tb := newTable([]string{"HOST", "IMAGE", "STATUS", "ID"})
	tb.add([]string{"web1", strings.Repeat("registry.example.com/team/", 3) + "app:1", "Up 3 minutes", "3c942fd77d78"})
	tb.add([]string{"db-primary", "postgres:16", "Exited (0) 2 hours ago with a long tail of words", "e5d628d46f23"})
	tb.fit(80)
	var out strings.Builder
	tb.write(&out)
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line of %d runes does not fit 80:\n%s", n, line)
		}
		if !strings.HasPrefix(line, "HOST") && !strings.HasPrefix(line, "web1 ") && !strings.HasPrefix(line, "db-primary ") {
			t.Errorf("host column was cut: %q", line)
		}
	}
	for _, whole := range []string{"postgres:16", "3c942fd77d78", "e5d628d46f23", "/team/app:1", "registry.exa"} {
		if !strings.Contains(out.String(), whole) {
			t.Errorf("want ids, short cells and both ends of a cut cell whole (%q):\n%s", whole, out.String())
		}
	}
	if strings.Count(out.String(), "…") != 2 {
		t.Errorf("want the long image and the long status cut:\n%s", out.String())
	}
}

func TestTableEscapesControlCharacters(t *testing.T) {
	tb := newTable([]string{"HOST", "VALUE"})
	tb.add([]string{"web1", "a\x1b[2Jb\nc"})
	var out strings.Builder
	tb.write(&out)
	if strings.ContainsAny(out.String(), "\x1b\r") || !strings.Contains(out.String(), `a\x1b[2Jb\nc`) {
		t.Errorf("control characters must be escaped: %q", out.String())
	}
}

func TestMetricsParse(t *testing.T) {
	results := sampleResults(nil)
	results[0].Host = `odd"host\name`
	sum := summarize(results, 2*time.Second)
	sum.ExitCode = sum.exitCode()
	end := time.Unix(1700000000, 500e6)
	text := metricsText("images", results, sum, end)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, text)
	}
	success := map[string]float64{}
	for _, m := range fams["flotilla_host_success"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		success[labels["host"]] = m.GetGauge().GetValue()
	}
	if success[`odd"host\name`] != 1 || success["web2"] != 0 || len(success) != 2 {
		t.Errorf("flotilla_host_success = %v", success)
	}
	if v := fams["flotilla_run_end_timestamp_seconds"].GetMetric()[0].GetGauge().GetValue(); v != 1700000000.5 {
		t.Errorf("end timestamp %v", v)
	}
	if v := fams["flotilla_run_exit_code"].GetMetric()[0].GetGauge().GetValue(); v != ExitUnreachable {
		t.Errorf("exit code %v", v)
	}
}

func TestStatusWriterOffTerminalIsPlain(t *testing.T) {
	var out bytes.Buffer
	w := &statusWriter{w: &out}
	fmt.Fprintln(w, "flotilla: web1: failed: boom")
	if out.String() != "flotilla: web1: failed: boom\n" {
		t.Errorf("without a status line the writer must pass bytes through: %q", out.String())
	}
	w.setStatus("1/2 done")
	fmt.Fprintln(w, "line")
	w.clearStatus()
	if want := "flotilla: web1: failed: boom\n" + clearLine + "1/2 done" + clearLine + "line\n1/2 done" + clearLine; out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}
