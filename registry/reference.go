package registry

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// Ref is a parsed image reference, normalized the way docker does
// ("busybox" is "docker.io/library/busybox:latest").
type Ref struct {
	named reference.Named
}

// ParseRef parses an image reference before anything is contacted. A
// reference without tag or digest means ":latest".
func ParseRef(s string) (Ref, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		msg := err.Error()
		if _, lerr := reference.ParseNormalizedNamed(strings.ToLower(s)); lerr == nil && s != strings.ToLower(s) {
			msg = "repository names must be lowercase"
		}
		return Ref{}, fmt.Errorf("invalid image reference %q: %s", s, msg)
	}
	return Ref{named: reference.TagNameOnly(named)}, nil
}

// String is the full reference: registry/repository:tag or @digest.
func (r Ref) String() string { return r.named.String() }

// Familiar is the reference as docker shows it ("busybox:latest").
func (r Ref) Familiar() string { return reference.FamiliarString(r.named) }

// Host is the registry host, e.g. "docker.io" or "127.0.0.1:5000".
func (r Ref) Host() string { return reference.Domain(r.named) }

// Repository is the repository path inside the registry ("library/busybox").
func (r Ref) Repository() string { return reference.Path(r.named) }

// Name is registry host and repository, without tag or digest.
func (r Ref) Name() string { return r.named.Name() }

// Tag is the tag, or "" for a reference by digest.
func (r Ref) Tag() string {
	if t, ok := r.named.(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest is the digest of a reference by digest, else "".
func (r Ref) Digest() string {
	if d, ok := r.named.(reference.Digested); ok {
		return d.Digest().String()
	}
	return ""
}

// IsDockerHub reports whether the image comes from Docker Hub.
func (r Ref) IsDockerHub() bool { return r.Host() == "docker.io" }
