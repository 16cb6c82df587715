package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	clitypes "github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	mobyregistry "github.com/moby/moby/api/types/registry"
)

// Credentials resolves registry credentials from the admin's Docker client
// configuration (DOCKER_CONFIG or ~/.docker/config.json): plain "auths"
// entries, "credsStore" and per-registry "credHelpers". Each registry is
// resolved once per run, so a credential helper runs at most once per registry.
type Credentials struct {
	file *configfile.ConfigFile

	mu    sync.Mutex
	cache map[string]credResult
}

type credResult struct {
	auth clitypes.AuthConfig
	err  error
}

// ConfigDir is where the Docker client configuration is read from:
// $DOCKER_CONFIG, else ~/.docker.
func ConfigDir() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	return config.Dir()
}

// LoadCredentials reads the Docker client configuration in ConfigDir. A
// missing file means no credentials (anonymous pulls), not an error.
func LoadCredentials() (*Credentials, error) {
	return LoadCredentialsFrom(ConfigDir())
}

// LoadCredentialsFrom reads DIR/config.json.
func LoadCredentialsFrom(dir string) (*Credentials, error) {
	cf, err := config.Load(dir)
	if err != nil {
		// The loader's message names the file; it never quotes credentials.
		return nil, fmt.Errorf("docker client configuration: %w", err)
	}
	return &Credentials{file: cf, cache: map[string]credResult{}}, nil
}

// authFor returns the credentials stored for a registry host ("docker.io"
// and "index.docker.io" map to Docker Hub's index address, as the docker CLI
// does). No stored credentials is an empty AuthConfig.
func (c *Credentials) authFor(host string) (clitypes.AuthConfig, error) {
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		host = "docker.io"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.cache[host]; ok {
		return r.auth, r.err
	}
	auth, err := c.file.GetAuthConfig(host)
	if err != nil {
		// A helper's error may echo its input; say which helper failed, not what it said.
		err = fmt.Errorf("reading credentials for %s from the docker credential store failed: %w", host, err)
	}
	c.cache[host] = credResult{auth, err}
	return auth, err
}

// EngineAuth is the X-Registry-Auth value for a registry host: the
// credentials as the Engine API expects them (base64url of JSON). An empty
// configuration gives "e30=" ("{}"), an anonymous pull.
func (c *Credentials) EngineAuth(host string) (string, error) {
	a, err := c.authFor(host)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(mobyregistry.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		ServerAddress: a.ServerAddress,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
	})
	if err != nil {
		return "", err
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// HasAuth reports whether any credentials are stored for host.
func (c *Credentials) HasAuth(host string) bool {
	a, err := c.authFor(host)
	return err == nil && (a.Username != "" || a.Password != "" || a.IdentityToken != "" || a.RegistryToken != "" || a.Auth != "")
}

// Keychain adapts the same credentials to go-containerregistry, so registry
// look-ups from the admin machine authenticate exactly like the engines' pulls.
func (c *Credentials) Keychain() authn.Keychain { return keychain{c} }

type keychain struct{ c *Credentials }

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io"
	}
	a, err := k.c.authFor(host)
	if err != nil {
		return nil, err
	}
	if a == (clitypes.AuthConfig{}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      a.Username,
		Password:      a.Password,
		Auth:          a.Auth,
		IdentityToken: a.IdentityToken,
		RegistryToken: a.RegistryToken,
	}), nil
}
