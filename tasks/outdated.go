package tasks

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/moby/moby/client"

	"flotilla/connect"
)

// Outdated compares each tagged image on a host with what its registry
// serves for the tag now, without pulling: up to date, outdated, or unknown.
type Outdated struct {
	Registry RegistryLookup // shared by every host of the run
	Labels   []string       // image labels to show from both sides
}

// RegistryLookup answers questions about a tag; one answer per question per
// run, however many hosts ask.
type RegistryLookup interface {
	// Digest is the digest the registry serves for ref (an index digest
	// for a multi-platform tag). ok is false when ref cannot be looked up.
	Digest(ctx context.Context, ref string) (string, error)
	// Labels are the labels of the registry's current image for ref on
	// platform ("os/arch[/variant]").
	Labels(ctx context.Context, ref, platform string) (map[string]string, error)
}

// Image states.
const (
	UpToDate    = "up to date"
	OutOfDate   = "outdated"
	UnknownDate = "unknown"
)

// OutdatedImage is one tag on one host.
type OutdatedImage struct {
	Ref            string            `json:"ref"`
	ID             string            `json:"id"`
	Status         string            `json:"status"`                    // up to date, outdated, unknown
	LocalDigest    string            `json:"local_digest,omitempty"`    // the repo digest the engine recorded
	RegistryDigest string            `json:"registry_digest,omitempty"` // what the registry serves now
	Reason         string            `json:"reason,omitempty"`          // why unknown
	Labels         map[string]Label  `json:"labels,omitempty"`
	localLabels    map[string]string // from the image list
}

// Label is one label's value on the host and in the registry's current image.
type Label struct {
	Local    string `json:"local"`
	Registry string `json:"registry"`
	Error    string `json:"error,omitempty"`
}

type outdatedEngine interface {
	imageLister
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
}

func (Outdated) Name() string { return "images" }

func (t Outdated) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.check(ctx, c.Engine)
}

func (t Outdated) check(ctx context.Context, engine outdatedEngine) ([]OutdatedImage, error) {
	res, err := engine.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, err
	}
	out := []OutdatedImage{}
	for _, s := range res.Items {
		for _, tag := range s.RepoTags {
			if tag == "<none>:<none>" {
				continue
			}
			im := OutdatedImage{Ref: tag, ID: s.ID, localLabels: s.Labels}
			digests := repoDigests(tag, s.RepoDigests)
			if len(digests) == 0 {
				im.Status, im.Reason = UnknownDate, "no repo digest: built, imported or loaded on the host, never pulled"
				out = append(out, im)
				continue
			}
			im.LocalDigest = digests[0]
			remote, err := t.Registry.Digest(ctx, tag)
			switch {
			case err != nil:
				im.Status, im.Reason = UnknownDate, err.Error()
			case contains(digests, remote):
				im.Status, im.LocalDigest, im.RegistryDigest = UpToDate, remote, remote
			default:
				im.Status, im.RegistryDigest = OutOfDate, remote
			}
			out = append(out, im)
		}
	}
	if len(t.Labels) > 0 {
		t.addLabels(ctx, engine, out)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, ctx.Err()
}

// addLabels fills each image's labels from the host and from the registry's
// current image for the host image's platform.
func (t Outdated) addLabels(ctx context.Context, engine outdatedEngine, images []OutdatedImage) {
	for i := range images {
		im := &images[i]
		im.Labels = map[string]Label{}
		var remote map[string]string
		var rerr error
		if im.Status == UnknownDate && im.LocalDigest == "" {
			rerr = errors.New("not looked up")
		} else {
			platform := ""
			if in, err := engine.ImageInspect(ctx, im.ID); err == nil {
				platform = in.Os + "/" + in.Architecture
				if in.Variant != "" {
					platform += "/" + in.Variant
				}
			}
			remote, rerr = t.Registry.Labels(ctx, im.Ref, platform)
		}
		for _, k := range t.Labels {
			l := Label{Local: im.localLabels[k], Registry: remote[k]}
			if rerr != nil {
				l.Error = rerr.Error()
			}
			im.Labels[k] = l
		}
	}
}

// repoDigests are the digests (sha256:...) the engine recorded for the tag's
// repository.
func repoDigests(tag string, all []string) []string {
	repo := tag
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		repo = tag[:i]
	}
	var out []string
	for _, d := range all {
		if r, dg, ok := strings.Cut(d, "@"); ok && r == repo {
			out = append(out, dg)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
