package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Copy is one tag copied (or to copy) from one registry to another.
type Copy struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Digest    string `json:"digest"`          // the source's digest, kept at the destination
	MediaType string `json:"media_type"`      // index or manifest
	Platforms int    `json:"platforms"`       // images in the index, 1 for a single manifest
	Was       string `json:"destination_was"` // the destination's digest before, "" when absent
	Action    string `json:"action"`          // "copied", "would copy", "up to date"
	Error     string `json:"error,omitempty"` // why this tag failed
}

// Promote copies the image at from to to, digest for digest and every
// platform of an index. With dryRun it only looks at both sides. A
// destination already at the source's digest is left alone.
func (c *Client) Promote(ctx context.Context, from, to Ref, dryRun bool) (Copy, error) {
	cp := Copy{From: from.String(), To: to.String()}
	src, err := ggcrRef(from)
	if err != nil {
		return cp, err
	}
	dst, err := ggcrRef(to)
	if err != nil {
		return cp, err
	}
	kc := remote.WithAuthFromKeychain(c.creds.Keychain())
	tr := remote.WithTransport(newTransport())
	desc, err := remote.Get(src, remote.WithContext(ctx), kc, tr)
	if err != nil {
		return cp, fmt.Errorf("source %s: %w", cp.From, Reason(err))
	}
	cp.Digest, cp.MediaType, cp.Platforms = desc.Digest.String(), string(desc.MediaType), 1
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return cp, fmt.Errorf("source %s: %w", cp.From, Reason(err))
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return cp, fmt.Errorf("source %s: %w", cp.From, Reason(err))
		}
		cp.Platforms = len(m.Manifests)
	}
	if was, err := remote.Head(dst, remote.WithContext(ctx), kc, tr); err == nil {
		cp.Was = was.Digest.String()
	} else {
		var re *RegistryError
		if rerr := Reason(err); !errors.As(rerr, &re) || re.Status != http.StatusNotFound {
			return cp, fmt.Errorf("destination %s: %w", cp.To, rerr)
		}
	}
	switch {
	case cp.Was == cp.Digest:
		cp.Action = "up to date"
		return cp, nil
	case dryRun:
		cp.Action = "would copy"
		return cp, nil
	}
	// Writing the source's own manifest bytes keeps its digest.
	if desc.MediaType.IsIndex() {
		idx, _ := desc.ImageIndex()
		err = remote.WriteIndex(dst, idx, remote.WithContext(ctx), kc, tr)
	} else {
		img, ierr := desc.Image()
		if ierr != nil {
			return cp, fmt.Errorf("source %s: %w", cp.From, Reason(ierr))
		}
		err = remote.Write(dst, img, remote.WithContext(ctx), kc, tr)
	}
	if err != nil {
		return cp, fmt.Errorf("destination %s: %w", cp.To, Reason(err))
	}
	cp.Action = "copied"
	return cp, nil
}
