package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// runLock is an flock(2) on a file, held for the whole run: the kernel drops
// it when the process ends, however it ends, so a killed run leaves no stale
// lock. The holder writes its PID into the file for the next run's message.
type runLock struct {
	f    *os.File
	path string
}

func (o *globalOptions) takeLock() error {
	if o.Lock == "" || o.lock != nil {
		return nil
	}
	l, err := acquireLock(o.Lock)
	if err != nil {
		return err
	}
	o.lock = l
	o.logger.Debug("lock acquired", "path", o.Lock, "pid", os.Getpid())
	return nil
}

func (o *globalOptions) releaseLock() {
	if o.lock != nil {
		o.lock.release()
		o.lock = nil
	}
}

func acquireLock(path string) (*runLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, usageError{fmt.Errorf("--lock %s: %w", path, err)}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := lockHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, codedError{ExitLocked, withHint{
				fmt.Errorf("lock %s is held by another run (%s)", path, holder),
				"wait for that run to finish; a run that dies releases the lock by itself"}}
		}
		return nil, usageError{fmt.Errorf("--lock %s: %w", path, err)}
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(pid, 0)
		_ = f.Sync()
	}
	return &runLock{f: f, path: path}, nil
}

// lockHolder reads the PID the holder wrote.
func lockHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	if pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n]))); err == nil && pid > 0 {
		return "pid " + strconv.Itoa(pid)
	}
	return "pid unknown"
}

// release empties the file, so it names no finished run, and unlocks it.
// The file stays: removing it would let two runs lock two different files.
func (l *runLock) release() {
	_ = l.f.Truncate(0)
	_ = l.f.Close()
}
