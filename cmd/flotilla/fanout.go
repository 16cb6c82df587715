package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"flotilla/connect"
	"flotilla/hosts"
	"flotilla/tasks"
)

// runTask connects to the selected hosts, runs task on each, renders results
// with v, writes --report and --metrics, and returns the run's exit status
// as an exitError (nil when all ok).
func runTask(ctx context.Context, io *IOStreams, opts *globalOptions, task tasks.Task, v view) error {
	inv, selected, err := loadHosts(io, opts)
	if err != nil {
		return err
	}
	return runOn(ctx, io, opts, inv, selected, task, v)
}

// runOn is runTask on a host list the command chose itself (inv is where
// jump hosts are looked up).
func runOn(ctx context.Context, io *IOStreams, opts *globalOptions, inv *hosts.Inventory, selected []*hosts.Host, task tasks.Task, v view) error {
	return runWith(ctx, io, opts, inv, selected, task, v, (*tasks.Runner).Run)
}

// fanOut is how a runner spreads a task over hosts: Runner.Run, or another
// shape such as Runner.Relay.
type fanOut func(r *tasks.Runner, ctx context.Context, list []*hosts.Host, task tasks.Task, report func(tasks.Result)) []tasks.Result

// runWith is runOn with the fan-out chosen by the command.
func runWith(ctx context.Context, io *IOStreams, opts *globalOptions, inv *hosts.Inventory, selected []*hosts.Host, task tasks.Task, v view, fan fanOut) error {
	pool := connect.NewPool(connect.WithInventory(inv))
	defer pool.Close()

	p := newPrinter(io, opts, task.Name(), v)
	runner := &tasks.Runner{Forks: opts.Forks, Timeout: opts.Timeout, Dialer: pool}
	opts.logger.Debug("run started", "command", task.Name(), "hosts", len(selected), "forks", opts.Forks, "timeout", opts.Timeout.String())
	start := time.Now()
	p.start(len(selected))
	results := fan(runner, ctx, selected, task, p.hostDone)
	sum := summarize(results, time.Since(start))
	sum.ExitCode = sum.exitCode()
	if ctx.Err() != nil {
		sum.ExitCode = ExitInterrupted
	}
	if err := p.finish(results, sum); err != nil {
		return err
	}
	// The files come after the output, so a failure to write them is the
	// last thing on stderr; an unattended run must not lose its record
	// silently, so that is a failed run.
	if err := writeRunFiles(opts, newDocument(task.Name(), p.started, v, results, sum), results, sum); err != nil {
		printError(io, err)
		if sum.ExitCode == ExitOK || sum.ExitCode == ExitUnreachable {
			sum.ExitCode = ExitFailed
		}
	}
	if sum.ExitCode != ExitOK {
		return exitError{sum.ExitCode}
	}
	return nil
}

// writeRunFiles writes --report and --metrics, each atomically.
func writeRunFiles(opts *globalOptions, doc document, results []tasks.Result, sum summary) error {
	if opts.Report != "" {
		data, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("report %s: %w", opts.Report, err)
		}
		// 0600: a report of env --show-secrets holds secrets.
		if err := writeFileAtomic(opts.Report, append(data, '\n'), 0o600); err != nil {
			return fmt.Errorf("report %s: %w", opts.Report, err)
		}
		opts.logger.Debug("report written", "path", opts.Report)
	}
	if opts.Metrics != "" {
		// 0644: node_exporter reads it as its own user.
		if err := writeFileAtomic(opts.Metrics, metricsText(doc.Command, results, sum, doc.Finished), 0o644); err != nil {
			return fmt.Errorf("metrics %s: %w", opts.Metrics, err)
		}
		opts.logger.Debug("metrics written", "path", opts.Metrics)
	}
	return nil
}

// summary counts outcomes for the closing line and the exit status.
type summary struct {
	OK          int           `json:"ok"`
	Failed      int           `json:"failed"`
	Unreachable int           `json:"unreachable"`
	Skipped     int           `json:"skipped"`
	Total       int           `json:"total"`
	Duration    time.Duration `json:"-"`
	DurationMS  float64       `json:"duration_ms"`
	ExitCode    int           `json:"exit_code"`
}

func summarize(results []tasks.Result, d time.Duration) summary {
	s := summary{Total: len(results), Duration: d, DurationMS: msOf(d)}
	for _, r := range results {
		switch r.Status {
		case tasks.StatusOK:
			s.OK++
		case tasks.StatusFailed:
			s.Failed++
		case tasks.StatusUnreachable:
			s.Unreachable++
		case tasks.StatusSkipped:
			s.Skipped++
		}
	}
	return s
}

func (s summary) exitCode() int {
	switch {
	case s.Failed > 0:
		return ExitFailed
	case s.Unreachable > 0:
		return ExitUnreachable
	}
	return ExitOK
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
