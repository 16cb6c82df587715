package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// link is the transport under a Conn: it runs host commands and opens
// streams to unix sockets on the host. The ssh and openssh transports both
// implement it, so tasks run the same code on either.
type link interface {
	commandRunner
	socketDialer
	Close() error
}

// commandRunner runs one command on the host.
type commandRunner interface {
	Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
}

// socketDialer opens a byte stream to a unix socket on the host; the
// Engine client's dialer is built on it.
type socketDialer interface {
	DialSocket(ctx context.Context, path string) (net.Conn, error)
}

// ExitError is a host command that ran and exited with a non-zero status.
// On the ssh transport it wraps the *ssh.ExitError.
type ExitError struct {
	Cmd    string
	Status int
	Err    error // the transport's own error, may be nil
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s: exit status %d", e.Cmd, e.Status)
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitStatus returns the exit status of a host command that ran and failed.
// ok is false when err is not such a failure (the command could not run).
func ExitStatus(err error) (status int, ok bool) {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Status, true
	}
	return 0, false
}
