package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// authFunc gives the auth methods for a hop, and notes on keys it skipped.
type authFunc func(hop) ([]ssh.AuthMethod, []error, error)

// dialRoute opens SSH to every hop in turn, each through the previous
// one's connection, and returns the last client and the jump clients
// (nearest the admin first) that carry it.
// hostKeys gives the host key callback for a known_hosts file and policy.
type hostKeysFunc func(file, policy string) (ssh.HostKeyCallback, error)

func dialRoute(ctx context.Context, hops []hop, auth authFunc, hostKeys hostKeysFunc) (target *ssh.Client, jumps []*ssh.Client, err error) {
	var clients []*ssh.Client
	closeAll := func() {
		for i := len(clients) - 1; i >= 0; i-- {
			clients[i].Close()
		}
	}
	for i, hp := range hops {
		var via *ssh.Client
		if i > 0 {
			via = clients[i-1]
		}
		c, err := dialHop(ctx, hp, via, auth, hostKeys)
		if err != nil {
			closeAll()
			if i < len(hops)-1 {
				err = viaJump(hp, err)
			}
			return nil, nil, err
		}
		clients = append(clients, c)
	}
	n := len(clients)
	return clients[n-1], clients[:n-1], nil
}

// viaJump says that a failure happened at a jump host, not at the target.
func viaJump(hp hop, err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		ce.Err = fmt.Errorf("jump host %s: %w", hp.name, ce.Err)
		return ce
	}
	return fmt.Errorf("jump host %s: %w", hp.name, err)
}

// dialHop opens one TCP connection (directly, or as a channel of via) and
// runs the SSH handshake on it. ssh.Dial takes no context, so the handshake
// runs under a deadline that also covers a server that accepts TCP and then
// says nothing: when it passes, the connection is closed under the handshake.
func dialHop(ctx context.Context, hp hop, via *ssh.Client, auth authFunc, hostKeys hostKeysFunc) (*ssh.Client, error) {
	methods, notes, err := auth(hp)
	if err != nil {
		setAddr(err, hp.addr)
		return nil, err
	}
	hostKey, err := hostKeys(hp.knownHosts, hp.hostKeyCheck)
	if err != nil {
		return nil, &Error{Addr: hp.addr, Kind: ErrHostKeyUnknown, Err: err,
			Hint: "set known_hosts in the inventory to a file that lists the host's key"}
	}
	hctx, cancel := context.WithTimeout(ctx, hp.timeout)
	defer cancel()

	var conn net.Conn
	if via == nil {
		dialer := net.Dialer{KeepAlive: 30 * time.Second}
		conn, err = dialer.DialContext(hctx, "tcp", hp.addr)
	} else {
		conn, err = via.DialContext(hctx, "tcp", hp.addr)
	}
	if err != nil {
		return nil, classifyDialError(hctx, hp, via != nil, err)
	}
	if d, ok := hctx.Deadline(); ok {
		_ = conn.SetDeadline(d) // channels of a jump host do not support it: the AfterFunc does
	}
	stop := context.AfterFunc(hctx, func() { conn.Close() })

	cfg := &ssh.ClientConfig{User: hp.user, Auth: methods, HostKeyCallback: hostKey, Timeout: hp.timeout}
	c, chans, reqs, err := ssh.NewClientConn(conn, hp.addr, cfg)
	if err != nil {
		stop()
		conn.Close()
		return nil, classifyHandshakeError(hctx, hp, err, notes)
	}
	if !stop() {
		c.Close()
		return nil, classifyHandshakeError(hctx, hp, hctx.Err(), nil)
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func setAddr(err error, addr string) {
	var ce *Error
	if errors.As(err, &ce) {
		ce.Addr = addr
	}
}

func classifyDialError(ctx context.Context, hp hop, viaJump bool, err error) error {
	e := &Error{Addr: hp.addr, Kind: ErrUnreachable, Err: err}
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "Connection refused"):
		e.Err = errors.New("connection refused")
		e.Hint = "is sshd running on the host, and is the port right?"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err), ctx.Err() != nil:
		e.Err = errors.New("connect timed out")
		e.Hint = "check the address, firewalls, or raise connect_timeout"
	case viaJump:
		e.Err = fmt.Errorf("the jump host could not connect: %w", err)
	}
	return e
}

func classifyHandshakeError(ctx context.Context, hp hop, err error, authNotes []error) error {
	var ce *Error
	if errors.As(err, &ce) { // from the host key callback
		ce.Addr = hp.addr
		return ce
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unable to authenticate"):
		e := &Error{Addr: hp.addr, Kind: ErrAuth,
			Err:  fmt.Errorf("user %q: no offered key was accepted", hp.user),
			Hint: "check user and identity_file, and that the key is in the host's authorized_keys"}
		if len(authNotes) > 0 {
			e.Err = fmt.Errorf("%w (%w)", e.Err, errors.Join(authNotes...))
			e.Hint = "load the key into ssh-agent (ssh-add), or set identity_file to a key the host accepts"
		}
		return e
	case isTimeout(err) || ctx.Err() != nil:
		cause := errors.New("no SSH handshake before the connect timeout: the host accepted TCP but did not answer")
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cause = ctx.Err()
		}
		return &Error{Addr: hp.addr, Kind: ErrUnreachable, Err: cause,
			Hint: "sshd may be hung or overloaded, or something else listens on the port"}
	default:
		return &Error{Addr: hp.addr, Kind: ErrUnreachable, Err: fmt.Errorf("ssh handshake: %w", err)}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
