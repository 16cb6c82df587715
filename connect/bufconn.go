package connect

import (
	"bufio"
	"net"
)

// readBufferSize is how much one read may take off an SSH channel.
const readBufferSize = 256 << 10

// bufferedConn reads an Engine stream off its SSH channel in large pieces:
// net/http reads a response body 4 KiB at a time, and every read of an
// x/crypto/ssh channel takes its lock and may send a window adjustment.
// Measured on a 135 MB volume archive: 194 -> 236 MB/s.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func newBufferedConn(c net.Conn) net.Conn {
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBufferSize)}
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// CloseWrite half-closes the stream, as the channel does: an exec's stdin
// ends this way (a dump reads its password until EOF). Embedding net.Conn
// alone would hide the channel's CloseWrite from the Engine client.
func (b *bufferedConn) CloseWrite() error {
	if cw, ok := b.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
