// Package tasks runs one task on many hosts in parallel and describes each
// host's outcome. Tasks never print; the caller presents results.
package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"flotilla/connect"
	"flotilla/hosts"
)

// Task is one unit of work on a host. Run returns data with JSON tags.
type Task interface {
	Name() string
	Run(ctx context.Context, c *connect.Conn) (any, error)
}

// Dialer gives a host's connection; *connect.Pool is the real one.
type Dialer interface {
	Get(ctx context.Context, h *hosts.Host) (*connect.Conn, error)
}

// Runner fans a task out to hosts with bounded concurrency.
type Runner struct {
	Forks   int           // hosts at once; <= 0 means all
	Timeout time.Duration // per host, connection included; 0 means none
	Dialer  Dialer
}

// Run runs task on every host and calls report once per host, as each
// finishes, from one goroutine at a time. A host's failure never stops the
// others; only ctx (Ctrl-C) does. It returns every result in host order.
func (r *Runner) Run(ctx context.Context, list []*hosts.Host, task Task, report func(Result)) []Result {
	forks := r.Forks
	if forks <= 0 || forks > len(list) {
		forks = len(list)
	}
	results := make([]Result, len(list))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(forks, 1))
	finish := func(i int, res Result) {
		mu.Lock()
		defer mu.Unlock()
		results[i] = res
		if report != nil {
			report(res)
		}
	}
	for i, h := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acquired := false
			select {
			case slots <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			}
			// A host still waiting for a slot when Ctrl-C came is skipped, not failed.
			if ctx.Err() != nil {
				if acquired {
					<-slots
				}
				finish(i, Result{Host: h.Name, Status: StatusSkipped, Error: "interrupted before it started", Err: ctx.Err()})
				return
			}
			res := r.runOne(ctx, h, task)
			<-slots
			finish(i, res)
		}()
	}
	wg.Wait()
	return results
}

func (r *Runner) runOne(ctx context.Context, h *hosts.Host, task Task) (res Result) {
	start := time.Now()
	res.Host = h.Name
	defer func() {
		res.Duration = time.Since(start)
		if p := recover(); p != nil { // a task bug must not take the fleet run down
			res.Status, res.Err = StatusFailed, &HostError{Host: h.Name, Stage: StageTask, Err: fmt.Errorf("internal error: %v", p)}
			res.Error = res.Err.Error()
		}
	}()
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, r.Timeout, fmt.Errorf("per-host timeout of %s reached", r.Timeout))
		defer cancel()
	}
	conn, err := r.Dialer.Get(ctx, h)
	if err != nil {
		return failure(res, h, StageConnect, ctx, err)
	}
	data, err := task.Run(ctx, conn)
	res.Data = data
	if err != nil {
		return failure(res, h, StageTask, ctx, err)
	}
	res.Status = StatusOK
	return res
}

func failure(res Result, h *hosts.Host, stage Stage, ctx context.Context, err error) Result {
	if cause := context.Cause(ctx); cause != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", cause, err)
	}
	res.Err = &HostError{Host: h.Name, Stage: stage, Err: err}
	res.Status = statusOf(res.Err)
	res.Error = err.Error()
	res.Hint = connect.Hint(err)
	return res
}
