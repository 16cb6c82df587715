package registry

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// hubEndpoint is Docker Hub's registry API host. Tests point it at a
// loopback server; nothing else changes it.
var hubEndpoint = "registry-1.docker.io"

// Allowance is Docker Hub's pull allowance as its ratelimit-* headers report
// it. Known is false when the headers were absent (no limit applies, e.g.
// some paid accounts).
type Allowance struct {
	Known     bool          `json:"known"`
	Limit     int           `json:"limit"`
	Remaining int           `json:"remaining"`
	Window    time.Duration `json:"-"`
	WindowS   int           `json:"window_seconds"`
	Source    string        `json:"source,omitempty"` // the ratelimit-source header: the IP or account counted
}

// ParseAllowance reads ratelimit-limit ("100;w=21600") and
// ratelimit-remaining ("76;w=21600") headers.
func ParseAllowance(h http.Header) (Allowance, error) {
	limit, remaining := h.Get("ratelimit-limit"), h.Get("ratelimit-remaining")
	if limit == "" && remaining == "" {
		return Allowance{}, nil
	}
	a := Allowance{Known: true, Source: h.Get("docker-ratelimit-source")}
	var err error
	var w int
	if a.Limit, w, err = parseQuota(limit); err != nil {
		return Allowance{}, fmt.Errorf("ratelimit-limit %q: %w", limit, err)
	}
	if a.Remaining, _, err = parseQuota(remaining); err != nil {
		return Allowance{}, fmt.Errorf("ratelimit-remaining %q: %w", remaining, err)
	}
	a.WindowS, a.Window = w, time.Duration(w)*time.Second
	return a, nil
}

// parseQuota parses "N" or "N;w=SECONDS".
func parseQuota(s string) (n, window int, err error) {
	if s == "" {
		return 0, 0, fmt.Errorf("missing")
	}
	parts := strings.Split(s, ";")
	if n, err = strconv.Atoi(strings.TrimSpace(parts[0])); err != nil || n < 0 {
		return 0, 0, fmt.Errorf("not a count")
	}
	for _, p := range parts[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "w="); ok {
			if window, err = strconv.Atoi(v); err != nil {
				return 0, 0, fmt.Errorf("bad window")
			}
		}
	}
	return n, window, nil
}

// HubAllowance asks Docker Hub for the pull allowance left to the admin's
// credentials (or address, when anonymous) by a HEAD on ref's manifest: a
// HEAD is not counted as a pull.
func (c *Client) HubAllowance(ctx context.Context, ref Ref) (Allowance, error) {
	reg, err := name.NewRegistry(hubEndpoint, name.StrictValidation)
	if err != nil {
		return Allowance{}, err
	}
	repo := reg.Repo(ref.Repository())
	hubRepo, err := name.NewRepository("index.docker.io/" + ref.Repository())
	if err != nil {
		return Allowance{}, err
	}
	auth, err := c.creds.Keychain().Resolve(hubRepo)
	if err != nil {
		return Allowance{}, err
	}
	rt, err := transport.NewWithContext(ctx, reg, auth, newTransport(), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return Allowance{}, Reason(err)
	}
	ident := ref.Tag()
	if d := ref.Digest(); d != "" {
		ident = d
	}
	// The transport switches to http when the ping found a plain-HTTP (loopback) registry.
	u := fmt.Sprintf("https://%s/v2/%s/manifests/%s", reg.RegistryStr(), ref.Repository(), ident)
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return Allowance{}, err
	}
	req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	resp, err := (&http.Client{Transport: rt, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return Allowance{}, fmt.Errorf("asking docker hub for the pull allowance: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests {
		return Allowance{}, fmt.Errorf("asking docker hub for the pull allowance: %s", resp.Status)
	}
	return ParseAllowance(resp.Header)
}

var manifestTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
}

// AllowanceError refuses a fan-out pull the allowance cannot cover.
type AllowanceError struct {
	Image     string
	Pulls     int
	Allowance Allowance
}

func (e *AllowanceError) Error() string {
	return fmt.Sprintf("docker hub allows %d more pulls (of %d per %s), pulling %s on %d hosts needs %d",
		e.Allowance.Remaining, e.Allowance.Limit, e.Allowance.Window, e.Image, e.Pulls, e.Pulls)
}

// Hint says what to do instead.
func (e *AllowanceError) Hint() string {
	return "use --relay to pull once and stream the image to the other hosts, or --force to pull anyway"
}

// CheckAllowance refuses pulls that a known allowance cannot cover.
func CheckAllowance(a Allowance, image string, pulls int) error {
	if a.Known && pulls > a.Remaining {
		return &AllowanceError{Image: image, Pulls: pulls, Allowance: a}
	}
	return nil
}
