package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"flotilla/connect"
)

// Pull pulls images on a host with the admin's registry credentials.
type Pull struct {
	Images   []PullImage
	Platform *ocispec.Platform // nil: the host's own platform
	// Progress, when set, is told about each image's layers as they finish
	// (called from the host's goroutine).
	Progress func(host string, p PullProgress)
}

// PullImage is one image to pull and the X-Registry-Auth for its registry.
type PullImage struct {
	Ref  string // full, normalized reference (registry/repo:tag)
	Repo string // registry/repo, to find the repo digest
	Auth string `json:"-"` // never printed
}

// PullProgress is a step of one image's pull on one host.
type PullProgress struct {
	Image      string
	LayersDone int
	Layers     int
	Bytes      int64 // bytes downloaded so far, as the engine reports them
}

// Pulled is one image's outcome on a host.
type Pulled struct {
	Image      string `json:"image"`
	Digest     string `json:"digest,omitempty"`      // the repo digest pulled (an index digest for multi-platform tags)
	ID         string `json:"id,omitempty"`          // image id after the pull
	PreviousID string `json:"previous_id,omitempty"` // image id before, "" when the host did not have it
	Changed    bool   `json:"changed"`
	Via        string `json:"via,omitempty"` // with --relay: the host the image was streamed from
	Error      string `json:"error,omitempty"`
}

type imagePuller interface {
	ImagePull(ctx context.Context, ref string, options client.ImagePullOptions) (client.ImagePullResponse, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
}

func (Pull) Name() string { return "pull" }

// Run pulls every image; a failed image fails the host with the registry's
// reason, after the others were tried.
func (t Pull) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.pullAll(ctx, c.Engine, c.Host.Name)
}

func (t Pull) pullAll(ctx context.Context, engine imagePuller, host string) ([]Pulled, error) {
	var out []Pulled
	var errs []error
	for _, im := range t.Images {
		p, err := t.pullOne(ctx, engine, host, im)
		if err != nil {
			p.Error = err.Error()
			errs = append(errs, fmt.Errorf("%s: %w", im.Ref, err))
		}
		out = append(out, p)
		if ctx.Err() != nil {
			break
		}
	}
	return out, errors.Join(errs...)
}

func (t Pull) pullOne(ctx context.Context, engine imagePuller, host string, im PullImage) (Pulled, error) {
	p := Pulled{Image: im.Ref}
	before, err := engine.ImageInspect(ctx, im.Ref)
	switch {
	case err == nil:
		p.PreviousID = before.ID
	case !cerrdefs.IsNotFound(err):
		return p, err
	}
	opts := client.ImagePullOptions{RegistryAuth: im.Auth}
	if t.Platform != nil {
		opts.Platforms = []ocispec.Platform{*t.Platform}
	}
	resp, err := engine.ImagePull(ctx, im.Ref, opts)
	if err != nil {
		return p, engineReason(err)
	}
	if err := t.follow(ctx, resp, host, im.Ref); err != nil {
		return p, err
	}
	after, err := engine.ImageInspect(ctx, im.Ref)
	if err != nil {
		return p, fmt.Errorf("inspecting the pulled image: %w", err)
	}
	p.ID = after.ID
	p.Changed = p.ID != p.PreviousID
	for _, d := range after.RepoDigests {
		if strings.HasPrefix(d, im.Repo+"@") {
			p.Digest = strings.TrimPrefix(d, im.Repo+"@")
		}
	}
	return p, nil
}

// follow reads the engine's pull stream to its end, reporting layer
// progress, and returns the first error the stream carries (the registry's
// reason as the engine relays it).
func (t Pull) follow(ctx context.Context, resp client.ImagePullResponse, host, ref string) error {
	defer resp.Close()
	layers := map[string]bool{} // layer id -> done
	bytes := map[string]int64{}
	for m, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		if t.Progress == nil || m.ID == "" || len(m.ID) != 12 {
			continue
		}
		switch {
		case m.Status == "Pull complete" || m.Status == "Already exists":
			layers[m.ID] = true
		case m.Status == "Downloading" && m.Progress != nil:
			bytes[m.ID] = m.Progress.Current
			fallthrough
		default:
			if _, ok := layers[m.ID]; !ok {
				layers[m.ID] = false
			}
		}
		t.Progress(host, progressOf(ref, layers, bytes))
	}
	return nil
}

func progressOf(ref string, layers map[string]bool, bytes map[string]int64) PullProgress {
	p := PullProgress{Image: ref, Layers: len(layers)}
	for _, done := range layers {
		if done {
			p.LayersDone++
		}
	}
	for _, b := range bytes {
		p.Bytes += b
	}
	return p
}

// engineReason strips the client's wrapping from an engine error so the
// registry's words come first.
func engineReason(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "Error response from daemon: "); i >= 0 {
		return errors.New(msg[i+len("Error response from daemon: "):])
	}
	return err
}
