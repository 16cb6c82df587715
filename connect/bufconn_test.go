package connect

import (
	"net"
	"testing"
)

type halfCloser struct {
	net.Conn
	closedWrite bool
}

func (h *halfCloser) CloseWrite() error { h.closedWrite = true; return nil }

// The Engine client ends an exec's stdin with CloseWrite on the hijacked
// connection; the buffering wrapper must pass it on, or the command waits
// for EOF forever.
func TestBufferedConnPassesCloseWrite(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	inner := &halfCloser{Conn: a}
	c := newBufferedConn(inner)
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Fatal("buffered conn has no CloseWrite")
	}
	if err := cw.CloseWrite(); err != nil || !inner.closedWrite {
		t.Fatalf("CloseWrite: %v, reached the channel: %v", err, inner.closedWrite)
	}
}
