package connect

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"
)

func TestMemoComputesOnceUnderConcurrency(t *testing.T) {
	var m memo[int]
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := m.get(func() (int, error) { calls.Add(1); return 42, errors.New("kept") })
			if v != 42 || err == nil || err.Error() != "kept" {
				t.Errorf("got %d, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("computed %d times, want once", n)
	}
}

// The cache reads a known_hosts file once per run: a line removed after the
// first look-up is still trusted within the run (a new run reads it again).
func TestRunCacheReadsKnownHostsOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "known_hosts")
	key := newKey(t)
	os.WriteFile(file, []byte(knownhosts.Line([]string{"[127.0.0.1]:2222"}, key)+"\n"), 0o600)
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
	c := newRunCache()
	first, err := c.hostKey(file, HostKeyStrict)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, nil, 0o600)
	second, err := c.hostKey(file, HostKeyStrict)
	if err != nil {
		t.Fatal(err)
	}
	for i, cb := range []func() error{
		func() error { return first("127.0.0.1:2222", addr, key) },
		func() error { return second("127.0.0.1:2222", addr, key) },
	} {
		if err := cb(); err != nil {
			t.Errorf("look-up %d: %v, want the key found in the run's parsed copy", i, err)
		}
	}
	fresh, _ := newRunCache().hostKey(file, HostKeyStrict)
	if err := fresh("127.0.0.1:2222", addr, key); !errors.Is(err, ErrHostKeyUnknown) {
		t.Errorf("a new run sees the emptied file: got %v, want unknown", err)
	}
}
