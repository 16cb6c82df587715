package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// socketState is what the remote user can see of an engine socket.
type socketState string

const (
	socketOK      socketState = "ok"      // a socket the user may write to
	socketDenied  socketState = "denied"  // a socket the user may not open
	socketAbsent  socketState = "absent"  // nothing at the path (or a directory on the way is closed)
	socketStrange socketState = "strange" // something that is not a socket
)

// probeScript prints the user's UID, then one state per socket path given
// as arguments; $u in a path is the UID.
const probeScript = `u=$(id -u) || exit 1; echo "$u"
for s in "$@"; do
  s=$(printf '%s' "$s" | sed "s/\\\$u/$u/")
  if [ -S "$s" ]; then if [ -w "$s" ]; then echo ok; else echo denied; fi
  elif [ -e "$s" ]; then echo strange; else echo absent; fi
done`

// rootlessSocket is the rootless engine's socket for the user $u.
const rootlessSocket = "/run/user/$u/docker.sock"

// probeSockets asks the host, in one command, for the user's UID and the
// state of each path.
func probeSockets(ctx context.Context, r commandRunner, paths ...string) (uid string, states []socketState, err error) {
	cmd := "sh -c " + shellQuote(probeScript) + " probe"
	for _, p := range paths {
		cmd += " " + shellQuote(p)
	}
	var out, errOut bytes.Buffer
	if err := r.Run(ctx, cmd, nil, &out, &errOut); err != nil {
		return "", nil, fmt.Errorf("probing the engine socket: %w %s", err, strings.TrimSpace(errOut.String()))
	}
	lines := strings.Fields(out.String())
	if len(lines) != len(paths)+1 {
		return "", nil, fmt.Errorf("probing the engine socket: unexpected output %q", out.String())
	}
	for _, l := range lines[1:] {
		states = append(states, socketState(l))
	}
	return lines[0], states, nil
}

// openEngine sets c.Socket and c.Engine: the inventory's socket, or when
// it names none, /var/run/docker.sock if the user can use it, else the
// user's rootless socket. A failure says why no engine could be used.
func (c *Conn) openEngine(ctx context.Context) error {
	if c.Host.Socket != "" {
		c.Socket = c.Host.Socket
		err := c.tryEngine(ctx, c.Socket)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return c.engineError(c.Socket, "", err)
		}
		_, states, perr := probeSockets(ctx, c.link, c.Socket)
		if perr != nil {
			return c.engineError(c.Socket, "", errors.Join(err, perr))
		}
		return c.engineError(c.Socket, states[0], err)
	}

	c.SocketDiscovered = true
	c.Socket = DefaultSocket
	firstErr := c.tryEngine(ctx, DefaultSocket)
	if firstErr == nil || ctx.Err() != nil {
		return c.engineErrorOrNil(DefaultSocket, "", firstErr)
	}
	uid, states, perr := probeSockets(ctx, c.link, DefaultSocket, rootlessSocket)
	if perr != nil {
		return c.engineError(DefaultSocket, "", errors.Join(firstErr, perr))
	}
	rootless := strings.ReplaceAll(rootlessSocket, "$u", uid)
	if states[1] == socketOK {
		c.Socket = rootless
		err := c.tryEngine(ctx, rootless)
		if err == nil {
			return nil
		}
		return c.engineError(rootless, states[1], err)
	}
	// Neither works: report the more telling of the two.
	switch {
	case states[0] == socketDenied:
		return c.engineError(DefaultSocket, states[0], firstErr)
	case states[1] == socketDenied:
		c.Socket = rootless
		return c.engineError(rootless, states[1], firstErr)
	case states[0] == socketAbsent && states[1] == socketAbsent:
		return &Error{Host: c.Host.Name, Addr: DefaultSocket, Kind: ErrEngineUnavailable,
			Err:  fmt.Errorf("no engine socket: neither %s nor %s exists", DefaultSocket, rootless),
			Hint: "start dockerd (or the user's rootless engine), or set socket in the inventory"}
	}
	return c.engineError(DefaultSocket, states[0], firstErr)
}

func (c *Conn) engineErrorOrNil(socket string, st socketState, err error) error {
	if err == nil {
		return nil
	}
	return c.engineError(socket, st, err)
}

// tryEngine builds an Engine client on socket and negotiates the API
// version; on success it becomes c.Engine.
func (c *Conn) tryEngine(ctx context.Context, socket string) error {
	eng, err := newEngineClient(c.link, socket)
	if err != nil {
		return err
	}
	ping, err := eng.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		eng.Close()
		return err
	}
	c.Engine = eng
	c.APIVersion = ping.APIVersion
	if v := eng.ClientVersion(); v != "" {
		c.APIVersion = v
	}
	return nil
}

// engineError classifies a failed engine ping with what the host said
// about the socket.
func (c *Conn) engineError(socket string, st socketState, err error) error {
	e := &Error{Host: c.Host.Name, Addr: socket, Kind: ErrEngineUnavailable, Err: err}
	switch st {
	case socketDenied:
		e.Kind = ErrSocketPermission
		e.Err = fmt.Errorf("user %q may not open %s", c.Host.User, socket)
		e.Hint = "add the user to the docker group (usermod -aG docker " + c.Host.User +
			"), or run a rootless engine for the user and leave socket unset"
	case socketAbsent:
		e.Err = fmt.Errorf("no engine: %s does not exist", socket)
		e.Hint = "is dockerd running on the host, and is socket right?"
	case socketStrange:
		e.Err = fmt.Errorf("%s is not a socket", socket)
		e.Hint = "set socket to the engine's unix socket"
	case socketOK:
		e.Err = fmt.Errorf("no engine answers on %s (%w)", socket, err)
		e.Hint = "dockerd may be stopped (a stale socket is left) or hung: check the engine on the host"
		if c.Transport == TransportOpenSSH && strings.Contains(err.Error(), "not found") {
			e.Err = fmt.Errorf("the openssh transport needs the docker CLI on the host: %w", err)
			e.Hint = "install the docker CLI on the host, or use transport = \"ssh\""
		}
	}
	return e
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
