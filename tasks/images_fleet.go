package tasks

import "sort"

// ImageSpread is one image reference across the fleet: which hosts hold it,
// under which image id. Drift means the same reference is a different image
// on some hosts (a stale pull, a local rebuild).
type ImageSpread struct {
	Ref   string        `json:"ref"`
	Hosts []ImageOnHost `json:"hosts"`
	IDs   int           `json:"ids"` // distinct image ids behind the reference
	Drift bool          `json:"drift"`
}

// ImageOnHost is a host holding a reference, and the id it has there.
type ImageOnHost struct {
	Host string `json:"host"`
	ID   string `json:"id"`
}

// SpreadImages groups the images of ok hosts by reference, in reference
// order; hosts keep the order they are given in.
func SpreadImages(results []Result) []ImageSpread {
	byRef := map[string]*ImageSpread{}
	for _, r := range results {
		images, ok := r.Data.([]Image)
		if r.Status != StatusOK || !ok {
			continue
		}
		for _, im := range images {
			if im.Ref == "<none>:<none>" { // dangling images share no reference to compare
				continue
			}
			s := byRef[im.Ref]
			if s == nil {
				s = &ImageSpread{Ref: im.Ref, Hosts: []ImageOnHost{}}
				byRef[im.Ref] = s
			}
			s.Hosts = append(s.Hosts, ImageOnHost{Host: r.Host, ID: im.ID})
		}
	}
	out := []ImageSpread{}
	for _, s := range byRef {
		ids := map[string]bool{}
		for _, h := range s.Hosts {
			ids[h.ID] = true
		}
		s.IDs, s.Drift = len(ids), len(ids) > 1
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}
