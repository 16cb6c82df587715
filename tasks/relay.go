package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"sync"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"flotilla/connect"
	"flotilla/hosts"
)

// RelayLoad loads an image streamed from another host (the relay source's
// image save, fanned out by the admin machine) into a host's engine. The
// host never contacts a registry.
type RelayLoad struct {
	Source []Pulled // what the source pulled: the images in the stream
	Via    string   // the source host
	Fan    *Fanout  // the stream; every target joins it
}

type imageLoader interface {
	ImageLoad(ctx context.Context, input io.Reader, opts ...client.ImageLoadOption) (client.ImageLoadResult, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
}

func (RelayLoad) Name() string { return "relay" }

func (t RelayLoad) Run(ctx context.Context, c *connect.Conn) (any, error) {
	stream, err := t.Fan.Join(c.Host.Name)
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	return t.load(ctx, c.Engine, stream)
}

func (t RelayLoad) load(ctx context.Context, engine imageLoader, stream io.ReadCloser) ([]Pulled, error) {
	out := make([]Pulled, len(t.Source))
	for i, src := range t.Source {
		out[i] = Pulled{Image: src.Image, Digest: src.Digest, Via: t.Via}
		if before, err := engine.ImageInspect(ctx, src.Image); err == nil {
			out[i].PreviousID = before.ID
		}
	}
	resp, err := engine.ImageLoad(ctx, stream, client.ImageLoadWithQuiet(true))
	if err != nil {
		stream.Close() // leave the fan-out so the others go on
		return out, engineReason(err)
	}
	defer resp.Close()
	if err := loadStreamError(resp); err != nil {
		return out, err
	}
	var errs []error
	for i := range out {
		after, err := engine.ImageInspect(ctx, out[i].Image)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: missing after the load: %w", out[i].Image, err))
			continue
		}
		out[i].ID = after.ID
		out[i].Changed = out[i].ID != out[i].PreviousID
		if out[i].ID != t.Source[i].ID {
			errs = append(errs, fmt.Errorf("%s: loaded image id %s differs from the source's %s", out[i].Image, out[i].ID, t.Source[i].ID))
		}
	}
	return out, errors.Join(errs...)
}

// loadStreamError returns the first error in an image load's JSON stream.
func loadStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if m.Error != nil {
			return errors.New(strings.TrimSpace(m.Error.Message))
		}
	}
}

// imageSaver is what the relay source needs.
type imageSaver interface {
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (client.ImageSaveResult, error)
}

// relaySource streams images from the source engine into fan and returns
// the bytes relayed.
func relaySource(ctx context.Context, engine imageSaver, images []string, fan *Fanout) (int64, error) {
	rc, err := engine.ImageSave(ctx, images)
	if err != nil {
		fan.closeAll(err)
		return 0, engineReason(err)
	}
	defer rc.Close()
	return fan.Run(ctx, rc)
}

// Relay chunking: 256 KiB chunks, up to 16 queued per target (4 MiB), so
// memory stays bounded however large the image.
const (
	relayChunk = 256 << 10
	relayQueue = 16
)

// Relay pulls on the first host from the registry, then streams the pulled
// images from its engine (image save) through the admin machine into every
// other host's engine (image load) at once. Targets never contact a
// registry. report is called once per host as it finishes. Every target
// streams at the same time (Forks does not apply to them: one stream feeds
// all).
func (r *Runner) Relay(ctx context.Context, list []*hosts.Host, pull Pull, report func(Result)) []Result {
	if len(list) == 0 {
		return nil
	}
	first := r.Run(ctx, list[:1], pull, report)
	results := append([]Result{}, first...)
	targets := list[1:]
	if len(targets) == 0 {
		return results
	}
	var source *connect.Conn
	if first[0].Status == StatusOK {
		source, _ = r.Dialer.Get(ctx, list[0]) // the pool's connection of the pull
	}
	if source == nil {
		for _, h := range targets {
			res := Result{Host: h.Name, Status: StatusSkipped, Error: fmt.Sprintf("relay source %s did not pull", list[0].Name)}
			if report != nil {
				report(res)
			}
			results = append(results, res)
		}
		return results
	}
	pulled := first[0].Data.([]Pulled)
	names := make([]string, len(targets))
	for i, h := range targets {
		names[i] = h.Name
	}
	fan := NewFanout(names, relayChunk, relayQueue)

	// Dial every target first: one that cannot be reached leaves the
	// fan-out before the stream starts, so it never holds the others.
	var wg sync.WaitGroup
	dialCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	slots := make(chan struct{}, max(r.Forks, 1))
	for _, h := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			if _, err := r.Dialer.Get(dialCtx, h); err != nil {
				fan.Leave(h.Name)
			}
		}()
	}
	wg.Wait()

	srcCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		srcCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	images := make([]string, len(pulled))
	for i, p := range pulled {
		images[i] = p.Image
	}
	srcDone := make(chan error, 1)
	go func() {
		_, err := relaySource(srcCtx, source.Engine, images, fan)
		srcDone <- err
	}()
	loads := (&Runner{Forks: len(targets), Timeout: r.Timeout, Dialer: r.Dialer}).Run(ctx, targets, RelayLoad{Source: pulled, Via: list[0].Name, Fan: fan}, report)
	<-srcDone
	return append(results, loads...)
}
