package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"flotilla/tasks"
)

// view says how a task's data looks in a table: the columns after HOST and
// the rows of one ok host.
type view struct {
	columns []string
	rows    func(data any) [][]string
	// wide are extra columns shown only with -o wide; rows returns their
	// cells after those of columns.
	wide []string
	// fleet, when set, replaces the per-host rows with one table across the
	// fleet (images --by image). Its data also goes under "fleet" in -o json
	// and in a "type":"fleet" line of -o jsonl.
	fleet func(results []tasks.Result) fleetView
}

// fleetView is a table across hosts: full columns (no HOST added), rows, and
// the data behind them for JSON.
type fleetView struct {
	columns []string
	rows    [][]string
	data    any
}

// printer renders one run in the chosen format. Results go to stdout; lines
// about hosts as they finish, progress and logs go to stderr.
type printer struct {
	io       *IOStreams
	opts     *globalOptions
	command  string
	view     view
	started  time.Time
	progress *progress // nil unless stderr is a terminal showing a table run
}

func newPrinter(io *IOStreams, opts *globalOptions, command string, v view) *printer {
	return &printer{io: io, opts: opts, command: command, view: v, started: time.Now()}
}

// hostJSON is one host in -o json and one line in -o jsonl (with Type "host").
type hostJSON struct {
	Type       string       `json:"type,omitempty"`
	Host       string       `json:"host"`
	Status     tasks.Status `json:"status"`
	Error      string       `json:"error,omitempty"`
	Hint       string       `json:"hint,omitempty"`
	DurationMS float64      `json:"duration_ms"`
	Data       any          `json:"data,omitempty"`
}

type summaryJSON struct {
	Type string `json:"type,omitempty"`
	summary
}

// fleetJSON is the "type":"fleet" line of -o jsonl.
type fleetJSON struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// document is the whole of -o json and of --report.
type document struct {
	Command  string      `json:"command"`
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Hosts    []hostJSON  `json:"hosts"`
	Fleet    any         `json:"fleet,omitempty"`
	Summary  summaryJSON `json:"summary"`
}

func toHostJSON(r tasks.Result) hostJSON {
	h := hostJSON{Host: r.Host, Status: r.Status, Error: r.Error, Hint: r.Hint, DurationMS: msOf(r.Duration)}
	if r.Status == tasks.StatusOK {
		h.Data = r.Data
	}
	return h
}

// newDocument is the JSON document of a finished run.
func newDocument(command string, started time.Time, v view, results []tasks.Result, sum summary) document {
	doc := document{Command: command, Started: started.UTC(), Finished: started.Add(sum.Duration).UTC(),
		Hosts: []hostJSON{}, Summary: summaryJSON{summary: sum}}
	for _, r := range results {
		doc.Hosts = append(doc.Hosts, toHostJSON(r))
	}
	if v.fleet != nil {
		doc.Fleet = v.fleet(results).data
	}
	return doc
}

func (p *printer) tableOutput() bool { return p.opts.Output == "table" }

// start shows live progress when a person watches a table run on a terminal.
func (p *printer) start(total int) {
	if p.tableOutput() && !p.opts.Quiet && p.opts.LogFormat != "json" && p.io.ProgressOK() && total > 0 {
		p.progress = startProgress(p.io.Err(), p.io.TermWidth, p.io.ColorErr(), total, p.opts.Forks)
	}
}

// hostDone is called once per host as it finishes, one call at a time.
func (p *printer) hostDone(r tasks.Result) {
	if p.opts.Output == "jsonl" {
		line := toHostJSON(r)
		line.Type = "host"
		p.writeJSON(line, false)
	}
	if p.progress != nil {
		p.progress.hostDone(r)
	}
	ok := r.Status == tasks.StatusOK
	switch {
	case p.opts.LogFormat == "json":
		level := slog.LevelInfo
		if !ok {
			level = slog.LevelWarn
		}
		attrs := []any{"command", p.command, "host", r.Host, "status", string(r.Status), "duration_ms", msOf(r.Duration)}
		if !ok {
			attrs = append(attrs, "error", r.Error)
			if r.Hint != "" {
				attrs = append(attrs, "hint", r.Hint)
			}
		}
		p.opts.logger.Log(context.Background(), level, "host finished", attrs...)
	case p.tableOutput() && (!ok || p.progress != nil || p.opts.Verbose):
		fmt.Fprintln(p.io.Err(), p.hostLine(r))
	default:
		p.opts.logger.Debug("host finished", "host", r.Host, "status", string(r.Status), "duration_ms", msOf(r.Duration))
	}
}

