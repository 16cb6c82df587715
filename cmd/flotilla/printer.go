package main

import (
	"encoding/json"
	"fmt"
	"time"

	"flotilla/tasks"
)

// view says how a task's data looks in a table: the columns after HOST and
// the rows of one ok host.
type view struct {
	columns []string
	rows    func(data any) [][]string
}

// printer renders one run in the chosen format. Results go to stdout; lines
// about hosts as they finish go to stderr.
type printer struct {
	io      *IOStreams
	opts    *globalOptions
	command string
	view    view
	started time.Time
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

// document is the whole of -o json and of --report.
type document struct {
	Command string      `json:"command"`
	Started time.Time   `json:"started"`
	Hosts   []hostJSON  `json:"hosts"`
	Summary summaryJSON `json:"summary"`
}

func toHostJSON(r tasks.Result) hostJSON {
	h := hostJSON{Host: r.Host, Status: r.Status, Error: r.Error, Hint: r.Hint, DurationMS: msOf(r.Duration)}
	if r.Status == tasks.StatusOK {
		h.Data = r.Data
	}
	return h
}

// hostDone is called once per host as it finishes.
func (p *printer) hostDone(r tasks.Result) {
	switch p.opts.Output {
	case "jsonl":
		line := toHostJSON(r)
		line.Type = "host"
		p.writeJSON(line, false)
	case "table":
		if r.Status != tasks.StatusOK && !p.opts.Quiet {
			fmt.Fprintf(p.io.ErrOut, "flotilla: %s: %s: %s\n", r.Host, r.Status, r.Error)
		} else if p.opts.Verbose {
			fmt.Fprintf(p.io.ErrOut, "flotilla: %s: %s (%s)\n", r.Host, r.Status, r.Duration.Round(time.Millisecond))
		}
	}
}

// finish prints what comes after every host finished.
func (p *printer) finish(results []tasks.Result, sum summary) error {
	switch p.opts.Output {
	case "jsonl":
		p.writeJSON(summaryJSON{Type: "summary", summary: sum}, false)
	case "json":
		doc := document{Command: p.command, Started: p.started.UTC(), Hosts: []hostJSON{}, Summary: summaryJSON{summary: sum}}
		for _, r := range results {
			doc.Hosts = append(doc.Hosts, toHostJSON(r))
		}
		p.writeJSON(doc, true)
	default:
		p.table(results, sum)
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
		t := newTable(append([]string{"HOST"}, p.view.columns...))
		for _, r := range results {
			if r.Status != tasks.StatusOK {
				continue
			}
			for _, row := range p.view.rows(r.Data) {
				t.add(append([]string{r.Host}, row...))
			}
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

func (s summary) line() string {
	return fmt.Sprintf("%d hosts: %d ok, %d failed, %d unreachable, %d skipped in %s",
		s.Total, s.OK, s.Failed, s.Unreachable, s.Skipped, s.Duration.Round(time.Millisecond))
}
