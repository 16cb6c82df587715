package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// flotilla runs the CLI in-process with buffers for its streams.
func flotilla(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, TermWidth: 80}
	code = run(context.Background(), io, args)
	return out.String(), errOut.String(), code
}
