package tasks

import (
	"context"
	"errors"
	"testing"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
)

type fakeImages struct{ items []image.Summary }

func (f fakeImages) ImageList(ctx context.Context, _ client.ImageListOptions) (client.ImageListResult, error) {
	return client.ImageListResult{Items: f.items}, nil
}

func (f fakeImages) ImageInspect(ctx context.Context, id string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	return client.ImageInspectResult{InspectResponse: image.InspectResponse{ID: id, Os: "linux", Architecture: "arm64"}}, nil
}

type fakeLookup struct {
	digests  map[string]string
	asked    map[string]int
	platform string
}

func (f *fakeLookup) Digest(ctx context.Context, ref string) (string, error) {
	f.asked[ref]++
	if d, ok := f.digests[ref]; ok {
		return d, nil
	}
	return "", errors.New("unauthorized: authentication required")
}

func (f *fakeLookup) Labels(ctx context.Context, ref, platform string) (map[string]string, error) {
	f.platform = platform
	return map[string]string{"rev": "new"}, nil
}

func TestOutdatedCompares(t *testing.T) {
	engine := fakeImages{items: []image.Summary{
		{ID: "sha256:1", RepoTags: []string{"reg:5000/app:1"}, Labels: map[string]string{"rev": "old"},
			// The engine may record several digests for one repository (an index and a manifest).
			RepoDigests: []string{"reg:5000/app@sha256:aaa", "reg:5000/app@sha256:bbb", "other/app@sha256:ccc"}},
		{ID: "sha256:2", RepoTags: []string{"reg:5000/api:2"}, RepoDigests: []string{"reg:5000/api@sha256:ddd"}},
		{ID: "sha256:3", RepoTags: []string{"local/built:1"}},
		{ID: "sha256:4", RepoTags: []string{"reg:5000/private:1"}, RepoDigests: []string{"reg:5000/private@sha256:eee"}},
	}}
	lk := &fakeLookup{asked: map[string]int{}, digests: map[string]string{
		"reg:5000/app:1": "sha256:bbb",
		"reg:5000/api:2": "sha256:fff",
	}}
	got, err := Outdated{Registry: lk, Labels: []string{"rev"}}.check(context.Background(), engine)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]string{ // status, local, registry
		"reg:5000/app:1":     {UpToDate, "sha256:bbb", "sha256:bbb"},
		"reg:5000/api:2":     {OutOfDate, "sha256:ddd", "sha256:fff"},
		"local/built:1":      {UnknownDate, "", ""},
		"reg:5000/private:1": {UnknownDate, "sha256:eee", ""},
	}
	for _, im := range got {
		w := want[im.Ref]
		if im.Status != w[0] || im.LocalDigest != w[1] || im.RegistryDigest != w[2] {
			t.Errorf("%s: %s %s -> %s, want %v", im.Ref, im.Status, im.LocalDigest, im.RegistryDigest, w)
		}
		if im.Status == UnknownDate && im.Reason == "" {
			t.Errorf("%s: unknown without a reason", im.Ref)
		}
		if im.Ref == "reg:5000/app:1" && (im.Labels["rev"].Local != "old" || im.Labels["rev"].Registry != "new") {
			t.Errorf("labels %+v", im.Labels)
		}
	}
	if lk.asked["local/built:1"] != 0 {
		t.Error("an image without a repo digest was looked up")
	}
	if lk.platform != "linux/arm64" {
		t.Errorf("labels asked for platform %q, want the host image's linux/arm64", lk.platform)
	}
}
