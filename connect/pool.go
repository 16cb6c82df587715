package connect

import (
	"context"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"flotilla/hosts"
)

// Pool dials each host at most once per run and hands the same *Conn to every
// caller; concurrent callers for one host wait for the one dial.
type Pool struct {
	mu    sync.Mutex
	conns map[string]*poolEntry

	agentOnce   sync.Once
	agent       agent.ExtendedAgent
	agentCloser io.Closer
}

type poolEntry struct {
	done chan struct{}
	conn *Conn
	err  error
}

// NewPool returns an empty pool; Close it at the end of the run.
func NewPool() *Pool {
	return &Pool{conns: map[string]*poolEntry{}}
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
	close(e.done)
	return e.conn, e.err
}

func (p *Pool) sharedAgent() agent.ExtendedAgent {
	p.agentOnce.Do(func() { p.agent, p.agentCloser = dialAgent() })
	return p.agent
}

func (p *Pool) dial(ctx context.Context, h *hosts.Host) (*Conn, error) {
	auth, notes, err := authMethods(p.sharedAgent(), h.IdentityFile)
	if err != nil {
		setHost(err, h, sshAddr(h))
		return nil, err
	}
	hostKey, err := hostKeyCallback(h.KnownHosts)
	if err != nil {
		return nil, &Error{Host: h.Name, Addr: sshAddr(h), Kind: ErrHostKeyUnknown, Err: err,
			Hint: "set known_hosts in the inventory to a file that lists the host's key"}
	}
	start := time.Now()
	sc, err := dialSSH(ctx, h, auth, notes, hostKey)
	if err != nil {
		return nil, err
	}
	c := &Conn{Host: h, ssh: sc, Handshake: time.Since(start), Socket: h.Socket}
	if c.Socket == "" {
		c.Socket = DefaultSocket
	}
	if c.Engine, err = newEngineClient(sc, c.Socket); err != nil {
		sc.Close()
		return nil, err
	}
	if err := c.pingEngine(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func setHost(err error, h *hosts.Host, addr string) {
	if ce, ok := err.(*Error); ok {
		ce.Host, ce.Addr = h.Name, addr
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
