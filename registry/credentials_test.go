package registry

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func writeConfig(t *testing.T, cfg string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func decodeEngineAuth(t *testing.T, s string) map[string]string {
	t.Helper()
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("X-Registry-Auth %q is not base64url: %v", s, err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEngineAuthFromAuths(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	dir := writeConfig(t, `{"auths": {
		"127.0.0.1:5000": {"auth": "`+b64("alice:s3cret")+`"},
		"https://index.docker.io/v1/": {"auth": "`+b64("hubuser:hubpass")+`"}
	}}`)
	creds, err := LoadCredentialsFrom(dir)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string][2]string{
		"127.0.0.1:5000":  {"alice", "s3cret"},
		"docker.io":       {"hubuser", "hubpass"}, // the index address, as docker login stores it
		"index.docker.io": {"hubuser", "hubpass"},
		"other.example":   {"", ""},
	} {
		s, err := creds.EngineAuth(host)
		if err != nil {
			t.Fatal(err)
		}
		m := decodeEngineAuth(t, s)
		if m["username"] != want[0] || m["password"] != want[1] {
			t.Errorf("%s: got %v, want %v", host, m, want)
		}
	}
	// The same credentials for go-containerregistry.
	repo, _ := name.NewRepository("index.docker.io/library/busybox")
	a, err := creds.Keychain().Resolve(repo)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := a.Authorization()
	if cfg.Username != "hubuser" || cfg.Password != "hubpass" {
		t.Errorf("keychain for docker hub: %+v", cfg)
	}
	reg, _ := name.NewRegistry("other.example")
	if a, _ := creds.Keychain().Resolve(reg); a != authn.Anonymous {
		t.Errorf("no credentials should be anonymous, got %v", a)
	}
}

// A credential helper (credHelpers) is a docker-credential-NAME program
// on PATH; flotilla runs it once per registry per run.
func TestEngineAuthFromCredHelper(t *testing.T) {
	bin := t.TempDir()
	count := filepath.Join(bin, "count")
	helper := `#!/bin/sh
echo x >> ` + count + `
read server
[ "$1" = get ] && [ "$server" = "reg.example:5000" ] || exit 1
echo '{"ServerURL":"reg.example:5000","Username":"bob","Secret":"helper-secret"}'
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-flotillatest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := writeConfig(t, `{"credHelpers": {"reg.example:5000": "flotillatest"}}`)
	creds, err := LoadCredentialsFrom(dir)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s, err := creds.EngineAuth("reg.example:5000")
		if err != nil {
			t.Fatal(err)
		}
		if m := decodeEngineAuth(t, s); m["username"] != "bob" || m["password"] != "helper-secret" {
			t.Errorf("got %v", m)
		}
	}
	b, _ := os.ReadFile(count)
	if n := len(b) / 2; n != 1 {
		t.Errorf("helper ran %d times, want once per registry per run", n)
	}
}

func TestLoadCredentialsMalformed(t *testing.T) {
	dir := writeConfig(t, `{"auths": `)
	if _, err := LoadCredentialsFrom(dir); err == nil {
		t.Error("a malformed config.json must be an error, not anonymous pulls")
	}
	if _, err := LoadCredentialsFrom(filepath.Join(t.TempDir(), "none")); err != nil {
		t.Errorf("a missing config.json means no credentials: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	for in, want := range map[string][3]string{
		"busybox":                        {"docker.io/library/busybox:latest", "docker.io", "library/busybox"},
		"127.0.0.1:5000/lab/app:1":       {"127.0.0.1:5000/lab/app:1", "127.0.0.1:5000", "lab/app"},
		"ghcr.io/acme/api@sha256:" + h64: {"ghcr.io/acme/api@sha256:" + h64, "ghcr.io", "acme/api"},
	} {
		r, err := ParseRef(in)
		if err != nil || r.String() != want[0] || r.Host() != want[1] || r.Repository() != want[2] {
			t.Errorf("%s: %v %v", in, r, err)
		}
	}
	for _, bad := range []string{"Busybox", "a::b", "", "x@sha256:12"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

const h64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
