package connect

import (
	"sync"

	"golang.org/x/crypto/ssh"
)

// runCache holds what every host of a run shares, so it is done once per
// run instead of once per host: parsing a known_hosts file (17% of
// flotilla's CPU at 200 hosts in make bench, and one parsed copy per host
// in memory) and reading an identity file.
type runCache struct {
	mu       sync.Mutex
	hostKeys map[hostKeySource]*memo[ssh.HostKeyCallback]
	signers  map[string]*memo[ssh.Signer]
}

type hostKeySource struct{ file, policy string }

// memo is one value computed at most once, by whoever asks first.
type memo[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (m *memo[T]) get(compute func() (T, error)) (T, error) {
	m.once.Do(func() { m.v, m.err = compute() })
	return m.v, m.err
}

func newRunCache() *runCache {
	return &runCache{hostKeys: map[hostKeySource]*memo[ssh.HostKeyCallback]{}, signers: map[string]*memo[ssh.Signer]{}}
}

// hostKey is hostKeyCallback, parsed once per file and policy. With
// accept-new, a key another host appends during the run is still found:
// acceptNewKey re-reads the file under its lock before appending.
func (c *runCache) hostKey(file, policy string) (ssh.HostKeyCallback, error) {
	c.mu.Lock()
	m, ok := c.hostKeys[hostKeySource{file, policy}]
	if !ok {
		m = &memo[ssh.HostKeyCallback]{}
		c.hostKeys[hostKeySource{file, policy}] = m
	}
	c.mu.Unlock()
	return m.get(func() (ssh.HostKeyCallback, error) { return hostKeyCallback(file, policy) })
}

// signer is loadSigner, read once per path.
func (c *runCache) signer(path string) (ssh.Signer, error) {
	c.mu.Lock()
	m, ok := c.signers[path]
	if !ok {
		m = &memo[ssh.Signer]{}
		c.signers[path] = m
	}
	c.mu.Unlock()
	return m.get(func() (ssh.Signer, error) { return loadSigner(path) })
}
