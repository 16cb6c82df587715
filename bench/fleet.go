package bench

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Targets of the issue (make bench): see README's Performance section.
const (
	targetVsDocker  = 0.2 // at least 5x faster than the docker CLI over ssh
	targetVsSSH     = 1.0 // no slower than `ssh HOST true`
	targetVsMinimal = 1.2 // within 1.2x of the minimal x/crypto/ssh program at N=200
	targetCPUPerMS  = 3.0 // flotilla CPU per host, ms
	targetRSSMiB    = 60.0
	largeN          = 200 // where the N=200 targets apply
)

// FleetCases are case 1: `check` and `images` on the first n hosts for each
// n, at forks = n and forks = 32, against the docker CLI over ssh and `ssh
// HOST true` fanned out by xargs -P at the same concurrency, and the minimal
// program.
func FleetCases(e *Env, command string, ns []int) ([]Case, error) {
	var out []Case
	for _, n := range ns {
		forkss := []int{n}
		if n > 32 {
			forkss = append(forkss, 32)
		}
		for _, forks := range forkss {
			c, err := fleetCase(e, command, n, forks)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func fleetCase(e *Env, command string, n, forks int) (Case, error) {
	inv, err := e.Inventory(strconv.Itoa(n), n, "")
	if err != nil {
		return Case{}, err
	}
	targets, err := e.Targets(n)
	if err != nil {
		return Case{}, err
	}
	hs, _ := e.hosts(n)
	var names, dockerURLs strings.Builder
	for _, h := range hs {
		names.WriteString(h.Name + "\n")
		dockerURLs.WriteString("ssh://" + h.Name + h.Engine.Socket + "\n")
	}
	// The same Engine call flotilla's task makes: /info for check, /images/json for images.
	dockerArgs, call := []string{"image", "ls"}, "images"
	if command == "check" {
		dockerArgs, call = []string{"info", "--format", "{{.ServerVersion}}"}, "info"
	}
	p := strconv.Itoa(forks)
	minTarget := 0.0
	if n >= largeN {
		minTarget = targetVsMinimal
	}
	c := Case{
		Group: command, Name: fmt.Sprintf("%s N=%d forks=%d", command, n, forks), N: n, Forks: forks,
		Subject: Variant{Tool: "flotilla", Cmd: Command{Argv: []string{e.Flotilla, "-i", inv, "-f", p, command}}},
		Refs: []Variant{
			{Tool: "docker CLI", Target: targetVsDocker, NoWarmup: true, Cmd: Command{
				Argv:  append([]string{"xargs", "-P", p, "-I{}", e.Docker, "-H", "{}"}, dockerArgs...),
				Stdin: dockerURLs.String(), Env: e.refEnv()}},
			{Tool: "ssh true", Target: targetVsSSH, NoWarmup: true, Cmd: Command{
				Argv:  []string{"xargs", "-P", p, "-I{}", "ssh", "-F", e.Lab.SSHConfig, "{}", "true"},
				Stdin: names.String()}},
			{Tool: "minimal", Target: minTarget, Cmd: Command{
				Argv: []string{e.Minimal, "-targets", targets, "-identity", e.Lab.IdentityFile,
					"-known-hosts", e.Lab.KnownHosts, "-forks", p, "-call", call}}},
		},
		Metrics: func(r *CaseResult) []Metric { return costMetrics(r, n) },
	}
	return c, nil
}

// costMetrics: flotilla's own CPU per host and, at N=200, its peak RSS,
// against the targets.
func costMetrics(r *CaseResult, n int) []Metric {
	perHost := r.Subject.CPUMS / float64(n)
	m := []Metric{{Name: "flotilla cpu/host", Value: perHost, Unit: "ms"}}
	if n >= largeN {
		m[0].Target, m[0].Met = "< 3", Bool(perHost < targetCPUPerMS)
		m = append(m, Metric{Name: "flotilla peak rss", Value: r.Subject.MaxRSSMiB, Unit: "MiB",
			Target: "< 60", Met: Bool(r.Subject.MaxRSSMiB < targetRSSMiB)})
	}
	return m
}

// PerHostCase is case 4: `check -o json` on n hosts at forks 32, whose
// output gives each host's SSH handshake time, against the minimal program
// (which reports its own). The per-host CPU is flotilla's CPU / n.
func PerHostCase(e *Env, n int) (Case, error) {
	inv, err := e.Inventory(strconv.Itoa(n), n, "")
	if err != nil {
		return Case{}, err
	}
	targets, err := e.Targets(n)
	if err != nil {
		return Case{}, err
	}
	return Case{
		Group: "per-host", Name: fmt.Sprintf("per-host N=%d forks=32", n), N: n, Forks: 32,
		Subject: Variant{Tool: "flotilla", Cmd: Command{Argv: []string{e.Flotilla, "-i", inv, "-o", "json", "check"}}},
		Refs: []Variant{{Tool: "minimal", Cmd: Command{Argv: []string{e.Minimal, "-targets", targets,
			"-identity", e.Lab.IdentityFile, "-known-hosts", e.Lab.KnownHosts, "-forks", "32", "-call", "info"}}}},
		Metrics: func(r *CaseResult) []Metric {
			m := costMetrics(r, n)
			m = append(m, Metric{Name: "minimal cpu/host", Value: r.Refs[0].CPUMS / float64(n), Unit: "ms"})
			var fl, mi []float64
			for _, s := range r.Subject.Samples {
				if v, err := flotillaHandshakeMS(s.Stdout); err == nil {
					fl = append(fl, v)
				}
			}
			for _, s := range r.Refs[0].Samples {
				var out struct {
					HandshakeMS float64 `json:"handshake_ms_p50"`
				}
				if json.Unmarshal(s.Stdout, &out) == nil {
					mi = append(mi, out.HandshakeMS)
				}
			}
			return append(m,
				Metric{Name: "flotilla ssh handshake p50", Value: Median(fl), Unit: "ms"},
				Metric{Name: "minimal ssh handshake p50", Value: Median(mi), Unit: "ms"})
		},
	}, nil
}

// flotillaHandshakeMS is the median ssh_handshake_ms of a `check -o json` document.
func flotillaHandshakeMS(doc []byte) (float64, error) {
	var out struct {
		Hosts []struct {
			Data struct {
				HandshakeMS float64 `json:"ssh_handshake_ms"`
			} `json:"data"`
		} `json:"hosts"`
	}
	if err := json.Unmarshal(doc, &out); err != nil {
		return 0, err
	}
	var xs []float64
	for _, h := range out.Hosts {
		xs = append(xs, h.Data.HandshakeMS)
	}
	return Median(xs), nil
}

// Scaling is the growth of wall time with N for each command at forks = N:
// each step's wall-time ratio against the ratio of the host counts (linear
// growth at most: ratio <= host ratio).
func Scaling(results []*CaseResult) []*CaseResult {
	var out []*CaseResult
	for _, command := range []string{"check", "images"} {
		var prev *CaseResult
		r := &CaseResult{Group: "scaling", Name: "scaling " + command + " forks=N"}
		for _, c := range results {
			if c.Group != command || c.Forks != c.N || c.Unavailable != "" {
				continue
			}
			if prev != nil && prev.Subject.WallMS > 0 {
				grow := c.Subject.WallMS / prev.Subject.WallMS
				limit := float64(c.N) / float64(prev.N)
				r.Metrics = append(r.Metrics, Metric{
					Name: fmt.Sprintf("wall N=%d / N=%d", c.N, prev.N), Value: grow, Unit: "x",
					Target: "<= " + trim(limit), Met: Bool(grow <= limit)})
			}
			prev = c
		}
		if len(r.Metrics) > 0 {
			out = append(out, r)
		}
	}
	return out
}
