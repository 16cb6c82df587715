package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseAllowance(t *testing.T) {
	cases := []struct {
		limit, remaining string
		want             Allowance
		err              bool
	}{
		{"100;w=21600", "76;w=21600", Allowance{Known: true, Limit: 100, Remaining: 76, Window: 6 * time.Hour, WindowS: 21600}, false},
		{"200", "0", Allowance{Known: true, Limit: 200}, false},
		{"", "", Allowance{}, false},
		{"100;w=21600", "", Allowance{}, true},
		{"lots", "1", Allowance{}, true},
		{"100;w=x", "1", Allowance{}, true},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.limit != "" {
			h.Set("RateLimit-Limit", c.limit)
		}
		if c.remaining != "" {
			h.Set("RateLimit-Remaining", c.remaining)
		}
		got, err := ParseAllowance(h)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%q/%q: got %+v, %v; want %+v (error %v)", c.limit, c.remaining, got, err, c.want, c.err)
		}
	}
}

func TestCheckAllowance(t *testing.T) {
	a := Allowance{Known: true, Limit: 100, Remaining: 2, Window: 6 * time.Hour}
	if err := CheckAllowance(a, "busybox", 2); err != nil {
		t.Errorf("2 pulls of 2 left: %v", err)
	}
	err := CheckAllowance(a, "busybox", 3)
	var ae *AllowanceError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "allows 2 more pulls") || !strings.Contains(ae.Hint(), "--relay") {
		t.Errorf("3 pulls of 2 left: %v, want a refusal suggesting --relay", err)
	}
	if err := CheckAllowance(Allowance{}, "busybox", 1000); err != nil {
		t.Errorf("unknown allowance must not refuse: %v", err)
	}
}

// fakeHub is a loopback stand-in for Docker Hub's registry API and token
// service: a bearer challenge, a token, and ratelimit headers on manifest
// requests.
type fakeHub struct {
	remaining int
	mu        sync.Mutex
	requests  []string
}

func (f *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	switch {
	case r.URL.Path == "/token":
		if r.URL.Query().Get("scope") != "repository:library/busybox:pull" {
			http.Error(w, "bad scope "+r.URL.Query().Get("scope"), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"token":"t0k3n"}`)
	case r.Header.Get("Authorization") != "Bearer t0k3n":
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="registry.docker.io"`, r.Host))
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
	case r.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case r.URL.Path == "/v2/library/busybox/manifests/latest":
		if !strings.Contains(r.Header.Get("Accept"), "application/vnd.oci.image.index.v1+json") {
			http.Error(w, "no index accept", http.StatusBadRequest)
			return
		}
		w.Header().Set("ratelimit-limit", "100;w=21600")
		w.Header().Set("ratelimit-remaining", fmt.Sprintf("%d;w=21600", f.remaining))
		w.Header().Set("docker-ratelimit-source", "192.0.2.1")
		w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("a", 64))
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

func TestHubAllowanceFromServer(t *testing.T) {
	hub := &fakeHub{remaining: 2}
	srv := httptest.NewServer(hub) // 127.0.0.1
	defer srv.Close()
	old := hubEndpoint
	hubEndpoint = strings.TrimPrefix(srv.URL, "http://")
	defer func() { hubEndpoint = old }()

	creds, err := LoadCredentialsFrom(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(creds)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := ParseRef("busybox")
	a, err := c.HubAllowance(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Known || a.Limit != 100 || a.Remaining != 2 || a.Window != 6*time.Hour || a.Source != "192.0.2.1" {
		t.Errorf("allowance %+v, want 2 of 100 per 6h from 192.0.2.1", a)
	}
	if err := CheckAllowance(a, ref.Familiar(), 3); err == nil {
		t.Error("3 hosts with 2 pulls left: want a refusal")
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	for _, r := range hub.requests {
		if strings.HasPrefix(r, "GET /v2/library/") {
			t.Errorf("reading the allowance spent a pull: %s", r)
		}
	}
	if !contains(hub.requests, "HEAD /v2/library/busybox/manifests/latest") {
		t.Errorf("no HEAD on the manifest: %v", hub.requests)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
