package lab

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DockerCertsDir is where dockerd looks for a registry's CA (HOST:PORT/ca.crt).
const DockerCertsDir = "/etc/docker/certs.d"

// AuthRegistry is a second lab registry that needs credentials: htpasswd
// basic auth behind TLS, with a CA made for it. The lab engines trust it
// through DockerCertsDir/127.0.0.1:PORT/ca.crt (created at start, removed at
// Stop; the port makes it unique). Its access log records every request.
type AuthRegistry struct {
	Addr     string // "127.0.0.1:PORT"
	User     string
	Password string // random; never put it on a command line
	Dir      string
	CACert   string // PEM file of the CA
	Log      string // the registry's log, access log included

	caPool   *x509.CertPool
	certsDir string
	p        *proc
}

// NewAuthRegistry starts an AuthRegistry for a test beside the lab and
// stops it in t.Cleanup. It fails the test when it cannot start.
func NewAuthRegistry(t testing.TB, l *Lab) *AuthRegistry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := l.StartAuthRegistry(ctx)
	if err != nil {
		t.Fatalf("auth registry: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("auth registry stop: %v", err)
		}
	})
	return r
}

// StartAuthRegistry starts the registry under the lab directory.
func (l *Lab) StartAuthRegistry(ctx context.Context) (*AuthRegistry, error) {
	bin, err := findBinary(registryPath, "/usr/bin/docker-registry")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(l.Dir, "authreg-")
	if err != nil {
		return nil, err
	}
	r := &AuthRegistry{Dir: dir, User: "flotilla", Password: randomHex(16), Log: filepath.Join(dir, "registry.log"),
		CACert: filepath.Join(dir, "ca.crt")}
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	if r.caPool, err = makeCerts(r.CACert, certFile, keyFile); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort("127.0.0.1")
		if err != nil {
			lastErr = err
			continue
		}
		r.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		cfgPath := filepath.Join(dir, "config.yml")
		cfg := registryConfig(filepath.Join(dir, "data"), r.Addr, true, fmt.Sprintf(`  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: flotilla-lab
    path: %s
`, certFile, keyFile, htpasswd))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		logStart := fileSize(r.Log)
		p, err := startProc(bin, []string{"serve", cfgPath}, r.Log, false, syscall.SIGKILL)
		if err != nil {
			return nil, err
		}
		if lastErr = r.wait(ctx, p); lastErr == nil {
			if lastErr = waitLog(ctx, r.Log, logStart, "listening on "+r.Addr, p); lastErr == nil {
				r.p = p
				break
			}
		}
		_ = p.stop(syscall.SIGKILL, time.Second)
		lastErr = fmt.Errorf("auth registry on %s: %w%s", r.Addr, lastErr, logTail(r.Log, logStart))
		if ctx.Err() != nil {
			break
		}
	}
	if r.p == nil {
		return nil, lastErr
	}
	r.certsDir = filepath.Join(DockerCertsDir, r.Addr)
	if err := os.MkdirAll(r.certsDir, 0o755); err != nil {
		r.Stop()
		return nil, err
	}
	ca, _ := os.ReadFile(r.CACert)
	if err := os.WriteFile(filepath.Join(r.certsDir, "ca.crt"), ca, 0o644); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// wait waits (bounded) until GET /v2/ over TLS asks for credentials.
func (r *AuthRegistry) wait(ctx context.Context, p *proc) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: r.Transport()}
	var lastErr error
	for i := 0; i < 300; i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !p.alive() {
			return errors.New("docker-registry exited")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+r.Addr+"/v2/", nil)
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
			err = fmt.Errorf("/v2/: %s, want 401", resp.Status)
		}
		lastErr = err
		time.Sleep(time.Duration(min(10*(i+1), 100)) * time.Millisecond)
	}
	return fmt.Errorf("no answer: %v", lastErr)
}

// Transport trusts the registry's CA (for tests pushing to it).
func (r *AuthRegistry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = &tls.Config{RootCAs: r.caPool, MinVersion: tls.VersionTLS12}
	return tr
}

// Running reports whether the registry process is alive.
func (r *AuthRegistry) Running() bool { return r.p != nil && r.p.alive() }

// Stop stops the registry by PID and removes its certs.d directory. A
// second Stop does nothing.
func (r *AuthRegistry) Stop() error {
	var errs []error
	if r.p != nil {
		errs = append(errs, r.p.stop(syscall.SIGTERM, 5*time.Second))
	}
	if r.certsDir != "" {
		errs = append(errs, os.RemoveAll(r.certsDir))
		r.certsDir = ""
		_ = os.Remove(DockerCertsDir) // only when empty: leave the machine as found
	}
	return errors.Join(errs...)
}

// WriteDockerConfig writes DIR/config.json with a plain "auths" entry for
// the registry: what `docker login` writes without a credential helper.
func (r *AuthRegistry) WriteDockerConfig(dir, user, password string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := map[string]any{"auths": map[string]any{
		r.Addr: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))},
	}}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// Requests counts the access-log lines for method and path so far, e.g.
// ("HEAD", "/v2/team/app/manifests/1").
func (r *AuthRegistry) Requests(method, path string) (int, error) {
	f, err := os.Open(r.Log)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	want := `"` + method + " " + path + " HTTP/"
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			n++
		}
	}
	return n, sc.Err()
}

// makeCerts writes a CA and a server certificate for 127.0.0.1 signed by it,
// and returns a pool holding the CA.
func makeCerts(caFile, certFile, keyFile string) (*x509.CertPool, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "flotilla lab CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		path, kind string
		der        []byte
		mode       os.FileMode
	}{{caFile, "CERTIFICATE", caDER, 0o644}, {certFile, "CERTIFICATE", der, 0o644}, {keyFile, "EC PRIVATE KEY", keyDER, 0o600}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.kind, Bytes: f.der}), f.mode); err != nil {
			return nil, err
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, nil
}
