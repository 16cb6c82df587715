package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"flotilla/backup"
	"flotilla/hosts"
)

// backupPath streams tar of host paths over an exec session on the SSH
// connection. Paths are stored relative to /, so "/srv/data" is
// "srv/data/..." in the archive.
func backupPath(ctx context.Context, sh hostRunner, set *backup.SetWriter, p hosts.PathBackup) (BackupItem, error) {
	cmd := tarCommand(p.Paths, p.Exclude)
	iw, err := set.Create(backup.KindPath, p.Name, backup.Source{Paths: p.Paths, Exclude: p.Exclude})
	if err != nil {
		return BackupItem{}, fmt.Errorf("path %q: %w", p.Name, err)
	}
	stderr := &limitedBuffer{max: maxStderr}
	err = sh.Run(ctx, cmd, nil, iw, stderr)
	if err != nil {
		iw.Abort(err)
		var exit *ssh.ExitError
		if errors.As(err, &exit) {
			return BackupItem{}, fmt.Errorf("path %q: tar exited with status %d: %s", p.Name, exit.ExitStatus(), stderrOrNone(stderr, nil))
		}
		return BackupItem{}, fmt.Errorf("path %q: %w", p.Name, err)
	}
	stored, err := iw.Close()
	if err != nil {
		return BackupItem{}, fmt.Errorf("path %q: %w", p.Name, err)
	}
	it := itemResult(stored)
	if stderr.Len() > 0 { // tar succeeded but said something, e.g. "socket ignored"
		it.Warnings = append(it.Warnings, stderr.String(nil))
	}
	return it, nil
}

// tarCommand is the host command that writes the archive to stdout.
func tarCommand(paths, exclude []string) string {
	args := []string{"tar", "-C", "/", "-cf", "-"}
	for _, e := range exclude {
		// Members are named relative to /, so absolute patterns lose their "/".
		args = append(args, "--exclude="+strings.TrimPrefix(e, "/"))
	}
	args = append(args, "--")
	for _, p := range paths {
		rel := strings.TrimLeft(p, "/")
		if rel == "" {
			rel = "."
		}
		args = append(args, rel)
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell (the SSH server runs commands
// through the user's shell).
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
