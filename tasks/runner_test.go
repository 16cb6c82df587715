package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flotilla/connect"
	"flotilla/hosts"
)

// fakeDialer fails for hosts named in down and hands out empty conns otherwise:
// the runner's logic does not look inside a connection.
type fakeDialer struct{ down map[string]error }

func (d fakeDialer) Get(ctx context.Context, h *hosts.Host) (*connect.Conn, error) {
	if err := d.down[h.Name]; err != nil {
		return nil, err
	}
	return &connect.Conn{Host: h}, nil
}

type funcTask func(ctx context.Context, c *connect.Conn) (any, error)

func (funcTask) Name() string { return "test" }
func (f funcTask) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return f(ctx, c)
}

func fleet(n int) []*hosts.Host {
	var list []*hosts.Host
	for i := range n {
		list = append(list, &hosts.Host{Name: fmt.Sprintf("h%d", i)})
	}
	return list
}

func TestRunnerBoundsConcurrency(t *testing.T) {
	var running, peak atomic.Int32
	task := funcTask(func(ctx context.Context, c *connect.Conn) (any, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		return c.Host.Name, nil
	})
	r := &Runner{Forks: 3, Dialer: fakeDialer{}}
	results := r.Run(context.Background(), fleet(20), task, nil)
	if got := peak.Load(); got > 3 || got < 2 {
		t.Errorf("peak concurrency %d, want at most 3 (and more than 1)", got)
	}
	for i, res := range results {
		if res.Status != StatusOK || res.Data != fmt.Sprintf("h%d", i) {
			t.Errorf("result %d: %+v, want ok in host order", i, res)
		}
	}
}

func TestRunnerIsolatesFailures(t *testing.T) {
	down := map[string]error{"h1": &connect.Error{Kind: connect.ErrHostKeyChanged, Addr: "x", Err: errors.New("presented SHA256:abc")}}
	task := funcTask(func(ctx context.Context, c *connect.Conn) (any, error) {
		if c.Host.Name == "h2" {
			return nil, errors.New("disk full")
		}
		if c.Host.Name == "h3" {
			panic("task bug")
		}
		return "fine", nil
	})
	var mu sync.Mutex
	reported := map[string]int{}
	r := &Runner{Forks: 2, Dialer: fakeDialer{down: down}}
	results := r.Run(context.Background(), fleet(5), task, func(res Result) {
		mu.Lock()
		reported[res.Host]++
		mu.Unlock()
	})
	want := []Status{StatusOK, StatusUnreachable, StatusFailed, StatusFailed, StatusOK}
	for i, res := range results {
		if res.Status != want[i] {
			t.Errorf("%s: status %s, want %s (%s)", res.Host, res.Status, want[i], res.Error)
		}
		if reported[res.Host] != 1 {
			t.Errorf("%s reported %d times, want once", res.Host, reported[res.Host])
		}
	}
	if !errors.Is(results[1].Err, connect.ErrHostKeyChanged) {
		t.Errorf("the host key error lost its kind through the fan-out: %v", results[1].Err)
	}
	var he *HostError
	if !errors.As(results[1].Err, &he) || he.Stage != StageConnect || he.Host != "h1" {
		t.Errorf("want a HostError at the connect stage, got %#v", results[1].Err)
	}
	if !strings.Contains(results[3].Error, "internal error: task bug") {
		t.Errorf("a panicking task should fail its host only: %q", results[3].Error)
	}
}

func TestRunnerPerHostTimeout(t *testing.T) {
	task := funcTask(func(ctx context.Context, c *connect.Conn) (any, error) {
		if c.Host.Name == "h0" {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return "ok", nil
	})
	r := &Runner{Timeout: 50 * time.Millisecond, Dialer: fakeDialer{}}
	results := r.Run(context.Background(), fleet(2), task, nil)
	if results[0].Status != StatusFailed || !strings.Contains(results[0].Error, "per-host timeout of 50ms") {
		t.Errorf("slow host: %+v, want failed with the timeout named", results[0])
	}
	if results[1].Status != StatusOK {
		t.Errorf("fast host: %+v, want ok", results[1])
	}
}

func TestRunnerInterruptSkipsWaitingHosts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	task := funcTask(func(ctx context.Context, c *connect.Conn) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	go func() { <-started; cancel() }()
	r := &Runner{Forks: 1, Dialer: fakeDialer{}}
	results := r.Run(ctx, fleet(3), task, nil)
	skipped := 0
	for _, res := range results {
		if res.Status == StatusSkipped {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("want the 2 waiting hosts skipped after Ctrl-C, got %+v", results)
	}
}
