package main

import (
	"errors"
	"fmt"
	"strings"
)

// hinted is an error with a suggestion for the admin, printed as "hint:" lines.
type hinted interface{ Hint() string }

// printError prints err once, one "flotilla: error:" prefix per line, then any hint.
func printError(io *IOStreams, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		// Packages below cmd may end a message with "hint: ..." lines of their own.
		if hint, ok := strings.CutPrefix(line, "hint: "); ok {
			fmt.Fprintf(io.ErrOut, "flotilla: hint: %s\n", hint)
			continue
		}
		fmt.Fprintf(io.ErrOut, "flotilla: error: %s\n", line)
	}
	var h hinted
	if errors.As(err, &h) && h.Hint() != "" {
		for _, line := range strings.Split(h.Hint(), "\n") {
			fmt.Fprintf(io.ErrOut, "flotilla: hint: %s\n", line)
		}
	}
}

// withHint attaches a hint to err.
type withHint struct {
	err  error
	hint string
}

func (e withHint) Error() string { return e.err.Error() }
func (e withHint) Unwrap() error { return e.err }
func (e withHint) Hint() string  { return e.hint }
