package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"

	"flotilla/connect"
)

// Rootless checks a host's readiness for rootless Docker for one user: the
// engine, linger, the user service, subordinate ids, uidmap, user
// namespaces, low ports and the CLI's environment. With Fix it applies the
// safe fixes (linger) through sudo -n and checks again.
type Rootless struct {
	User   string // the user to check; "" means the SSH user
	Fix    bool   // apply the safe, idempotent fixes
	DryRun bool   // with Fix: only say what would run

	// Announce, when set, is called before each fix command runs (or, with
	// DryRun, instead of running it). It may be called from many hosts at once.
	Announce func(host, command string, dryRun bool)
}

// RootlessResult is one host's rootless readiness.
type RootlessResult struct {
	User    string          `json:"user"`
	UID     int             `json:"uid"`
	Socket  string          `json:"socket"` // the socket flotilla's connection uses
	Checks  []RootlessCheck `json:"checks"`
	Fixes   []RootlessFix   `json:"fixes,omitempty"`
	Failing int             `json:"failing"` // checks with status fail
}

// FixOutcome says what happened to one fix command.
type FixOutcome string

const (
	FixApplied FixOutcome = "applied"
	FixDryRun  FixOutcome = "dry-run"
	FixFailed  FixOutcome = "failed"
)

// RootlessFix is one fix command and what came of it.
type RootlessFix struct {
	Check   string     `json:"check"`
	Command string     `json:"command"`
	Outcome FixOutcome `json:"outcome"`
	Error   string     `json:"error,omitempty"`
}

// userNamePattern is what flotilla accepts as a user name: the portable
// POSIX set, so it can go on a shell command line unquoted.
var userNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)

// ValidUserName reports whether name is acceptable for --user.
func ValidUserName(name string) bool { return userNamePattern.MatchString(name) }

func (Rootless) Name() string { return "rootless" }

func (t Rootless) Run(ctx context.Context, c *connect.Conn) (any, error) {
	user := t.User
	if user == "" {
		user = c.Host.User
	}
	if !ValidUserName(user) {
		return nil, fmt.Errorf("user name %q is not a portable user name", user)
	}
	p, err := runProbe(ctx, c, user)
	if err != nil {
		return nil, err
	}
	var engine rootlessEngine
	if c.Engine != nil {
		engine = c.Engine
	}
	facts := gatherEngine(ctx, engine, c.Socket, c.Host.User == user || c.Socket == rootlessSocket(p.get("uid")))
	res := &RootlessResult{User: user, Socket: c.Socket}
	res.UID, _ = strconv.Atoi(p.get("uid"))
	res.Checks = evaluate(p, facts, user)

	if t.Fix {
		res.Fixes = t.applyFixes(ctx, c, p, res.Checks, user)
		if applied(res.Fixes) {
			// Check again: the result shows the host as it is now.
			if p, err = runProbe(ctx, c, user); err != nil {
				return nil, fmt.Errorf("checking again after the fixes: %w", err)
			}
			res.Checks = evaluate(p, facts, user)
		}
	}
	for _, ch := range res.Checks {
		if ch.Status == CheckFail {
			res.Failing++
		}
	}
	return res, nil
}

func applied(fixes []RootlessFix) bool {
	for _, f := range fixes {
		if f.Outcome == FixApplied {
			return true
		}
	}
	return false
}

// runProbe runs the probe script for user in one SSH session.
func runProbe(ctx context.Context, c *connect.Conn, user string) (probe, error) {
	var out, errb bytes.Buffer
	err := c.Run(ctx, "sh -s -- "+user, strings.NewReader(rootlessProbeScript), &out, &errb)
	if err != nil {
		var exit *ssh.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("rootless probe exited with status %d: %s", exit.ExitStatus(), strings.TrimSpace(errb.String()))
		}
		return nil, fmt.Errorf("rootless probe: %w", err)
	}
	p := parseProbe(out.String())
	if !p.complete() {
		return nil, fmt.Errorf("rootless probe stopped early (does the host have a POSIX sh?): %s", strings.TrimSpace(errb.String()))
	}
	if p.get("user_missing") == "1" {
		return nil, fmt.Errorf("user %q does not exist on the host", user)
	}
	return p, nil
}

// rootlessEngine is what the checks need from the Engine API.
type rootlessEngine interface {
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
}

// maxInspected bounds the containers inspected for published ports.
const maxInspected = 500

// gatherEngine asks the engine on the connection whether it is rootless and,
// if so, which host ports its containers publish. mine says the engine
// belongs to the checked user; another user's engine is not asked.
func gatherEngine(ctx context.Context, e rootlessEngine, socket string, mine bool) engineFacts {
	f := engineFacts{Socket: socket}
	if !mine {
		return f
	}
	if e == nil {
		f.Err = "no engine answers on " + socket
		return f
	}
	f.Queried = true
	info, err := e.Info(ctx, client.InfoOptions{})
	if err != nil {
		f.Err = err.Error()
		return f
	}
	f.Version = info.Info.ServerVersion
	for _, opt := range info.Info.SecurityOptions {
		if strings.Contains(opt, "name=rootless") {
			f.Rootless = true
		}
	}
	if !f.Rootless {
		return f
	}
	// Published ports come from each container's port bindings, so a
	// container that could not start because of its port counts too.
	list, err := e.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		f.PortsErr = err.Error()
		return f
	}
	seen := map[int]bool{}
	for i, s := range list.Items {
		if i >= maxInspected {
			break
		}
		in, err := e.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if err != nil {
			continue // removed meanwhile
		}
		if in.Container.HostConfig == nil {
			continue
		}
		for _, bindings := range in.Container.HostConfig.PortBindings {
			for _, b := range bindings {
				first, _, _ := strings.Cut(b.HostPort, "-")
				if port, err := strconv.Atoi(first); err == nil && !seen[port] {
					seen[port] = true
					f.Ports = append(f.Ports, port)
				}
			}
		}
	}
	return f
}
