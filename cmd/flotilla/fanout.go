package main

import (
	"context"
	"time"

	"flotilla/connect"
	"flotilla/tasks"
)

// runTask connects to the selected hosts, runs task on each, renders results
// with v, and returns the run's exit status as an exitError (nil when all ok).
func runTask(ctx context.Context, io *IOStreams, opts *globalOptions, task tasks.Task, v view) error {
	inv, selected, err := loadHosts(opts)
	if err != nil {
		return err
	}
	pool := connect.NewPool(connect.WithInventory(inv))
	defer pool.Close()

	p := newPrinter(io, opts, task.Name(), v)
	runner := &tasks.Runner{Forks: opts.Forks, Timeout: opts.Timeout, Dialer: pool}
	start := time.Now()
	results := runner.Run(ctx, selected, task, p.hostDone)
	sum := summarize(results, time.Since(start))
	if err := p.finish(results, sum); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return exitError{ExitInterrupted}
	}
	if code := sum.exitCode(); code != ExitOK {
		return exitError{code}
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
