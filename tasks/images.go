package tasks

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"flotilla/connect"
)

// Images lists the images a host's engine holds, one row per tag.
type Images struct {
	All     bool     // include dangling (untagged) images
	Filters []string // globs on repository:tag (see MatchRef); any one may match; none means all
}

// Image is one repository:tag on a host.
type Image struct {
	Ref     string    `json:"ref"`    // repository:tag, or "<none>:<none>"
	ID      string    `json:"id"`     // full image id (sha256:...)
	Digest  string    `json:"digest"` // repo digest (repository@sha256:...), "" when never pushed or pulled
	Size    int64     `json:"size"`
	Created time.Time `json:"created"`
}

type imageLister interface {
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
}

func (Images) Name() string { return "images" }

func (t Images) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.list(ctx, c.Engine)
}

func (t Images) list(ctx context.Context, engine imageLister) ([]Image, error) {
	res, err := engine.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, err
	}
	out := []Image{}
	for _, s := range res.Items {
		created := time.Unix(s.Created, 0).UTC()
		tags := s.RepoTags
		// Engines before API 1.44 list a dangling image as "<none>:<none>".
		if len(tags) == 1 && tags[0] == "<none>:<none>" {
			tags = nil
		}
		if len(tags) == 0 {
			if !t.All {
				continue
			}
			tags = []string{"<none>:<none>"}
		}
		for _, tag := range tags {
			if !t.matches(tag) {
				continue
			}
			out = append(out, Image{Ref: tag, ID: s.ID, Digest: digestFor(tag, s.RepoDigests),
				Size: s.Size, Created: created})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// digestFor picks the repo digest recorded for the tag's repository.
func digestFor(tag string, digests []string) string {
	repo := tag
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		repo = tag[:i]
	}
	for _, d := range digests {
		if strings.HasPrefix(d, repo+"@") {
			return d
		}
	}
	return ""
}

func (t Images) matches(ref string) bool {
	if len(t.Filters) == 0 || ref == "<none>:<none>" { // dangling images have no ref to filter on
		return true
	}
	for _, f := range t.Filters {
		if MatchRef(f, ref) {
			return true
		}
	}
	return false
}
