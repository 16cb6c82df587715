package tasks

import (
	"errors"
	"fmt"
	"time"

	"flotilla/connect"
)

// Status is a host's outcome in a run.
type Status string

const (
	StatusOK          Status = "ok"
	StatusFailed      Status = "failed"      // the task ran and failed
	StatusUnreachable Status = "unreachable" // no SSH, or no engine
	StatusSkipped     Status = "skipped"
)

// Stage says where in a host's run an error happened.
type Stage string

const (
	StageConnect Stage = "connect"
	StageTask    Stage = "task"
)

// HostError keeps a host's failure an error value through the fan-out, so
// errors.Is(err, connect.ErrHostKeyChanged) still works on the result.
type HostError struct {
	Host  string
	Stage Stage
	Err   error
}

func (e *HostError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Host, e.Stage, e.Err) }
func (e *HostError) Unwrap() error { return e.Err }

// Result is one host's outcome. Data is the task's own result type.
type Result struct {
	Host     string        `json:"host"`
	Status   Status        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Hint     string        `json:"hint,omitempty"`
	Duration time.Duration `json:"-"`
	Data     any           `json:"data,omitempty"`
	Err      error         `json:"-"`
}

// statusOf maps an error to a status in one place: connection problems are
// unreachable, anything else that went wrong is failed.
func statusOf(err error) Status {
	var he *HostError
	if errors.As(err, &he) && he.Stage == StageConnect {
		return StatusUnreachable
	}
	for _, kind := range []error{connect.ErrUnreachable, connect.ErrAuth, connect.ErrHostKeyUnknown,
		connect.ErrHostKeyChanged, connect.ErrEngineUnavailable, connect.ErrSocketPermission} {
		if errors.Is(err, kind) {
			return StatusUnreachable
		}
	}
	return StatusFailed
}
