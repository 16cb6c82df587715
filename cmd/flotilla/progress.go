package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"flotilla/tasks"
)

// progressEvery bounds redraws of the status line: a fleet of hundreds of
// hosts finishing at once must not flood the terminal.
const progressEvery = 100 * time.Millisecond

// progress shows one live line on a terminal's stderr: hosts done, running
// and failed, and the time since the start. It is cleared at the end.
type progress struct {
	line    *statusWriter
	width   int
	color   bool
	total   int
	forks   int
	started time.Time

	mu     sync.Mutex
	done   int
	failed int // failed or unreachable

	stop     chan struct{}
	finished chan struct{}
}

func startProgress(line *statusWriter, width int, color bool, total, forks int) *progress {
	p := &progress{line: line, width: width, color: color, total: total, forks: forks, started: time.Now(),
		stop: make(chan struct{}), finished: make(chan struct{})}
	p.draw()
	go func() {
		defer close(p.finished)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.draw()
			}
		}
	}()
	return p
}

// hostDone counts a finished host. The status text changes without a
// redraw: the host's own line, or the next tick, draws it.
func (p *progress) hostDone(r tasks.Result) {
	p.mu.Lock()
	p.done++
	if r.Status == tasks.StatusFailed || r.Status == tasks.StatusUnreachable {
		p.failed++
	}
	p.mu.Unlock()
	p.line.updateStatus(p.text())
}

func (p *progress) draw() { p.line.setStatus(p.text()) }

func (p *progress) text() string {
	p.mu.Lock()
	done, failed := p.done, p.failed
	p.mu.Unlock()
	// The runner starts hosts as slots free up, so running is what the
	// slots allow of the hosts left.
	running := min(p.forks, p.total-done)
	if p.forks <= 0 {
		running = p.total - done
	}
	elapsed := time.Since(p.started).Truncate(100 * time.Millisecond)
	line := fmt.Sprintf("%d/%d done, %d running, %d failed, %s", done, p.total, running, failed, elapsed)
	if p.width > 1 && len(line) >= p.width { // a line that wraps cannot be redrawn in place
		line = fmt.Sprintf("%d/%d done, %d failed", done, p.total, failed)
	}
	if failed > 0 && p.color {
		f := fmt.Sprintf(", %d failed", failed)
		line = strings.Replace(line, f, ", "+paint(red, f[2:]), 1)
	}
	return line
}

// end stops redrawing and clears the line.
func (p *progress) end() {
	close(p.stop)
	<-p.finished
	p.line.clearStatus()
}

// ANSI colours, used only on a terminal without NO_COLOR.
const (
	red    = "31"
	green  = "32"
	yellow = "33"
)

func paint(color, s string) string { return "\x1b[" + color + "m" + s + "\x1b[0m" }

func statusColor(s tasks.Status) string {
	switch s {
	case tasks.StatusOK:
		return green
	case tasks.StatusFailed:
		return red
	}
	return yellow
}
