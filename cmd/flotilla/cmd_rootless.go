package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"flotilla/connect"
	"flotilla/tasks"
)

type rootlessOptions struct {
	task tasks.Rootless
}

func newRootlessCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	o := &rootlessOptions{}
	cmd := &cobra.Command{
		Use:   "rootless",
		Short: "Check rootless-Docker readiness on every host: engine, linger, user service, subuid/subgid, ...",
		Long: `rootless checks, on every selected host, what a rootless Docker engine needs for
the SSH user (or --for-user NAME): the engine and its socket, systemd linger, the
docker.service user unit, /etc/subuid and /etc/subgid, newuidmap/newgidmap, user
namespaces, ports below 1024, and where the user's docker CLI points. Each check
says ok, warn, fail or n/a, what it found, and the command that fixes it.

--fix applies the safe fixes (linger) through sudo -n, showing each command on
stderr first; --fix --dry-run only shows them. The exit status is 1 when any
host has a failing check.

The global --user sets the SSH user, and so the user checked; --for-user checks
another user over the same login (from root, everything is readable; from an
ordinary user, what sits in the other user's home or runtime directory is n/a).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return rootlessRun(cmd.Context(), io, opts, o)
		},
	}
	f := cmd.Flags()
	// Not --user: that global flag sets the SSH user (rootless --user NAME
	// logs in as NAME and checks NAME); --for-user checks NAME over the SSH user's login.
	f.StringVar(&o.task.User, "for-user", "", "check this user instead of the SSH user (the SSH login stays as it is)")
	f.BoolVar(&o.task.Fix, "fix", false, "apply the safe fixes (linger) through sudo -n")
	f.BoolVar(&o.task.DryRun, "dry-run", false, "with --fix: show the fix commands, run nothing")
	return cmd
}

func rootlessRun(ctx context.Context, io *IOStreams, opts *globalOptions, o *rootlessOptions) error {
	if o.task.User != "" && !tasks.ValidUserName(o.task.User) {
		return usageError{withHint{fmt.Errorf("--for-user %q is not a valid user name", o.task.User),
			"a user name is letters, digits, '_', '.' and '-', at most 32 characters, not starting with a digit or '-'"}}
	}
	if o.task.DryRun && !o.task.Fix {
		return usageError{withHint{errors.New("--dry-run only makes sense with --fix"), "run rootless --fix --dry-run"}}
	}
	var mu sync.Mutex
	o.task.Announce = func(host, command string, dryRun bool) {
		mu.Lock()
		defer mu.Unlock()
		verb := "running"
		if dryRun {
			verb = "would run"
		}
		fmt.Fprintf(io.ErrOut, "flotilla: %s: %s: %s\n", host, verb, command)
	}
	rec := &rootlessRecorder{Rootless: o.task}
	err := runTask(ctx, io, opts, rec, rootlessView)
	failing := rec.failingHosts()
	if failing == 0 {
		return err
	}
	if opts.Output == "table" {
		fmt.Fprintf(io.Out, "%d of %d checked hosts have failing rootless checks\n", failing, rec.count())
	}
	var exit exitError
	if err == nil || (errors.As(err, &exit) && exit.code == ExitUnreachable) {
		return exitError{ExitFailed} // a failing check outranks an unreachable host
	}
	return err
}

// rootlessRecorder runs the task and remembers each host's result, so the
// exit status can say whether any check failed.
type rootlessRecorder struct {
	tasks.Rootless
	mu      sync.Mutex
	results []*tasks.RootlessResult
}

func (r *rootlessRecorder) Run(ctx context.Context, c *connect.Conn) (any, error) {
	data, err := r.Rootless.Run(ctx, c)
	if res, ok := data.(*tasks.RootlessResult); ok && err == nil {
		r.mu.Lock()
		r.results = append(r.results, res)
		r.mu.Unlock()
	}
	return data, err
}

func (r *rootlessRecorder) failingHosts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, res := range r.results {
		if res.Failing > 0 {
			n++
		}
	}
	return n
}

func (r *rootlessRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.results)
}

var rootlessView = view{
	columns: []string{"USER", "CHECK", "STATUS", "FOUND", "FIX"},
	rows: func(data any) [][]string {
		res := data.(*tasks.RootlessResult)
		var rows [][]string
		for _, c := range res.Checks {
			rows = append(rows, []string{res.User, c.Name, string(c.Status), c.Found, c.Fix})
		}
		for _, f := range res.Fixes {
			rows = append(rows, []string{res.User, "fix " + f.Check, string(f.Outcome), f.Error, f.Command})
		}
		return rows
	},
}
