// Command minimal is the floor flotilla is measured against in make bench:
// the least a Go program must do to ask every host's engine one question. It
// dials each host with golang.org/x/crypto/ssh (key and known_hosts parsed
// once), opens one direct-streamlocal channel to the engine socket, sends one
// HTTP request, decodes the JSON answer and closes, with at most -forks hosts
// at once. No inventory, no version negotiation, no rendering.
//
//	minimal -targets FILE -identity KEY -known-hosts FILE [-user root] [-forks 32] [-call images|info]
//
// FILE has one "ADDRESS:PORT SOCKET" per line. It prints one JSON line:
// {"ok":N,"failed":N,"handshake_ms_p50":X,"first_error":"..."}; exit 1 when a host failed.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

type target struct{ addr, socket string }

func main() {
	targets := flag.String("targets", "", "file of ADDRESS:PORT SOCKET lines")
	identity := flag.String("identity", "", "private key (unencrypted)")
	knownHosts := flag.String("known-hosts", "", "known_hosts file")
	user := flag.String("user", "root", "ssh user")
	forks := flag.Int("forks", 32, "hosts at once")
	call := flag.String("call", "images", "engine call: images (GET /images/json) or info (GET /info)")
	flag.Parse()
	if err := run(*targets, *identity, *knownHosts, *user, *forks, *call); err != nil {
		fmt.Fprintln(os.Stderr, "minimal: error:", err)
		os.Exit(1)
	}
}

func run(targetsFile, identity, knownHostsFile, user string, forks int, call string) error {
	path := map[string]string{"images": "/images/json", "info": "/info"}[call]
	if path == "" {
		return fmt.Errorf("unknown -call %q (expected images or info)", call)
	}
	list, err := readTargets(targetsFile)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(identity)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return err
	}
	hostKey, err := knownhosts.New(knownHostsFile)
	if err != nil {
		return err
	}
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hostKey,
		Timeout:         30 * time.Second,
	}

	var (
		mu         sync.Mutex
		handshakes []float64
		failed     int
		firstErr   error
		wg         sync.WaitGroup
	)
	slots := make(chan struct{}, max(forks, 1))
	for _, t := range list {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			hs, err := ask(t, cfg, path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", t.addr, err)
				}
				return
			}
			handshakes = append(handshakes, float64(hs.Microseconds())/1000)
		}()
	}
	wg.Wait()
	slices.Sort(handshakes)
	out := struct {
		OK          int     `json:"ok"`
		Failed      int     `json:"failed"`
		HandshakeMS float64 `json:"handshake_ms_p50"`
		FirstError  string  `json:"first_error,omitempty"`
	}{OK: len(handshakes), Failed: failed}
	if len(handshakes) > 0 {
		out.HandshakeMS = handshakes[len(handshakes)/2]
	}
	if firstErr != nil {
		out.FirstError = firstErr.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d hosts failed", failed, len(list))
	}
	return nil
}

// ask dials one host, makes the one Engine API call and returns the time
// the TCP connect and SSH handshake took.
func ask(t target, cfg *ssh.ClientConfig, path string) (time.Duration, error) {
	start := time.Now()
	c, err := ssh.Dial("tcp", t.addr, cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	handshake := time.Since(start)
	conn, err := c.Dial("unix", t.socket)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, errors.New(resp.Status)
	}
	var body any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	return handshake, nil
}

func readTargets(path string) ([]target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []target
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		addr, socket, ok := strings.Cut(strings.TrimSpace(line), " ")
		if _, _, err := net.SplitHostPort(addr); !ok || err != nil || socket == "" {
			return nil, fmt.Errorf("%s:%d: want ADDRESS:PORT SOCKET, got %q", path, i+1, line)
		}
		out = append(out, target{addr, socket})
	}
	return out, nil
}
