package connect

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"flotilla/hosts"
)

// Pool dials each host at most once per run and hands the same *Conn to every
// caller; concurrent callers for one host wait for the one dial.
type Pool struct {
	mu    sync.Mutex
	conns map[string]*poolEntry

	inv               *hosts.Inventory // jump hosts are looked up here
	sshConfig         string           // openssh: -F file, "" for ssh's own default
	keepaliveInterval time.Duration
	keepaliveMissed   int

	cache *runCache // known_hosts and identity files, read once per run

	agentOnce   sync.Once
	agent       agent.ExtendedAgent
	agentCloser io.Closer
}

type poolEntry struct {
	done chan struct{}
	conn *Conn
	err  error
}

// Option configures a Pool.
type Option func(*Pool)

// WithInventory lets the pool find jump hosts (a host's jump names another
// inventory host).
func WithInventory(inv *hosts.Inventory) Option { return func(p *Pool) { p.inv = inv } }

// WithSSHConfig makes the openssh transport read this ssh_config file
// (ssh -F) instead of ~/.ssh/config.
func WithSSHConfig(path string) Option { return func(p *Pool) { p.sshConfig = path } }

// WithKeepalive sets how often the ssh transport asks a host whether it is
// alive, and after how many unanswered intervals the connection is closed.
func WithKeepalive(interval time.Duration, missed int) Option {
	return func(p *Pool) { p.keepaliveInterval, p.keepaliveMissed = interval, missed }
}

// NewPool returns an empty pool; Close it at the end of the run.
func NewPool(opts ...Option) *Pool {
	p := &Pool{conns: map[string]*poolEntry{}, cache: newRunCache(), keepaliveInterval: DefaultKeepaliveInterval, keepaliveMissed: DefaultKeepaliveMissed}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Get returns the host's connection, dialling it on first use. A failed dial
// is remembered too: a host that is down is not re-dialled within a run.
func (p *Pool) Get(ctx context.Context, h *hosts.Host) (*Conn, error) {
	p.mu.Lock()
	e, ok := p.conns[h.Name]
	if !ok {
		e = &poolEntry{done: make(chan struct{})}
		p.conns[h.Name] = e
	}
	p.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.conn, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e.conn, e.err = p.dial(ctx, h)
	if e.err != nil {
		setHost(e.err, h)
	}
	close(e.done)
	return e.conn, e.err
}

func (p *Pool) sharedAgent() agent.ExtendedAgent {
	p.agentOnce.Do(func() { p.agent, p.agentCloser = dialAgent() })
	return p.agent
}

func (p *Pool) lookup(name string) *hosts.Host {
	if p.inv == nil {
		return nil
	}
	return p.inv.Host(name)
}

func (p *Pool) dial(ctx context.Context, h *hosts.Host) (*Conn, error) {
	c := &Conn{Host: h, Transport: h.Transport}
	if c.Transport == "" {
		c.Transport = TransportSSH
	}
	switch c.Transport {
	case TransportSSH:
		l, handshake, err := p.dialSSH(ctx, h)
		if err != nil {
			return nil, err
		}
		c.link, c.Handshake = l, handshake
	case TransportOpenSSH:
		l, handshake, err := dialOpenSSH(ctx, h, p.sshConfig, p.lookup)
		if err != nil {
			return nil, err
		}
		c.link, c.Handshake = l, handshake
	default:
		return nil, &Error{Addr: sshAddr(h), Kind: ErrUnreachable, Err: fmt.Errorf("unknown transport %q", c.Transport),
			Hint: `set transport to "ssh" or "openssh"`}
	}
	if err := c.openEngine(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *Pool) dialSSH(ctx context.Context, h *hosts.Host) (*sshLink, time.Duration, error) {
	hops, err := route(h, p.lookup)
	if err != nil {
		return nil, 0, &Error{Addr: sshAddr(h), Kind: ErrUnreachable, Err: err,
			Hint: "check jump in the inventory and ProxyJump in ~/.ssh/config"}
	}
	auth := func(hp hop) ([]ssh.AuthMethod, []error, error) {
		return authMethods(p.sharedAgent(), hp.identityFile, p.cache.signer)
	}
	start := time.Now()
	target, jumps, err := dialRoute(ctx, hops, auth, p.cache.hostKey)
	if err != nil {
		return nil, 0, err
	}
	l := &sshLink{client: target, jumps: jumps}
	if p.keepaliveInterval > 0 {
		l.stopAlive = keepalive(target, p.keepaliveInterval, max(p.keepaliveMissed, 1))
	}
	return l, time.Since(start), nil
}

func setHost(err error, h *hosts.Host) {
	if ce, ok := err.(*Error); ok {
		ce.Host = h.Name
		if ce.Addr == "" || ce.Addr == "local" {
			ce.Addr = sshAddr(h)
		}
	}
}

// Close closes every connection the pool opened.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, e := range p.conns {
		select {
		case <-e.done:
			if e.conn != nil {
				e.conn.Close()
			}
		default: // still dialling: the dialer's ctx is cancelled by the caller
		}
		delete(p.conns, name)
	}
	if p.agentCloser != nil {
		p.agentCloser.Close()
	}
}
