// Command flotilla-bench is make bench: it starts a lab sized for the run,
// measures flotilla against its references case by case (see package
// flotilla/bench), prints one table and writes it as JSON under
// bench/results/.
//
//	flotilla-bench -flotilla bin/flotilla -minimal bin/bench-minimal [-hosts 10,50,200] [-runs 3] [-warmup 1]
//	               [-cases check,images,per-host,pull,backup] [-backup-mib 256,1024] [-out bench/results]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"flotilla/bench"
	"flotilla/internal/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "flotilla-bench: error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("flotilla-bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	flotilla := fl.String("flotilla", "bin/flotilla", "the flotilla binary to measure")
	minimal := fl.String("minimal", "bin/bench-minimal", "the minimal x/crypto/ssh program (bench/minimal)")
	hostsFlag := fl.String("hosts", "10,50,200", "host counts for check and images")
	runs := fl.Int("runs", 3, "measured runs of each tool per case")
	warmup := fl.Int("warmup", 1, "unmeasured runs of each tool per case first")
	casesFlag := fl.String("cases", "per-host,check,images,pull,backup", "cases to run, in this order")
	backupFlag := fl.String("backup-mib", "256,1024", "volume sizes for the backup case, MiB")
	out := fl.String("out", "bench/results", "directory for the JSON result")
	verbose := fl.Bool("v", false, "log every sample to stderr")
	if err := fl.Parse(args); err != nil {
		return err
	}
	ns, err := ints(*hostsFlag)
	if err != nil {
		return fmt.Errorf("-hosts: %w", err)
	}
	backupSizes, err := ints(*backupFlag)
	if err != nil {
		return fmt.Errorf("-backup-mib: %w", err)
	}
	if *runs < 1 || *warmup < 0 {
		return errors.New("-runs must be at least 1 and -warmup not negative")
	}
	want := strings.Split(*casesFlag, ",")
	for _, name := range want { // before the lab starts: a typo costs nothing
		if !slices.Contains([]string{"check", "images", "per-host", "pull", "backup"}, name) {
			return fmt.Errorf("-cases: unknown case %q (expected check, images, per-host, pull, backup)", name)
		}
	}
	for _, bin := range []*string{flotilla, minimal} {
		if _, err := os.Stat(*bin); err != nil {
			return fmt.Errorf("%w (make bench builds it)", err)
		}
	}

	started := time.Now()
	report := &bench.Report{Started: started.UTC(), Warmup: *warmup, Runs: *runs,
		Command: "flotilla-bench " + strings.Join(args, " "),
		Machine: bench.Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadAvg: loadAvg()}}

	maxN := slices.Max(ns)
	fmt.Fprintf(stderr, "flotilla-bench: starting a lab of %d hosts on 3 engines\n", maxN)
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	l, err := lab.Start(startCtx, lab.Config{Hosts: maxN, Engines: 3})
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Stop(); err != nil {
			fmt.Fprintln(stderr, "flotilla-bench: lab stop:", err)
		}
	}()
	fmt.Fprintf(stderr, "flotilla-bench: lab up in %.1fs (%s)\n", time.Since(started).Seconds(), l.Dir)
	work, err := os.MkdirTemp("", "flotilla-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env, err := bench.NewEnv(l, *flotilla, *minimal, work)
	if err != nil {
		return err
	}
	report.Machine.Docker = dockerVersion(env.Docker)

	var cases []func() ([]bench.Case, error)
	for _, name := range want {
		switch name {
		case "check", "images":
			cases = append(cases, func() ([]bench.Case, error) { return bench.FleetCases(env, name, ns) })
		case "per-host":
			cases = append(cases, func() ([]bench.Case, error) {
				c, err := bench.PerHostCase(env, maxN)
				return []bench.Case{c}, err
			})
		case "pull":
			cases = append(cases, func() ([]bench.Case, error) {
				c, err := bench.PullCase(ctx, env)
				return []bench.Case{c}, err
			})
		case "backup":
			for _, size := range backupSizes {
				cases = append(cases, func() ([]bench.Case, error) {
					c, err := bench.BackupCase(ctx, env, size)
					return []bench.Case{c}, err
				})
			}
		}
	}
	opt := bench.Options{Warmup: *warmup, Runs: *runs}
	if *verbose {
		opt.Log = stderr
	}
	for _, mk := range cases {
		cs, err := mk()
		if err != nil {
			return err
		}
		for _, c := range cs {
			fmt.Fprintf(stderr, "flotilla-bench: %s\n", c.Name)
			r, err := bench.Run(ctx, c, opt)
			if err != nil {
				return err
			}
			report.Results = append(report.Results, r)
			// Written after every case: a long run cut short keeps what it measured.
			report.Duration = time.Since(started).Seconds()
			if _, err := bench.WriteReport(*out, report); err != nil {
				return err
			}
		}
	}
	report.Results = append(report.Results, bench.Scaling(report.Results)...)
	report.Duration = time.Since(started).Seconds()
	if err := bench.WriteTable(stdout, report.Results); err != nil {
		return err
	}
	path, err := bench.WriteReport(*out, report)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "flotilla-bench: wrote %s (%.0fs)\n", path, report.Duration)
	return nil
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func dockerVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return bin
	}
	return bin + ": " + strings.TrimSpace(string(out))
}
