package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshLink is the ssh transport: one x/crypto/ssh client (through its jump
// hosts' clients). Engine requests are direct-streamlocal channels, host
// commands are exec sessions, all on that one connection.
type sshLink struct {
	client    *ssh.Client
	jumps     []*ssh.Client // nearest the admin first
	stopAlive func()
	closeOnce sync.Once
}

func (l *sshLink) DialSocket(ctx context.Context, path string) (net.Conn, error) {
	c, err := l.client.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return newBufferedConn(c), nil
}

func (l *sshLink) Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error {
	s, err := l.client.NewSession()
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
		return &ExitError{Cmd: cmd, Status: exit.ExitStatus(), Err: exit}
	}
	if err != nil {
		return fmt.Errorf("running %q: %w", cmd, err)
	}
	return nil
}

func (l *sshLink) Close() error {
	var err error
	l.closeOnce.Do(func() {
		if l.stopAlive != nil {
			l.stopAlive()
		}
		err = l.client.Close()
		for i := len(l.jumps) - 1; i >= 0; i-- {
			l.jumps[i].Close()
		}
	})
	return err
}

// Keepalive defaults: like OpenSSH's ServerAliveInterval 15 and
// ServerAliveCountMax 3.
const (
	DefaultKeepaliveInterval = 15 * time.Second
	DefaultKeepaliveMissed   = 3
)

// keepalive sends keepalive@openssh.com every interval and closes c when
// maxMissed intervals in a row passed without a reply, so a host that died
// mid-run fails its pending calls instead of hanging them. Any reply (even
// a refusal) proves the server alive. The returned func stops it.
func keepalive(c *ssh.Client, interval time.Duration, maxMissed int) (stop func()) {
	quit := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		_ = c.Wait()
		close(closed)
	}()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		replied := make(chan struct{}, 1)
		pending, missed := false, 0
		for {
			select {
			case <-quit:
				return
			case <-closed:
				return
			case <-replied:
				pending, missed = false, 0
			case <-t.C:
				if pending {
					if missed++; missed >= maxMissed {
						c.Close()
						return
					}
					continue
				}
				pending = true
				go func() {
					if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err == nil {
						replied <- struct{}{}
					}
				}()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(quit) }) }
}
