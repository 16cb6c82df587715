package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Faults: ways to break a lab host on purpose, for tests of how flotilla
// reports them. Whatever they make outside the lab directory (system users,
// sockets under /run/user) is undone by Lab.Stop.

// addCleanup registers f to run in Stop, after every sshd has stopped.
func (l *Lab) addCleanup(f func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cleanups = append(l.cleanups, f)
}

func (l *Lab) runCleanups() error {
	l.mu.Lock()
	fs := l.cleanups
	l.cleanups = nil
	l.mu.Unlock()
	var errs []error
	for i := len(fs) - 1; i >= 0; i-- {
		errs = append(errs, fs[i]())
	}
	return errors.Join(errs...)
}

// Stop stops the engine (its containers too); its socket goes away, so
// hosts using it answer SSH but have no engine. Start starts it again.
func (e *Engine) Stop() error { return e.stop() }

// Start starts a stopped engine again with the same directories and socket.
func (e *Engine) Start(ctx context.Context) error {
	if e.p.alive() {
		return fmt.Errorf("engine %s: already running (pid %d)", e.Name, e.PID)
	}
	return e.start(ctx)
}

// randomSuffix is n random bytes in hex.
func randomSuffix(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AddRootlessSocket makes /run/user/UID/docker.sock for u: a socket owned
// by u that relays to engine e, where a rootless engine's socket would be.
// It lets socket discovery find "the user's rootless engine". Stop removes
// it (and /run/user/UID when the lab made it).
func (l *Lab) AddRootlessSocket(u *User, e *Engine) (string, error) {
	dir := filepath.Join("/run/user", strconv.Itoa(u.UID))
	made := false
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		made = true
	}
	if err := os.Chown(dir, u.UID, -1); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	if err := os.Chown(path, u.UID, -1); err != nil {
		ln.Close()
		return "", err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				relay(c, e.Socket)
				mu.Lock()
				delete(open, c)
				mu.Unlock()
			}()
		}
	}()
	l.addCleanup(func() error {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		os.Remove(path)
		if made {
			return os.RemoveAll(dir)
		}
		return nil
	})
	return path, nil
}

// relay copies between c and a new connection to socket until either ends.
func relay(c net.Conn, socket string) {
	defer c.Close()
	up, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// FreezeAll SIGSTOPs the host's sshd and every process below it (the
// per-connection sshds too): open connections go silent, like a host
// that hung mid-run. ThawAll undoes it.
func (h *Host) FreezeAll() error {
	return h.signalAll(syscall.SIGSTOP)
}

// ThawAll SIGCONTs what FreezeAll stopped.
func (h *Host) ThawAll() error {
	return h.signalAll(syscall.SIGCONT)
}

func (h *Host) signalAll(sig syscall.Signal) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.p.alive() {
		return fmt.Errorf("%s: sshd is not running", h.Name)
	}
	if err := h.p.signal(sig); err != nil {
		return err
	}
	for _, pid := range descendants(h.p.PID) {
		st, err := procStartTime(pid)
		if err != nil {
			continue
		}
		_ = (&proc{PID: pid, Start: st}).signal(sig)
	}
	return nil
}
