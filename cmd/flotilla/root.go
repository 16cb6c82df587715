package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
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
	Output    string // table, json or jsonl; -o wide is "table" with Wide
	Wide      bool
	Quiet     bool
	Verbose   bool
	Overrides hosts.Overrides
	Report    string
	Lock      string
	Metrics   string
	LogFormat string

	logger *slog.Logger // set before any command runs
	lock   *runLock     // held while the command runs, with --lock
}

// usageError marks errors that mean "nothing ran because the input was wrong": exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError carries a run's exit status after its output was already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// codedError is an error to print once, then exit with code.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// Main runs flotilla with the given streams and arguments and returns the exit status.
func Main(stdin, stdout, stderr *os.File, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, newIOStreams(stdin, stdout, stderr), args)
}

func run(ctx context.Context, io *IOStreams, args []string) int {
	opts := &globalOptions{logger: slog.New(slog.DiscardHandler)}
	defer opts.releaseLock()
	root := newRootCmd(io, opts)
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
	var coded codedError
	if errors.As(err, &coded) {
		return coded.code
	}
	return ExitUsage
}

func newRootCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "flotilla",
		Short: "Manage a fleet of Docker hosts over SSH, installing nothing on them",
		Long: `flotilla reads an inventory of hosts, connects to each over SSH, talks to its
Docker engine through that connection, and runs a command on every selected host
in parallel.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Flag errors are usage errors: exit 2 with the message. The lock is
		// taken here, before anything connects.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			opts.logger = newLogger(io, opts)
			if isMetaCommand(cmd) {
				return nil
			}
			return opts.takeLock()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	f := root.PersistentFlags()
	f.StringVarP(&opts.Inventory, "inventory", "i", os.Getenv("FLOTILLA_INVENTORY"), "inventory file (env FLOTILLA_INVENTORY)")
	f.StringVarP(&opts.Limit, "limit", "l", "", "host pattern: names, globs, @group, key=value; ',' union, '&' and, '!' not")
	f.IntVarP(&opts.Forks, "forks", "f", 32, "hosts to work on at once")
	f.DurationVar(&opts.Timeout, "timeout", 5*time.Minute, "time limit per host, connection included")
	f.StringVarP(&opts.Output, "output", "o", "table", "output format: table, wide (every column), json or jsonl")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print only failures and the summary")
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "debug logs to stderr")
	addOverrideFlags(f, &opts.Overrides)
	f.StringVar(&opts.Report, "report", "", "also write the JSON document of the run to `FILE` (atomically, also when hosts fail)")
	f.StringVar(&opts.Lock, "lock", "", "hold an exclusive lock on `FILE` while running; exit 3 if another run holds it")
	f.StringVar(&opts.Metrics, "metrics", "", "write Prometheus textfile-collector metrics of the run to `FILE` (atomically)")
	f.StringVar(&opts.LogFormat, "log-format", "text", "stderr log format: text or json (one JSON object per line, for journald or log shippers)")
	_ = root.RegisterFlagCompletionFunc("limit", limitCompletion(opts))
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "wide", "json", "jsonl"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))

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
	case "wide":
		// Commands compare Output with "table": wide is a table with every column.
		o.Output, o.Wide = "table", true
	default:
		return usageError{fmt.Errorf("unknown output format %q (expected table, wide, json or jsonl)", o.Output)}
	}
	switch o.LogFormat {
	case "text", "json":
	default:
		return usageError{fmt.Errorf("unknown log format %q (expected text or json)", o.LogFormat)}
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
	for _, file := range []struct{ flag, path string }{{"--report", o.Report}, {"--metrics", o.Metrics}, {"--lock", o.Lock}} {
		if file.path == "" {
			continue
		}
		if err := checkDir(file.path); err != nil {
			return usageError{withHint{fmt.Errorf("%s %s: %w", file.flag, file.path, err),
				"create the directory first, or give a path in an existing one"}}
		}
	}
	return nil
}

// isMetaCommand says whether cmd only talks about flotilla (help, shell
// completion): those never wait for or take the run lock.
func isMetaCommand(cmd *cobra.Command) bool {
	for c := cmd; c.HasParent(); c = c.Parent() {
		if !c.Parent().HasParent() {
			switch name := c.Name(); {
			case name == "help", name == "completion", strings.HasPrefix(name, "__complete"):
				return true
			}
		}
	}
	return false
}

// checkDir says whether path's directory exists, so a bad --report or
// --metrics path stops the run before it connects, not after.
func checkDir(path string) error {
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("no such directory %s", filepath.Dir(path))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", filepath.Dir(path))
	}
	return nil
}

// limitCompletion completes --limit from the inventory (-i or
// FLOTILLA_INVENTORY): host names, @groups and labels. After a ',' ':' '&'
// or '!' it completes the next term.
func limitCompletion(opts *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if opts.Inventory == "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		inv, err := hosts.Load(opts.Inventory)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		prefix := toComplete[:strings.LastIndexAny(toComplete, ",:&!")+1]
		var out []string
		for _, c := range inv.Completions() {
			if strings.HasPrefix(prefix+c, toComplete) {
				out = append(out, prefix+c)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
