// Package bench measures flotilla against reference tools on a lab fleet
// (make bench). A Case is one scenario: flotilla's command (the subject) and
// the references it is compared with, each a command run as a child process
// whose wall time, CPU time (user+sys from its rusage) and peak RSS are
// recorded. Runs alternate subject and references so that the noise of a
// shared machine falls on all of them alike; the table shows medians and the
// ratio of flotilla's wall time to each reference's from the same run.
package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Variant is one tool in a case: flotilla or a reference.
type Variant struct {
	Tool string // "flotilla", "docker CLI", "ssh true", "minimal", ...
	// Prepare runs before each sample, untimed (e.g. remove the pulled image).
	Prepare func(ctx context.Context) error
	Cmd     Command
	// NoWarmup leaves the tool out of the warm-up rounds: for references
	// that take minutes at N=200 and whose binaries earlier cases warmed.
	NoWarmup bool
	// Target is the goal for flotilla's wall time divided by this
	// reference's ("ratio <= Target"); 0 means none. Unused on the subject.
	Target float64
}

// Case is one scenario: a subject and its references.
type Case struct {
	Group   string // "check", "images", "pull", "backup", "per-host"
	Name    string // e.g. "check N=50 forks=32"
	N       int    // hosts
	Forks   int
	Subject Variant
	Refs    []Variant
	// Unavailable, when set, says why the case cannot run in this build; it is
	// reported instead of measured.
	Unavailable string
	// Metrics derives case-specific figures (per-host CPU, handshake, MB/s)
	// from the measured samples; may be nil.
	Metrics func(r *CaseResult) []Metric
}

// Metric is one derived figure with its target, if any.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Target string  `json:"target,omitempty"` // e.g. "< 3"
	Met    *bool   `json:"met,omitempty"`
}

// Options says how many times to run each case.
type Options struct {
	Warmup int // unmeasured runs of every variant first
	Runs   int // measured runs of every variant, alternating
	Log    io.Writer
}

// Run measures a case: Warmup rounds, then Runs rounds of subject and each
// reference in turn. A failing sample fails the case (a benchmark of a
// broken command measures nothing).
func Run(ctx context.Context, c Case, opt Options) (*CaseResult, error) {
	res := &CaseResult{Group: c.Group, Name: c.Name, N: c.N, Forks: c.Forks}
	if c.Unavailable != "" {
		res.Unavailable = c.Unavailable
		return res, nil
	}
	variants := append([]Variant{c.Subject}, c.Refs...)
	samples := make([][]Sample, len(variants))
	for round := 0; round < opt.Warmup+opt.Runs; round++ {
		for i, v := range variants {
			if round < opt.Warmup && v.NoWarmup {
				continue
			}
			if v.Prepare != nil {
				if err := v.Prepare(ctx); err != nil {
					return nil, fmt.Errorf("%s: %s: prepare: %w", c.Name, v.Tool, err)
				}
			}
			s, err := Measure(ctx, v.Cmd)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", c.Name, v.Tool, err)
			}
			if round >= opt.Warmup {
				samples[i] = append(samples[i], s)
			}
			if opt.Log != nil {
				fmt.Fprintf(opt.Log, "bench: %s: %s: %s\n", c.Name, v.Tool, s)
			}
		}
	}
	for i, v := range variants {
		vr := summarize(v.Tool, samples[i])
		if i == 0 {
			res.Subject = vr
			continue
		}
		vr.Ratio = Ratio(res.Subject.WallMS, vr.WallMS)
		if v.Target > 0 {
			vr.Target = v.Target
			met := vr.Ratio <= v.Target
			vr.Met = &met
		}
		res.Refs = append(res.Refs, vr)
	}
	if c.Metrics != nil {
		res.Metrics = c.Metrics(res)
	}
	return res, nil
}

// CaseResult is a measured case.
type CaseResult struct {
	Group       string          `json:"group"`
	Name        string          `json:"name"`
	N           int             `json:"n,omitempty"`
	Forks       int             `json:"forks,omitempty"`
	Unavailable string          `json:"unavailable,omitempty"`
	Subject     VariantResult   `json:"subject"`
	Refs        []VariantResult `json:"references,omitempty"`
	Metrics     []Metric        `json:"metrics,omitempty"`
}

// VariantResult is the medians of one tool's samples.
type VariantResult struct {
	Tool      string   `json:"tool"`
	WallMS    float64  `json:"wall_ms"`     // median
	CPUMS     float64  `json:"cpu_ms"`      // median user+sys
	MaxRSSMiB float64  `json:"max_rss_mib"` // median of per-run peaks
	Ratio     float64  `json:"ratio,omitempty"`
	Target    float64  `json:"target,omitempty"`
	Met       *bool    `json:"met,omitempty"`
	Samples   []Sample `json:"samples"`
}

func summarize(tool string, samples []Sample) VariantResult {
	var wall, cpu, rss []float64
	for _, s := range samples {
		wall = append(wall, ms(s.Wall))
		cpu = append(cpu, ms(s.CPU))
		rss = append(rss, float64(s.MaxRSS)/(1<<20))
	}
	return VariantResult{Tool: tool, WallMS: Median(wall), CPUMS: Median(cpu), MaxRSSMiB: Median(rss), Samples: samples}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Bool returns a pointer to b, for Metric.Met.
func Bool(b bool) *bool { return &b }
