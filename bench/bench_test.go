package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1000}, 10}, // one outlier does not move it
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Errorf("Median sorted its input in place: %v", in)
	}
}

func TestRatio(t *testing.T) {
	if got := Ratio(50, 200); got != 0.25 {
		t.Errorf("Ratio(50, 200) = %v", got)
	}
	if got := Ratio(50, 0); got != 0 {
		t.Errorf("Ratio(50, 0) = %v, want 0 (no ratio)", got)
	}
}

func TestWriteTable(t *testing.T) {
	results := []*CaseResult{
		{
			Name:    "images N=10 forks=10",
			Subject: VariantResult{Tool: "flotilla", WallMS: 100, CPUMS: 20, MaxRSSMiB: 15.5},
			Refs: []VariantResult{
				{Tool: "docker CLI", WallMS: 1000, Ratio: 0.1, Target: 0.2, Met: Bool(true)},
				{Tool: "ssh true", WallMS: 80, Ratio: 1.25, Target: 1, Met: Bool(false)},
				{Tool: "minimal", WallMS: 90, Ratio: 1.11},
			},
			Metrics: []Metric{{Name: "flotilla cpu/host", Value: 2, Unit: "ms", Target: "< 3", Met: Bool(true)}},
		},
		{Name: "pull 50 MiB N=3", Unavailable: notAvailable},
		{Name: "scaling images forks=N", Metrics: []Metric{{Name: "wall N=50 / N=10", Value: 6.5, Unit: "x", Target: "<= 5", Met: Bool(false)}}},
	}
	var b strings.Builder
	if err := WriteTable(&b, results); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 8 {
		t.Fatalf("want 8 lines (header, 4 tool rows, 1 metric, 1 unavailable, 1 scaling), got %d:\n%s", len(lines), out)
	}
	for _, want := range []string{
		"images N=10 forks=10", "flotilla",
		"docker CLI", "0.10x", "<= 0.2 ok",
		"1.25x", "<= 1 MISSED",
		"flotilla cpu/host", "2 ms", "< 3 ok",
		"pull 50 MiB N=3", "not available in this build",
		"scaling images forks=N", "6.5 x", "<= 5 MISSED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Columns align: every "TOOL" cell starts at the same offset.
	col := strings.Index(lines[0], "TOOL")
	if !strings.HasPrefix(lines[2][col:], "docker CLI") {
		t.Errorf("tool column not aligned:\n%s", out)
	}
	// The minimal row has no target.
	if strings.Contains(lines[4], "<=") {
		t.Errorf("row without target shows one: %q", lines[4])
	}
}

func TestFirstHosts(t *testing.T) {
	inv := "[defaults]\nuser = \"root\"\n\n[[host]]\nname = \"a\"\n\n[[host]]\nname = \"b\"\n\n[[host]]\nname = \"c\"\n"
	got, err := firstHosts(inv, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, `"a"`) || !strings.Contains(got, `"b"`) || strings.Contains(got, `"c"`) || !strings.HasPrefix(got, "[defaults]") {
		t.Errorf("firstHosts(2) = %q", got)
	}
	if _, err := firstHosts(inv, 4); err == nil {
		t.Error("firstHosts(4) of 3 hosts: no error")
	}
}

func TestScaling(t *testing.T) {
	mk := func(n, forks int, wall float64) *CaseResult {
		return &CaseResult{Group: "check", N: n, Forks: forks, Subject: VariantResult{WallMS: wall}}
	}
	out := Scaling([]*CaseResult{mk(10, 10, 100), mk(50, 50, 600), mk(50, 32, 1), mk(200, 200, 1200), mk(200, 32, 1)})
	if len(out) != 1 || len(out[0].Metrics) != 2 {
		t.Fatalf("Scaling = %+v", out)
	}
	m := out[0].Metrics
	if m[0].Value != 6 || *m[0].Met || m[0].Target != "<= 5" {
		t.Errorf("N=50/N=10 = %+v, want 6, missed, <= 5", m[0])
	}
	if m[1].Value != 2 || !*m[1].Met {
		t.Errorf("N=200/N=50 = %+v, want 2, met", m[1])
	}
}

func TestFlotillaHandshakeMS(t *testing.T) {
	doc := `{"command":"check","hosts":[{"host":"a","data":{"ssh_handshake_ms":3}},{"host":"b","data":{"ssh_handshake_ms":9}},{"host":"c","data":{"ssh_handshake_ms":4}}]}`
	got, err := flotillaHandshakeMS([]byte(doc))
	if err != nil || got != 4 {
		t.Errorf("flotillaHandshakeMS = %v, %v; want 4", got, err)
	}
}

func TestReadTimeRSS(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rss")
	if err := os.WriteFile(p, []byte("Command exited with non-zero status 1\n2048\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if kb, err := readTimeRSS(p); err != nil || kb != 2048 {
		t.Errorf("readTimeRSS = %d, %v", kb, err)
	}
	if err := os.WriteFile(p, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readTimeRSS(p); err == nil {
		t.Error("readTimeRSS(garbage): no error")
	}
}

// TestRunAlternates checks the order of runs (warm-up first, then subject and
// reference in turn), that prepare runs before each, and the ratio, with
// shell commands standing in for the tools.
func TestRunAlternates(t *testing.T) {
	dir := t.TempDir()
	logf := filepath.Join(dir, "log")
	step := func(name string) Command {
		return Command{Argv: []string{"sh", "-c", "echo " + name + " >> " + logf}}
	}
	prepared := 0
	c := Case{
		Name:    "fake",
		Subject: Variant{Tool: "a", Cmd: step("a"), Prepare: func(context.Context) error { prepared++; return nil }},
		Refs:    []Variant{{Tool: "b", Cmd: step("b"), Target: 1e9}},
		Metrics: func(r *CaseResult) []Metric {
			return []Metric{{Name: "samples", Value: float64(len(r.Subject.Samples))}}
		},
	}
	r, err := Run(context.Background(), c, Options{Warmup: 1, Runs: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(logf)
	if got := strings.Fields(string(b)); strings.Join(got, "") != "ababab" {
		t.Errorf("run order %v, want a b a b a b", got)
	}
	if prepared != 3 {
		t.Errorf("prepare ran %d times, want 3", prepared)
	}
	// A NoWarmup reference runs only in the measured rounds.
	_ = os.Remove(logf)
	c.Refs[0].NoWarmup = true
	if _, err := Run(context.Background(), c, Options{Warmup: 1, Runs: 2}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(logf)
	if got := strings.Fields(string(b)); strings.Join(got, "") != "aabab" {
		t.Errorf("run order with NoWarmup %v, want a a b a b", got)
	}
	if prepared != 6 {
		t.Errorf("prepare ran %d times, want 3", prepared)
	}
	if len(r.Subject.Samples) != 2 || len(r.Refs[0].Samples) != 2 || r.Metrics[0].Value != 2 {
		t.Errorf("want 2 measured samples each (warm-up dropped), got %d, %d", len(r.Subject.Samples), len(r.Refs[0].Samples))
	}
	if r.Refs[0].Ratio <= 0 || r.Refs[0].Met == nil || !*r.Refs[0].Met {
		t.Errorf("ratio %v met %v", r.Refs[0].Ratio, r.Refs[0].Met)
	}
	if r.Subject.WallMS <= 0 || r.Subject.Samples[0].Wall < time.Microsecond {
		t.Errorf("no wall time measured: %+v", r.Subject)
	}

	c.Refs[0].Cmd = Command{Argv: []string{"sh", "-c", "echo broken >&2; exit 3"}}
	if _, err := Run(context.Background(), c, Options{Runs: 1}); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("a failing reference: err = %v, want one carrying its stderr", err)
	}
	if r, err := Run(context.Background(), Case{Name: "x", Unavailable: notAvailable}, Options{Runs: 1}); err != nil || r.Unavailable != notAvailable {
		t.Errorf("unavailable case: %+v, %v", r, err)
	}
}
