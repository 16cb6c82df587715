// Package connect reaches fleet hosts: one SSH connection per host per run,
// a Docker Engine API client whose requests travel as channels on that
// connection, and host commands as exec sessions on the same connection.
package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/crypto/ssh"

	"flotilla/hosts"
)

// DefaultSocket is the rootful engine's socket, used when the inventory names none.
const DefaultSocket = "/var/run/docker.sock"

// Conn is an open connection to one host, shared by every step of a run.
type Conn struct {
	Host       *hosts.Host
	Engine     *client.Client // Engine API over the SSH connection
	Socket     string         // remote socket the Engine requests go to
	Handshake  time.Duration  // TCP connect + SSH handshake
	APIVersion string         // negotiated Engine API version

	ssh *ssh.Client
}

// newEngineClient builds an Engine API client whose every HTTP connection is
// a direct-streamlocal channel to socket over the one SSH connection.
func newEngineClient(sc *ssh.Client, socket string) (*client.Client, error) {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return sc.DialContext(ctx, "unix", socket)
	}
	// The host part of the URL is never resolved: the dialer replaces the network.
	return client.New(
		client.WithHost("http://docker.engine"),
		client.WithDialContext(dial),
		client.WithAPIVersionNegotiation(),
	)
}

// pingEngine negotiates the API version; failure means the engine is not
// usable, and the reason tells the admin whether it is missing or forbidden.
func (c *Conn) pingEngine(ctx context.Context) error {
	ping, err := c.Engine.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return classifyEngineError(c, err)
	}
	c.APIVersion = ping.APIVersion
	if v := c.Engine.ClientVersion(); v != "" {
		c.APIVersion = v
	}
	return nil
}

func classifyEngineError(c *Conn, err error) error {
	msg := err.Error()
	e := &Error{Host: c.Host.Name, Addr: c.Socket, Kind: ErrEngineUnavailable, Err: err}
	switch {
	case strings.Contains(msg, "Permission denied") || strings.Contains(msg, "permission denied"):
		e.Kind = ErrSocketPermission
		e.Err = fmt.Errorf("user %q may not open %s", c.Host.User, c.Socket)
		e.Hint = "add the user to the docker group, or point socket at a rootless engine's socket"
	case strings.Contains(msg, "open failed") || strings.Contains(msg, "connect failed") || strings.Contains(msg, "No such file"):
		e.Err = fmt.Errorf("nothing listens on %s", c.Socket)
		e.Hint = "is dockerd running on the host, and is socket right?"
	}
	return e
}

// Run runs a command on the host in its own SSH session. stdin may be nil.
// A non-zero exit status is returned as *ssh.ExitError.
func (c *Conn) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	s, err := c.ssh.NewSession()
	if err != nil {
		return fmt.Errorf("opening ssh session: %w", err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdin, stdout, stderr
	stop := context.AfterFunc(ctx, func() {
		_ = s.Signal(ssh.SIGTERM)
		s.Close()
	})
	defer stop()
	err = s.Run(cmd)
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return fmt.Errorf("%s: %w", cmd, ctxErr)
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		return err
	}
	if err != nil {
		return fmt.Errorf("running %q: %w", cmd, err)
	}
	return nil
}

// Close closes the Engine client and the SSH connection.
func (c *Conn) Close() error {
	if c.Engine != nil {
		c.Engine.Close()
	}
	if c.ssh != nil {
		return c.ssh.Close()
	}
	return nil
}
