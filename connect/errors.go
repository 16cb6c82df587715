package connect

import (
	"errors"
	"fmt"
)

// Sentinel errors that classify why a host could not be used. Tasks and the
// runner test for them with errors.Is; cmd maps them to statuses and exit codes.
var (
	// ErrUnreachable: no TCP connection or no SSH handshake (refused, timed out, no route).
	ErrUnreachable = errors.New("host unreachable")
	// ErrAuth: the SSH server rejected every offered key.
	ErrAuth = errors.New("ssh authentication failed")
	// ErrHostKeyUnknown: the host is not in known_hosts and host_key_check is strict.
	ErrHostKeyUnknown = errors.New("host key unknown")
	// ErrHostKeyChanged: known_hosts has a different key for the host. Never retried.
	ErrHostKeyChanged = errors.New("host key changed")
	// ErrEngineUnavailable: SSH works but no Docker engine answers on the socket.
	ErrEngineUnavailable = errors.New("docker engine unavailable")
	// ErrSocketPermission: the SSH user may not open the engine socket.
	ErrSocketPermission = errors.New("permission denied on the docker socket")
)

// Error is a connection failure with the host and address it concerns and a
// hint for the admin. Kind is one of the sentinels above.
type Error struct {
	Host string
	Addr string
	Kind error
	Err  error  // the underlying cause, may be nil
	Hint string // what to do, may be empty
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s (%s)", e.Kind, e.Addr)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the classification and the cause to errors.Is/As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Hint returns the hint of the first *Error in err's chain, or "".
func Hint(err error) string {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Hint
	}
	return ""
}
