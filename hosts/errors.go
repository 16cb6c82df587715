package hosts

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for errors.Is: cmd maps them to exit status 2 (nothing ran).
var (
	// ErrInventory is wrapped by every error Load returns.
	ErrInventory = errors.New("inventory problem")
	// ErrNoMatch is wrapped when a pattern, or one of its terms, selects no host.
	ErrNoMatch = errors.New("no host matches")
	// ErrPatternSyntax is wrapped when a pattern cannot be parsed.
	ErrPatternSyntax = errors.New("invalid host pattern")
)

// Problem is one thing wrong with an inventory.
type Problem struct {
	Line int    // 1-based line in the inventory; 0 when not known
	Key  string // where: `host "web1"`, `groups.web.hosts`, `backup.keep`; empty for the whole file
	Msg  string // what is wrong, lowercase, no trailing period
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.Msg
	}
	return p.Key + ": " + p.Msg
}

// LoadError is what Load returns: every problem found, sorted by line.
// Error() prints one problem per line as `FILE:LINE: KEY: MSG`, then the hint.
type LoadError struct {
	File     string
	Problems []Problem
	Hint     string // a guess at the user's mistake, or empty
	Err      error  // the I/O error behind a file that could not be read, or nil
}

// Messages returns one `FILE:LINE: KEY: MSG` line per problem, without the
// hint, for callers that prefix each line themselves.
func (e *LoadError) Messages() []string {
	out := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		if p.Line > 0 {
			out = append(out, fmt.Sprintf("%s:%d: %s", e.File, p.Line, p))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", e.File, p))
		}
	}
	return out
}

func (e *LoadError) Error() string {
	s := strings.Join(e.Messages(), "\n")
	if e.Hint != "" {
		s += "\nhint: " + e.Hint
	}
	return s
}

// Unwrap lets errors.Is find ErrInventory, and fs.ErrNotExist and friends for
// a file that could not be read.
func (e *LoadError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInventory, e.Err}
	}
	return []error{ErrInventory}
}

// PatternError is what Select returns; it wraps ErrNoMatch or ErrPatternSyntax.
type PatternError struct {
	Pattern     string   // the whole pattern
	Term        string   // the term at fault, or empty when the pattern as a whole selects nothing
	Msg         string   // what is wrong
	Suggestions []string // close names, as they would be typed in a pattern
	Err         error    // ErrNoMatch or ErrPatternSyntax
}

func (e *PatternError) Error() string {
	s := e.Msg
	if e.Term != "" && e.Term != strings.TrimSpace(e.Pattern) {
		s += fmt.Sprintf(" in pattern %q", e.Pattern)
	}
	return s + didYouMean(e.Suggestions)
}

func (e *PatternError) Unwrap() error { return e.Err }
