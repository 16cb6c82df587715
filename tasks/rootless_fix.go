package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"flotilla/connect"
)

// safeFixes are the checks whose fix --fix may apply: idempotent, and
// harmless when run twice or on a host that is already right.
var safeFixes = []string{CheckLinger}

// applyFixes runs (or, with DryRun, only announces) the fix of every
// failing check that has a safe fix. A command that fails, for example for
// want of a sudo right, is recorded, not retried and never prompted for.
func (t Rootless) applyFixes(ctx context.Context, c *connect.Conn, p probe, checks []RootlessCheck, user string) []RootlessFix {
	var fixes []RootlessFix
	for _, ch := range checks {
		if ch.Status != CheckFail || !isSafeFix(ch.Name) {
			continue
		}
		cmd := safeFixCommand(p, ch.Name, user)
		if t.Announce != nil {
			t.Announce(c.Host.Name, cmd, t.DryRun)
		}
		f := RootlessFix{Check: ch.Name, Command: cmd, Outcome: FixDryRun}
		if !t.DryRun {
			f.Outcome = FixApplied
			if err := runFix(ctx, c, cmd); err != nil {
				f.Outcome, f.Error = FixFailed, err.Error()
			}
		}
		fixes = append(fixes, f)
	}
	return fixes
}

func isSafeFix(check string) bool {
	for _, s := range safeFixes {
		if s == check {
			return true
		}
	}
	return false
}

// sudoPrefix is "sudo -n " (never prompt) unless the SSH user is root.
func sudoPrefix(p probe) string {
	if p.get("ssh_uid") == "0" {
		return ""
	}
	return "sudo -n "
}

// safeFixCommand is the exact command --fix runs for a check.
func safeFixCommand(p probe, check, user string) string {
	switch check {
	case CheckLinger:
		return lingerFix(p, user, sudoPrefix(p))
	}
	return ""
}

// runFix runs cmd on the host; its error says why it failed in the words of
// sudo or the command, with a hint when a sudo right is missing.
func runFix(ctx context.Context, c *connect.Conn, cmd string) error {
	var out, errb bytes.Buffer
	err := c.Run(ctx, cmd, nil, &out, &errb)
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(errb.String())
	if msg == "" {
		msg = strings.TrimSpace(out.String())
	}
	var exit *ssh.ExitError
	if !errors.As(err, &exit) {
		return err
	}
	return fixError(exit.ExitStatus(), msg, c.Host.User)
}

// fixError explains a failed fix command from its exit status and output.
func fixError(status int, msg, sshUser string) error {
	msg = strings.Join(strings.Fields(msg), " ")
	switch {
	case strings.Contains(msg, "a password is required") || strings.Contains(msg, "a terminal is required"):
		return fmt.Errorf("no sudo right: %s (give %s a NOPASSWD sudo rule for this command, or run it on the host)", msg, sshUser)
	case strings.Contains(msg, "not in the sudoers file") || strings.Contains(msg, "is not allowed to") || strings.Contains(msg, "may not run sudo"):
		return fmt.Errorf("no sudo right: %s", msg)
	case status == 127 && strings.Contains(msg, "sudo"):
		return fmt.Errorf("sudo is not installed: %s", msg)
	case msg == "":
		return fmt.Errorf("exit status %d", status)
	}
	return fmt.Errorf("exit status %d: %s", status, msg)
}
