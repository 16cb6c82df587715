// Command flotilla-lab starts and stops a flotilla test lab (see
// internal/lab) whose processes outlive the command, for make demo and
// make bench.
//
//	flotilla-lab up --state DIR/lab.json [--hosts 3] [--engines N] [--no-registry]
//	flotilla-lab status --state FILE
//	flotilla-lab down --state FILE
//	flotilla-lab clean [--older-than 1m]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"flotilla/internal/lab"
)

const usage = `usage:
  flotilla-lab up --state FILE [--hosts N] [--engines N] [--no-registry]
  flotilla-lab status --state FILE
  flotilla-lab down --state FILE
  flotilla-lab clean [--older-than DUR]   remove dead labs' directories (/tmp/flab-*)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	fl := flag.NewFlagSet("flotilla-lab "+cmd, flag.ContinueOnError)
	fl.SetOutput(stderr)
	statePath := fl.String("state", "", "lab state file (JSON)")
	olderThan := fl.Duration("older-than", time.Minute, "clean: only directories older than this")
	var hosts, engines *int
	var noRegistry *bool
	if cmd == "up" {
		hosts = fl.Int("hosts", 3, "number of sshd hosts")
		engines = fl.Int("engines", 0, "number of docker engines (default min(hosts, 3))")
		noRegistry = fl.Bool("no-registry", false, "no registry and no test images")
	}
	switch cmd {
	case "up", "down", "status", "clean":
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "flotilla-lab: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if cmd == "clean" {
		removed, err := lab.CleanStale(*olderThan)
		for _, d := range removed {
			fmt.Fprintf(stdout, "removed %s\n", d)
		}
		if err != nil {
			fmt.Fprintf(stderr, "flotilla-lab clean: %v\n", err)
			return 1
		}
		return 0
	}
	if *statePath == "" || fl.NArg() != 0 {
		fmt.Fprintf(stderr, "flotilla-lab %s: --state FILE is required and there are no arguments\n%s", cmd, usage)
		return 2
	}
	var err error
	switch cmd {
	case "up":
		err = up(*statePath, lab.Config{Hosts: *hosts, Engines: *engines, NoRegistry: *noRegistry, Detach: true}, stdout, stderr)
	case "down":
		err = down(*statePath, stdout)
	case "status":
		var ok bool
		ok, err = status(*statePath, stdout)
		if err == nil && !ok {
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "flotilla-lab %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func up(statePath string, cfg lab.Config, stdout, stderr io.Writer) error {
	if cfg.Hosts <= 0 {
		return errors.New("--hosts must be at least 1")
	}
	if old, err := lab.Attach(statePath); err == nil {
		if anyRunning(old) {
			return fmt.Errorf("a lab is already up (state %s, dir %s); run flotilla-lab down first", statePath, old.Dir)
		}
		// A dead lab from an earlier run: clear what is left of it.
		if err := old.Stop(); err != nil {
			fmt.Fprintf(stderr, "flotilla-lab up: cleaning stale lab %s: %v\n", old.Dir, err)
		}
		_ = os.Remove(statePath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("existing state file: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		return err
	}
	if err := l.WriteState(statePath); err != nil {
		return errors.Join(err, l.Stop())
	}
	fmt.Fprintln(stdout, l.Inventory)
	reg := "no registry"
	if l.Registry != "" {
		reg = "registry " + l.Registry
	}
	fmt.Fprintf(stdout, "lab up in %.1fs: %d hosts (%s:%d .. %s:%d), %d engines, %s, dir %s, state %s\n",
		time.Since(t0).Seconds(), len(l.Hosts), l.Hosts[0].Address, l.Hosts[0].Port,
		l.Hosts[len(l.Hosts)-1].Address, l.Hosts[len(l.Hosts)-1].Port, len(l.Engines), reg, l.Dir, statePath)
	return nil
}

func down(statePath string, stdout io.Writer) error {
	l, err := lab.Attach(statePath)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stdout, "no lab state at %s; nothing to stop\n", statePath)
		return nil
	}
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := l.Stop(); err != nil {
		return err
	}
	if err := os.Remove(statePath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(stdout, "lab down in %.1fs: %s removed\n", time.Since(t0).Seconds(), l.Dir)
	return nil
}

// status prints the lab and reports whether every process is up.
func status(statePath string, stdout io.Writer) (bool, error) {
	l, err := lab.Attach(statePath)
	if err != nil {
		return false, err
	}
	ok := true
	word := func(up bool) string {
		if up {
			return "up"
		}
		ok = false
		return "DOWN"
	}
	fmt.Fprintf(stdout, "dir        %s\ninventory  %s\nssh_config %s\n", l.Dir, l.Inventory, l.SSHConfig)
	if l.Registry != "" {
		fmt.Fprintf(stdout, "registry   %s %s\n", l.Registry, word(l.RegistryRunning()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range l.Engines {
		up := e.Running() && e.Ping(ctx) == nil
		fmt.Fprintf(stdout, "engine     %-6s pid %-7d %s %s\n", e.Name, e.PID, e.Socket, word(up))
	}
	for _, h := range l.Hosts {
		fmt.Fprintf(stdout, "host       %-8s pid %-7d %s:%d engine %s %s\n", h.Name, h.PID, h.Address, h.Port, h.Engine.Name, word(h.Running()))
	}
	return ok, nil
}

func anyRunning(l *lab.Lab) bool {
	if l.RegistryRunning() {
		return true
	}
	for _, e := range l.Engines {
		if e.Running() {
			return true
		}
	}
	for _, h := range l.Hosts {
		if h.Running() {
			return true
		}
	}
	return false
}
