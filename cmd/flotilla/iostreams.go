package main

import (
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// IOStreams carries every byte flotilla reads or writes, so tests can swap in
// buffers and say whether stderr is a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer // results only
	ErrOut io.Writer // progress, logs, errors

	ErrIsTerminal bool
	OutIsTerminal bool
	TermWidth     int

	errOnce sync.Once
	errLine *statusWriter
}

func newIOStreams(in io.Reader, out, errOut io.Writer) *IOStreams {
	s := &IOStreams{In: in, Out: out, ErrOut: errOut, TermWidth: 80}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s.OutIsTerminal = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			s.TermWidth = w
		}
	}
	if f, ok := errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		s.ErrIsTerminal = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 && !s.OutIsTerminal {
			s.TermWidth = w
		}
	}
	return s
}

// Err is stderr for lines (logs, per-host lines): it keeps the live
// progress line, when one is shown, below whatever is written.
func (s *IOStreams) Err() *statusWriter {
	s.errOnce.Do(func() { s.errLine = &statusWriter{w: s.ErrOut} })
	return s.errLine
}

// ColorErr says whether stderr may carry colours: a terminal, and neither
// NO_COLOR (https://no-color.org) nor TERM=dumb.
func (s *IOStreams) ColorErr() bool {
	return s.ErrIsTerminal && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
}

// ProgressOK says whether stderr can redraw a line in place.
func (s *IOStreams) ProgressOK() bool {
	return s.ErrIsTerminal && os.Getenv("TERM") != "dumb"
}

// statusWriter writes whole lines to stderr above one status line that is
// redrawn in place. With no status set it is a plain writer, so nothing but
// the bytes written reach a pipe.
type statusWriter struct {
	mu     sync.Mutex
	w      io.Writer
	status string // what the status line shows now; "" when none is drawn
}

const clearLine = "\r\x1b[K"

func (s *statusWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == "" {
		return s.w.Write(p)
	}
	io.WriteString(s.w, clearLine)
	n, err := s.w.Write(p)
	io.WriteString(s.w, s.status)
	return n, err
}

// setStatus draws line as the status line, replacing the one shown.
func (s *statusWriter) setStatus(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = line
	io.WriteString(s.w, clearLine+line)
}

// updateStatus changes the status text without drawing it: the next Write
// or setStatus shows it. A finished host's line redraws the status with the
// new counts for free, without a second redraw.
func (s *statusWriter) updateStatus(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != "" {
		s.status = line
	}
}

// clearStatus removes the status line.
func (s *statusWriter) clearStatus() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != "" {
		io.WriteString(s.w, clearLine)
		s.status = ""
	}
}
