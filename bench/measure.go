package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Command is a child process to measure. Stdout is kept (a case may parse
// it); stderr is kept for the error message.
type Command struct {
	Argv  []string
	Env   []string // added to the harness's environment
	Stdin string
	// Timeout bounds one run; default 10 minutes.
	Timeout time.Duration
}

func (c Command) String() string { return strings.Join(c.Argv, " ") }

// Sample is one measured run of a command. For a shell pipeline or xargs the
// rusage covers the process and every descendant it waited for (Linux wait4).
type Sample struct {
	Wall   time.Duration `json:"wall_ns"`
	CPU    time.Duration `json:"cpu_ns"`        // user + sys
	MaxRSS int64         `json:"max_rss_bytes"` // peak resident set of the process (or its largest waited-for descendant)
	Stdout []byte        `json:"-"`
}

func (s Sample) String() string {
	return fmt.Sprintf("wall %.1fms cpu %.1fms rss %.1fMiB", ms(s.Wall), ms(s.CPU), float64(s.MaxRSS)/(1<<20))
}

// Measure runs cmd once and returns its wall time, CPU time and peak RSS. A
// non-zero exit is an error that carries the end of stderr.
func Measure(ctx context.Context, c Command) (Sample, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := c.Argv
	rssFile := ""
	if _, err := os.Stat(gnuTime); err == nil {
		f, err := os.CreateTemp("", "flotilla-bench-rss-")
		if err != nil {
			return Sample{}, err
		}
		f.Close()
		rssFile = f.Name()
		defer os.Remove(rssFile)
		argv = append([]string{gnuTime, "-f", "%M", "-o", rssFile, "--"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	if c.Stdin != "" {
		cmd.Stdin = strings.NewReader(c.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &tail{max: 4096, buf: &stderr}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Sample{}, fmt.Errorf("%s: %w: %s", c.Argv[0], err, strings.TrimSpace(stderr.String()))
	}
	s := Sample{Wall: wall, CPU: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), Stdout: stdout.Bytes()}
	if rssFile != "" {
		kb, err := readTimeRSS(rssFile)
		if err != nil {
			return Sample{}, err
		}
		s.MaxRSS = kb * 1024
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux; includes the harness's own RSS, see gnuTime
	}
	return s, nil
}

// gnuTime reports the peak RSS of the command it forks. The child's own
// rusage is no good for that: Go starts children with vfork (CLONE_VM), and
// Linux carries the parent's high-water RSS into the child's maxrss at exec,
// so every child would report at least the harness's RSS. GNU time forks
// from a process of 1-2 MiB. The CPU time still comes from the wait4 rusage
// (microseconds; GNU time's own CPU is negligible).
const gnuTime = "/usr/bin/time"

// readTimeRSS reads GNU time's -f %M output (kilobytes; the last line, after
// any "Command exited with non-zero status" line).
func readTimeRSS(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	kb, err := strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s -f %%M wrote %q", gnuTime, b)
	}
	return kb, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	max int
	buf *bytes.Buffer
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}
