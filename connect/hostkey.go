package connect

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyCallback verifies the server's key against the host's known_hosts
// file. An unknown key or a changed key becomes a classified error carrying
// the fingerprints, so the admin can compare them with the server's.
func hostKeyCallback(knownHostsFile string) (ssh.HostKeyCallback, error) {
	if knownHostsFile == "" {
		return nil, errors.New("no known_hosts file configured")
	}
	if _, err := os.Stat(knownHostsFile); err != nil {
		return nil, fmt.Errorf("known_hosts: %w", err)
	}
	check, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts %s: %w", knownHostsFile, err)
	}
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var keyErr *knownhosts.KeyError
		if !errors.As(err, &keyErr) {
			return err
		}
		presented := key.Type() + " " + ssh.FingerprintSHA256(key)
		if len(keyErr.Want) == 0 {
			return &Error{Kind: ErrHostKeyUnknown, Addr: hostname,
				Err:  fmt.Errorf("%s presented %s, which is not in %s", hostname, presented, knownHostsFile),
				Hint: `verify the fingerprint and add the key to known_hosts, or set host_key_check = "accept-new"`}
		}
		var want []string
		for _, k := range keyErr.Want {
			want = append(want, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
		}
		return &Error{Kind: ErrHostKeyChanged, Addr: hostname,
			Err: fmt.Errorf("%s presented %s, known_hosts expects %s", hostname, presented, strings.Join(want, ", ")),
			Hint: "the host's key differs from the one recorded: if the host was reinstalled, remove the old line " +
				"(ssh-keygen -R) and verify the new fingerprint; otherwise someone may be intercepting the connection"}
	}, nil
}
