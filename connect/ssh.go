package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"flotilla/hosts"
)

// sshAddr is the host's TCP address in the form known_hosts and net.Dial use.
func sshAddr(h *hosts.Host) string {
	port := h.Port
	if port == 0 {
		port = hosts.DefaultPort
	}
	return net.JoinHostPort(h.Address, strconv.Itoa(port))
}

// dialSSH opens one TCP connection and runs the SSH handshake on it. ssh.Dial
// takes no context, so the TCP dial uses net.Dialer and the handshake runs
// under a deadline that covers a server that accepts TCP and then says nothing.
func dialSSH(ctx context.Context, h *hosts.Host, auth []ssh.AuthMethod, authNotes []error, hostKey ssh.HostKeyCallback) (*ssh.Client, error) {
	addr := sshAddr(h)
	timeout := h.ConnectTimeout
	if timeout <= 0 {
		timeout = hosts.DefaultConnectTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dialer := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	tcp, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, classifyDialError(h, addr, err)
	}

	// Close the socket if ctx ends mid-handshake; the deadline covers silence.
	_ = tcp.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { tcp.Close() })
	defer stop()

	cfg := &ssh.ClientConfig{
		User:            h.User,
		Auth:            auth,
		HostKeyCallback: hostKey,
		Timeout:         timeout,
	}
	c, chans, reqs, err := ssh.NewClientConn(tcp, addr, cfg)
	if err != nil {
		tcp.Close()
		return nil, classifyHandshakeError(ctx, h, addr, err, authNotes)
	}
	if !stop() {
		c.Close()
		return nil, &Error{Host: h.Name, Addr: addr, Kind: ErrUnreachable, Err: ctx.Err()}
	}
	_ = tcp.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func classifyDialError(h *hosts.Host, addr string, err error) error {
	e := &Error{Host: h.Name, Addr: addr, Kind: ErrUnreachable, Err: err}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Err = errors.New("connection refused")
		e.Hint = "is sshd running on the host, and is the port right?"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		e.Err = errors.New("connect timed out")
		e.Hint = "check the address, firewalls, or raise connect_timeout"
	}
	return e
}

func classifyHandshakeError(ctx context.Context, h *hosts.Host, addr string, err error, authNotes []error) error {
	var ce *Error
	if errors.As(err, &ce) { // from the host key callback
		ce.Host = h.Name
		ce.Addr = addr
		return ce
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unable to authenticate"):
		e := &Error{Host: h.Name, Addr: addr, Kind: ErrAuth,
			Err:  fmt.Errorf("user %q: no offered key was accepted", h.User),
			Hint: "check user and identity_file, and that the key is in the host's authorized_keys"}
		if len(authNotes) > 0 {
			e.Err = fmt.Errorf("%w (%w)", e.Err, errors.Join(authNotes...))
		}
		return e
	case isTimeout(err) || ctx.Err() != nil:
		cause := errors.New("no SSH handshake before the connect timeout: the host accepted TCP but did not answer")
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cause = ctx.Err()
		}
		return &Error{Host: h.Name, Addr: addr, Kind: ErrUnreachable, Err: cause}
	default:
		return &Error{Host: h.Name, Addr: addr, Kind: ErrUnreachable, Err: fmt.Errorf("ssh handshake: %w", err)}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
