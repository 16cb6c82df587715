package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const registryPath = "docker-registry"

// startRegistry runs docker-registry (distribution) on 127.0.0.1 and a free
// port, storing under dir, without auth. It returns "127.0.0.1:PORT".
func startRegistry(ctx context.Context, dir string, detach bool) (string, *proc, error) {
	bin, err := findBinary(registryPath, "/usr/bin/docker-registry")
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(dir, "registry.log")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort("127.0.0.1")
		if err != nil {
			lastErr = err
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cfgPath := filepath.Join(dir, "config.yml")
		cfg := registryConfig(filepath.Join(dir, "data"), addr, false, "")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return "", nil, err
		}
		logStart := fileSize(logPath)
		p, err := startProc(bin, []string{"serve", cfgPath}, logPath, detach, syscall.SIGKILL)
		if err != nil {
			return "", nil, err
		}
		if lastErr = waitRegistry(ctx, addr, p); lastErr == nil {
			// Our registry, not another process that took the port.
			if lastErr = waitLog(ctx, logPath, logStart, "listening on "+addr, p); lastErr == nil {
				return addr, p, nil
			}
		}
		_ = p.stop(syscall.SIGKILL, time.Second)
		lastErr = fmt.Errorf("registry on %s: %w%s", addr, lastErr, logTail(logPath, logStart))
		if ctx.Err() != nil {
			break
		}
	}
	return "", nil, lastErr
}

// registryConfig is a docker-registry config.yml storing under dataDir and
// listening on addr; extraHTTP goes under http: (indented two spaces) and
// may be followed by top-level sections such as auth.
func registryConfig(dataDir, addr string, accessLog bool, extraHTTP string) string {
	return fmt.Sprintf(`version: 0.1
log:
  level: info
  accesslog:
    disabled: %t
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
`, !accessLog, dataDir, addr, randomHex(16)) + extraHTTP
}

// waitRegistry waits (bounded) until GET /v2/ answers 200.
func waitRegistry(ctx context.Context, addr string, p *proc) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for i := 0; i < 500 && time.Now().Before(deadline); i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !p.alive() {
			return errors.New("docker-registry exited")
		}
		lastErr = func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v2/", nil)
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("/v2/: %s", resp.Status)
			}
			return nil
		}()
		if lastErr == nil {
			return nil
		}
		time.Sleep(time.Duration(min(10*(i+1), 100)) * time.Millisecond)
	}
	return fmt.Errorf("no answer: %v", lastErr)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
