package main

import (
	"io"
	"os"

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
	}
	return s
}
