package connect

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Host key policies (the inventory's host_key_check).
const (
	HostKeyStrict    = "strict"     // only keys already in known_hosts
	HostKeyAcceptNew = "accept-new" // add unknown keys, refuse changed ones
)

// hostKeyCallback verifies the server's key against knownHostsFile. An
// unknown key is refused (strict) or appended (accept-new); a changed key
// is always refused. Errors carry the fingerprints so the admin can compare
// them with the server's.
func hostKeyCallback(knownHostsFile, policy string) (ssh.HostKeyCallback, error) {
	if knownHostsFile == "" {
		return nil, errors.New("no known_hosts file configured")
	}
	if policy == HostKeyAcceptNew {
		if err := ensureFile(knownHostsFile); err != nil {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	} else if _, err := os.Stat(knownHostsFile); err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	check, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts %s: %w", knownHostsFile, err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := verifyKey(check, knownHostsFile, hostname, remote, key)
		if errors.Is(err, ErrHostKeyUnknown) && policy == HostKeyAcceptNew {
			return acceptNewKey(knownHostsFile, hostname, remote, key)
		}
		return err
	}, nil
}

// verifyKey turns knownhosts' verdict into a classified error.
func verifyKey(check ssh.HostKeyCallback, file, hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := check(hostname, remote, key)
	var keyErr *knownhosts.KeyError
	if !errors.As(err, &keyErr) {
		return err
	}
	presented := key.Type() + " " + ssh.FingerprintSHA256(key)
	if len(keyErr.Want) == 0 {
		return &Error{Kind: ErrHostKeyUnknown, Addr: hostname,
			Err:  fmt.Errorf("%s presented %s, which is not in %s", hostname, presented, file),
			Hint: `verify the fingerprint and add the key to known_hosts, or set host_key_check = "accept-new"`}
	}
	return hostKeyChanged(hostname, presented, keyErr.Want)
}

func hostKeyChanged(hostname, presented string, want []knownhosts.KnownKey) error {
	var w []string
	for _, k := range want {
		w = append(w, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
	}
	return &Error{Kind: ErrHostKeyChanged, Addr: hostname,
		Err: fmt.Errorf("%s presented %s, known_hosts expects %s", hostname, presented, strings.Join(w, ", ")),
		Hint: "the host's key differs from the one recorded: if the host was reinstalled, remove the old line " +
			"(ssh-keygen -R) and verify the new fingerprint; otherwise someone may be intercepting the connection"}
}

// knownHostsMu serialises appends within this process; the flock on the
// file serialises them with other processes (another flotilla, ssh).
var knownHostsMu sync.Mutex

// acceptNewKey appends key for hostname to file, unless another writer
// recorded the host in the meantime: then the key must match what it wrote.
func acceptNewKey(file, hostname string, remote net.Addr, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	f, err := os.OpenFile(file, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return &Error{Kind: ErrHostKeyUnknown, Addr: hostname, Err: fmt.Errorf("accept-new: %w", err)}
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return &Error{Kind: ErrHostKeyUnknown, Addr: hostname, Err: fmt.Errorf("accept-new: locking %s: %w", file, err)}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	// Re-read under the lock: a concurrent run may have added the host.
	check, err := knownhosts.New(file)
	if err != nil {
		return fmt.Errorf("reading known_hosts %s: %w", file, err)
	}
	err = verifyKey(check, file, hostname, remote, key)
	if !errors.Is(err, ErrHostKeyUnknown) {
		return err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key) + "\n"
	if err := appendLine(f, line); err != nil {
		return &Error{Kind: ErrHostKeyUnknown, Addr: hostname, Err: fmt.Errorf("accept-new: writing %s: %w", file, err)}
	}
	return nil
}

// appendLine appends line, first ending an unterminated last line.
func appendLine(f *os.File, line string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if n := fi.Size(); n > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, n-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line); err != nil {
		return err
	}
	return f.Sync()
}

func ensureFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
