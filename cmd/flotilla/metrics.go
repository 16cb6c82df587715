package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"flotilla/tasks"
)

// metricsText renders a run in the Prometheus text exposition format, for
// node_exporter's textfile collector. Every series carries the command, so
// runs of different commands can write files side by side.
func metricsText(command string, results []tasks.Result, sum summary, end time.Time) []byte {
	var b strings.Builder
	cmd := `command="` + escapeLabel(command) + `"`
	family := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	family("flotilla_host_success", "Whether the command succeeded on the host in the last run (1) or not (0).")
	for _, r := range results {
		ok := 0
		if r.Status == tasks.StatusOK {
			ok = 1
		}
		fmt.Fprintf(&b, "flotilla_host_success{%s,host=\"%s\",status=\"%s\"} %d\n", cmd, escapeLabel(r.Host), r.Status, ok)
	}
	family("flotilla_host_duration_seconds", "How long the command took on the host in the last run, connection included.")
	for _, r := range results {
		fmt.Fprintf(&b, "flotilla_host_duration_seconds{%s,host=\"%s\"} %s\n", cmd, escapeLabel(r.Host), seconds(r.Duration))
	}
	family("flotilla_run_hosts", "Hosts of the last run by status.")
	for _, s := range []struct {
		status tasks.Status
		n      int
	}{{tasks.StatusOK, sum.OK}, {tasks.StatusFailed, sum.Failed}, {tasks.StatusUnreachable, sum.Unreachable}, {tasks.StatusSkipped, sum.Skipped}} {
		fmt.Fprintf(&b, "flotilla_run_hosts{%s,status=\"%s\"} %d\n", cmd, s.status, s.n)
	}
	family("flotilla_run_duration_seconds", "How long the last run took.")
	fmt.Fprintf(&b, "flotilla_run_duration_seconds{%s} %s\n", cmd, seconds(sum.Duration))
	family("flotilla_run_exit_code", "The exit status of the last run.")
	fmt.Fprintf(&b, "flotilla_run_exit_code{%s} %d\n", cmd, sum.ExitCode)
	family("flotilla_run_end_timestamp_seconds", "When the last run ended, in seconds since the Unix epoch.")
	fmt.Fprintf(&b, "flotilla_run_end_timestamp_seconds{%s} %s\n", cmd,
		strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
	return []byte(b.String())
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// escapeLabel escapes a label value as the text format wants.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
