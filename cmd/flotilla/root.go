package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"flotilla/hosts"
)

// globalOptions are the flags every command shares.
type globalOptions struct {
	Inventory string
	Limit     string
	Forks     int
	Timeout   time.Duration
	Output    string
	Quiet     bool
	Verbose   bool
	Overrides hosts.Overrides
}

// usageError marks errors that mean "nothing ran because the input was wrong": exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries a run's exit status after its output was already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs flotilla with the given streams and arguments and returns the exit status.
func Main(stdin, stdout, stderr *os.File, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, newIOStreams(stdin, stdout, stderr), args)
}

func run(ctx context.Context, io *IOStreams, args []string) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	if ctx.Err() != nil {
		fmt.Fprintln(io.ErrOut, "flotilla: interrupted")
		return ExitInterrupted
	}
	printError(io, err)
	return ExitUsage
}

func newRootCmd(io *IOStreams) *cobra.Command {
	opts := &globalOptions{}
	root := &cobra.Command{
		Use:   "flotilla",
		Short: "Manage a fleet of Docker hosts over SSH, installing nothing on them",
		Long: `flotilla reads an inventory of hosts, connects to each over SSH, talks to its
Docker engine through that connection, and runs a command on every selected host
in parallel.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Flag errors are usage errors: exit 2 with the message.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return opts.validate()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := root.PersistentFlags()
	f.StringVarP(&opts.Inventory, "inventory", "i", os.Getenv("FLOTILLA_INVENTORY"), "inventory file (env FLOTILLA_INVENTORY)")
	f.StringVarP(&opts.Limit, "limit", "l", "", "host pattern: names, globs, @group, key=value; ',' union, '&' and, '!' not")
	f.IntVarP(&opts.Forks, "forks", "f", 32, "hosts to work on at once")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "time limit per host, connection included")
	f.StringVarP(&opts.Output, "output", "o", "table", "output format: table, json or jsonl")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only failures and the summary")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "log what flotilla does to stderr")
	addOverrideFlags(f, &opts.Overrides)

	root.AddCommand(
		newHostsCmd(io, opts),
		newCheckCmd(io, opts),
		newImagesCmd(io, opts),
		newPsCmd(io, opts),
		newEnvCmd(io, opts),
		newPullCmd(io, opts),
		newPromoteCmd(io, opts),
		newRootlessCmd(io, opts),
		newBackupCmd(io, opts),
		newRestoreCmd(io, opts),
	)
	return root
}

func (o *globalOptions) validate() error {
	switch o.Output {
	case "table", "json", "jsonl":
	default:
		return usageError{fmt.Errorf("unknown output format %q (expected table, json or jsonl)", o.Output)}
	}
	if o.Forks < 1 {
		return usageError{fmt.Errorf("--forks must be at least 1, got %d", o.Forks)}
	}
	if o.Timeout < 0 {
		return usageError{fmt.Errorf("--timeout must not be negative, got %s", o.Timeout)}
	}
	if err := o.Overrides.Validate(); err != nil {
		return usageError{err}
	}
	return nil
}
