package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// CertsDir is where per-registry CA certificates live, the same directory
// dockerd reads (certs.d/HOST:PORT/*.crt): a registry the engines trust is
// trusted by flotilla's own look-ups too.
var CertsDir = "/etc/docker/certs.d"

// Client asks registries about images from the admin machine. Look-ups are
// shared: each distinct question is asked once per Client however many
// hosts ask it (one Client per run).
type Client struct {
	creds  *Credentials
	puller *remote.Puller

	mu    sync.Mutex
	calls map[string]*call
}

type call struct {
	done chan struct{}
	val  any
	err  error
}

// NewClient returns a client authenticating with creds.
func NewClient(creds *Credentials) (*Client, error) {
	p, err := remote.NewPuller(remote.WithAuthFromKeychain(creds.Keychain()), remote.WithTransport(newTransport()))
	if err != nil {
		return nil, err
	}
	return &Client{creds: creds, puller: p, calls: map[string]*call{}}, nil
}

// once runs fn once per key; concurrent callers with the same key wait for
// the first and share its answer (errors included: a registry that said no
// is not asked again in the same run).
func (c *Client) once(ctx context.Context, key string, fn func() (any, error)) (any, error) {
	c.mu.Lock()
	cl, ok := c.calls[key]
	if !ok {
		cl = &call{done: make(chan struct{})}
		c.calls[key] = cl
	}
	c.mu.Unlock()
	if !ok {
		cl.val, cl.err = fn()
		close(cl.done)
	}
	select {
	case <-cl.done:
		return cl.val, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Head returns the digest and media type the registry serves for ref now
// (an index digest for a multi-platform tag), by one HEAD request that
// accepts indexes and manifests.
func (c *Client) Head(ctx context.Context, ref Ref) (*v1.Descriptor, error) {
	v, err := c.once(ctx, "head "+ref.String(), func() (any, error) {
		nref, err := ggcrRef(ref)
		if err != nil {
			return nil, err
		}
		// The look-up is shared: no single host's deadline may cancel it.
		bg, cancel := detached(ctx)
		defer cancel()
		d, err := c.puller.Head(bg, nref)
		if err != nil {
			return nil, Reason(err)
		}
		return d, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*v1.Descriptor), nil
}

// ConfigLabels returns the labels of the image the registry serves for ref on
// platform (os/arch[/variant]; empty for a single-platform tag), read from
// the image config blob: manifest and config only, no layer.
func (c *Client) ConfigLabels(ctx context.Context, ref Ref, platform string) (map[string]string, error) {
	v, err := c.once(ctx, "config "+ref.String()+" "+platform, func() (any, error) {
		nref, err := ggcrRef(ref)
		if err != nil {
			return nil, err
		}
		bg, cancel := detached(ctx)
		defer cancel()
		desc, err := c.puller.Get(bg, nref)
		if err != nil {
			return nil, Reason(err)
		}
		var img v1.Image
		if desc.MediaType.IsIndex() {
			p, err := v1.ParsePlatform(platform)
			if err != nil || platform == "" {
				p = &v1.Platform{OS: "linux", Architecture: "amd64"}
			}
			idx, err := desc.ImageIndex()
			if err != nil {
				return nil, Reason(err)
			}
			img, err = imageForPlatform(idx, *p)
			if err != nil {
				return nil, err
			}
		} else if img, err = desc.Image(); err != nil {
			return nil, Reason(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, Reason(err)
		}
		return cfg.Config.Labels, nil
	})
	if err != nil {
		return nil, err
	}
	labels, _ := v.(map[string]string)
	return labels, nil
}

// lookupTimeout bounds one shared look-up, which no caller's context cancels.
const lookupTimeout = 2 * time.Minute

func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
}

func imageForPlatform(idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, Reason(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.Satisfies(p) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("the registry's index has no image for %s", p.String())
}

// ggcrRef converts a parsed reference for go-containerregistry. Docker Hub
// is "index.docker.io" there.
func ggcrRef(ref Ref) (name.Reference, error) {
	s := ref.String()
	if ref.IsDockerHub() {
		s = "index.docker.io/" + strings.TrimPrefix(s, "docker.io/")
	}
	r, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref.String(), err)
	}
	return r, nil
}

// newTransport is http.DefaultTransport trusting, per registry, the CA
// certificates in CertsDir/HOST:PORT/ besides the system roots.
func newTransport() http.RoundTripper {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	pools := map[string]*x509.CertPool{}
	var mu sync.Mutex
	poolFor := func(host string) *x509.CertPool {
		mu.Lock()
		defer mu.Unlock()
		if p, ok := pools[host]; ok {
			return p
		}
		files, _ := filepath.Glob(filepath.Join(CertsDir, host, "*.crt"))
		var p *x509.CertPool
		if len(files) > 0 {
			var err error
			if p, err = x509.SystemCertPool(); err != nil || p == nil {
				p = x509.NewCertPool()
			}
			for _, f := range files {
				if pem, err := os.ReadFile(f); err == nil {
					p.AppendCertsFromPEM(pem)
				}
			}
		}
		pools[host] = p
		return p
	}
	return &certsDirTransport{base: base, poolFor: poolFor, byHost: map[string]*http.Transport{}}
}

// certsDirTransport picks a transport per registry host so each host gets
// its own roots.
type certsDirTransport struct {
	base    *http.Transport
	poolFor func(host string) *x509.CertPool
	mu      sync.Mutex
	byHost  map[string]*http.Transport
}

func (t *certsDirTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return t.base.RoundTrip(req)
	}
	host := req.URL.Host
	t.mu.Lock()
	tr, ok := t.byHost[host]
	if !ok {
		tr = t.base
		if pool := t.poolFor(host); pool != nil {
			tr = t.base.Clone()
			tr.TLSClientConfig.RootCAs = pool
		}
		t.byHost[host] = tr
	}
	t.mu.Unlock()
	return tr.RoundTrip(req)
}

// Reason turns a registry protocol error into the registry's own words:
// "unauthorized: authentication required", "manifest unknown", "not found".
func Reason(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	var msgs []string
	for _, d := range te.Errors {
		m := strings.ToLower(string(d.Code))
		if d.Message != "" {
			m = d.Message
		}
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		return &RegistryError{Status: te.StatusCode, Msg: strings.Join(msgs, "; "), err: err}
	}
	var msg string
	switch te.StatusCode {
	case http.StatusUnauthorized:
		msg = "unauthorized: the registry refused the credentials (or needs some)"
	case http.StatusForbidden:
		msg = "denied: the credentials may not read this repository"
	case http.StatusNotFound:
		msg = "not found: no such repository or tag"
	case http.StatusTooManyRequests:
		msg = "too many requests: the registry's rate limit is reached"
	default:
		msg = fmt.Sprintf("registry answered %d %s", te.StatusCode, http.StatusText(te.StatusCode))
	}
	return &RegistryError{Status: te.StatusCode, Msg: msg, err: err}
}

// RegistryError is a registry's refusal, with the HTTP status.
type RegistryError struct {
	Status int
	Msg    string
	err    error
}

func (e *RegistryError) Error() string { return e.Msg }
func (e *RegistryError) Unwrap() error { return e.err }
