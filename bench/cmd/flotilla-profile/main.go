// Command flotilla-profile runs flotilla's fan-out (hosts.Load, connect.Pool,
// tasks.Runner, the check or images task: the code every flotilla command
// runs, without the CLI's flags and rendering) a few times under pprof, for
// finding what make bench shows falls short.
//
//	flotilla-profile -i INVENTORY [-f 32] [-task images|check] [-n 5] [-cpuprofile FILE] [-memprofile FILE]
//	go tool pprof -top -cum bin/flotilla-profile FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"flotilla/connect"
	"flotilla/hosts"
	"flotilla/tasks"
)

func main() {
	inventory := flag.String("i", "", "inventory")
	forks := flag.Int("f", 32, "hosts at once")
	taskName := flag.String("task", "images", "images or check")
	n := flag.Int("n", 5, "runs")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile")
	memprofile := flag.String("memprofile", "", "write a heap profile (in use at the end of the last run's fan-out)")
	flag.Parse()
	if err := run(*inventory, *forks, *taskName, *n, *cpuprofile, *memprofile); err != nil {
		fmt.Fprintln(os.Stderr, "flotilla-profile: error:", err)
		os.Exit(1)
	}
}

func run(inventory string, forks int, taskName string, n int, cpuprofile, memprofile string) error {
	var task tasks.Task
	switch taskName {
	case "images":
		task = tasks.Images{}
	case "check":
		task = tasks.Check{}
	default:
		return fmt.Errorf("unknown -task %q (expected images or check)", taskName)
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for i := 0; i < n; i++ {
		start := time.Now()
		inv, err := hosts.Load(inventory)
		if err != nil {
			return err
		}
		list, err := inv.Select("")
		if err != nil {
			return err
		}
		pool := connect.NewPool()
		runner := &tasks.Runner{Forks: forks, Timeout: time.Minute, Dialer: pool}
		failed := 0
		results := runner.Run(context.Background(), list, task, func(r tasks.Result) {
			if r.Status != tasks.StatusOK {
				failed++
			}
		})
		if i == n-1 && memprofile != "" {
			if err := writeHeap(memprofile); err != nil {
				return err
			}
		}
		pool.Close()
		fmt.Fprintf(os.Stderr, "run %d: %d hosts, %d failed, %s\n", i+1, len(results), failed, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

func writeHeap(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}
