package connect

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authMethods offers the ssh-agent's keys first, then the identity file (or
// the usual ~/.ssh/id_* files when none is configured). An encrypted key is
// skipped with a recorded reason, never prompted for: flotilla runs under cron.
// The returned notes explain keys that were skipped; they are added to an
// authentication failure so the admin sees why a key was not offered.
func authMethods(ag agent.ExtendedAgent, identityFile string, load func(path string) (ssh.Signer, error)) (methods []ssh.AuthMethod, notes []error, err error) {
	if ag != nil {
		methods = append(methods, ssh.PublicKeysCallback(ag.Signers))
	}
	files := []string{identityFile}
	explicit := identityFile != ""
	if !explicit {
		files = defaultIdentityFiles()
	}
	var signers []ssh.Signer
	for _, f := range files {
		s, err := load(f)
		if err != nil {
			if explicit || !errors.Is(err, os.ErrNotExist) {
				notes = append(notes, err)
			}
			continue
		}
		signers = append(signers, s)
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if len(methods) == 0 {
		if len(notes) > 0 {
			return nil, nil, &Error{Kind: ErrAuth, Addr: "local", Err: errors.Join(notes...),
				Hint: "load the key into ssh-agent (ssh-add) or set identity_file to an unencrypted key"}
		}
		return nil, nil, &Error{Kind: ErrAuth, Addr: "local", Err: errors.New("no ssh-agent and no identity file"),
			Hint: "start ssh-agent and ssh-add a key, or set identity_file in the inventory"}
	}
	return methods, notes, nil
}

// dialAgent connects to the ssh-agent named by SSH_AUTH_SOCK, or returns nil.
// One agent connection serves every host of a run (the client is goroutine-safe).
func dialAgent() (agent.ExtendedAgent, io.Closer) {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return nil, nil
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return nil, nil
	}
	return agent.NewClient(conn), conn
}

func loadSigner(path string) (ssh.Signer, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity file: %w", err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("identity file %s is encrypted and no ssh-agent holds it", path)
	}
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	return s, nil
}

func defaultIdentityFiles() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		out = append(out, filepath.Join(home, ".ssh", n))
	}
	return out
}