// hostLine is a finished host for people: "flotilla: web1: ok (41ms)", or
// the status and the reason.
func (p *printer) hostLine(r tasks.Result) string {
	status := string(r.Status)
	if p.io.ColorErr() {
		status = paint(statusColor(r.Status), status)
	}
	if r.Status == tasks.StatusOK {
		return fmt.Sprintf("flotilla: %s: %s (%s)", r.Host, status, r.Duration.Round(time.Millisecond))
	}
	return fmt.Sprintf("flotilla: %s: %s: %s", r.Host, status, r.Error)
}

// finish prints what comes after every host finished.
func (p *printer) finish(results []tasks.Result, sum summary) error {
	if p.progress != nil {
		p.progress.end()
	}
	switch p.opts.Output {
	case "jsonl":
		if p.view.fleet != nil {
			p.writeJSON(fleetJSON{Type: "fleet", Data: p.view.fleet(results).data}, false)
		}
		p.writeJSON(summaryJSON{Type: "summary", summary: sum}, false)
	case "json":
		p.writeJSON(newDocument(p.command, p.started, p.view, results, sum), true)
	default:
		p.table(results, sum)
	}
	if p.opts.LogFormat == "json" {
		p.opts.logger.Info("run finished", "command", p.command, "ok", sum.OK, "failed", sum.Failed,
			"unreachable", sum.Unreachable, "skipped", sum.Skipped, "total", sum.Total,
			"duration_ms", sum.DurationMS, "exit_code", sum.ExitCode)
	}
	return nil
}

func (p *printer) writeJSON(v any, indent bool) {
	enc := json.NewEncoder(p.io.Out)
	if indent {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}

func (p *printer) table(results []tasks.Result, sum summary) {
	if !p.opts.Quiet {
		t := p.dataTable(results)
		if p.io.OutIsTerminal && !p.opts.Wide {
			t.fit(p.io.TermWidth)
		}
		t.write(p.io.Out)
	}
	var bad []tasks.Result
	for _, r := range results {
		if r.Status != tasks.StatusOK {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		fmt.Fprintln(p.io.Out)
		t := newTable([]string{"HOST", "STATUS", "REASON"})
		for _, r := range bad {
			t.add([]string{r.Host, string(r.Status), r.Error})
		}
		t.write(p.io.Out)
	}
	fmt.Fprintf(p.io.Out, "\n%s\n", sum.line())
}

// dataTable is the rows of ok hosts, or the fleet table when the view has one.
func (p *printer) dataTable(results []tasks.Result) *table {
	if p.view.fleet != nil {
		fv := p.view.fleet(results)
		t := newTable(fv.columns)
		for _, row := range fv.rows {
			t.add(row)
		}
		return t
	}
	header := append([]string{"HOST"}, p.view.columns...)
	if p.opts.Wide {
		header = append(header, p.view.wide...)
	}
	t := newTable(header)
	for _, r := range results {
		if r.Status != tasks.StatusOK {
			continue
		}
		for _, row := range p.view.rows(r.Data) {
			if len(row) > len(header)-1 {
				row = row[:len(header)-1]
			}
			t.add(append([]string{r.Host}, row...))
		}
	}
	return t
}

func (s summary) line() string {
	return fmt.Sprintf("%d hosts: %d ok, %d failed, %d unreachable, %d skipped in %s",
		s.Total, s.OK, s.Failed, s.Unreachable, s.Skipped, s.Duration.Round(time.Millisecond))
}
