package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushImage pushes a small single-platform (linux/amd64) image to
// ADDR/repoTag: one layer holding /etc/lab-content with content, and the
// given labels. It returns the manifest digest.
func (r *AuthRegistry) PushImage(ctx context.Context, repoTag, content string, labels map[string]string) (string, error) {
	img, err := labImage(content, labels, v1.Platform{OS: "linux", Architecture: "amd64"})
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(r.Addr + "/" + repoTag)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, r.remoteOptions(ctx)...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// PushIndex pushes a two-platform image (linux/amd64 and linux/arm64, a
// Docker manifest list) to ADDR/repoTag and returns the index digest.
func (r *AuthRegistry) PushIndex(ctx context.Context, repoTag, content string, labels map[string]string) (string, error) {
	idx := mutate.IndexMediaType(empty.Index, types.DockerManifestList)
	for _, arch := range []string{"amd64", "arm64"} {
		p := v1.Platform{OS: "linux", Architecture: arch}
		img, err := labImage(content+" "+arch, labels, p)
		if err != nil {
			return "", err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	ref, err := name.ParseReference(r.Addr + "/" + repoTag)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(ref, idx, r.remoteOptions(ctx)...); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := idx.Digest()
	return d.String(), err
}

// Digest is the digest the registry serves for repoTag now.
func (r *AuthRegistry) Digest(ctx context.Context, repoTag string) (string, error) {
	ref, err := name.ParseReference(r.Addr + "/" + repoTag)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(ref, r.remoteOptions(ctx)...)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

func (r *AuthRegistry) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(r.Transport()),
		remote.WithAuth(&authn.Basic{Username: r.User, Password: r.Password}),
	}
}

// labImage is a one-layer image for platform with a file whose content
// makes the digest unique.
func labImage(content string, labels map[string]string, p v1.Platform) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: mtime})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/lab-content", Mode: 0o644, Size: int64(len(content) + 1), ModTime: mtime})
	_, _ = tw.Write([]byte(content + "\n"))
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: mtime}
	cf.Config.Labels = labels
	cf.Config.Cmd = []string{"/bin/sh"}
	return mutate.ConfigFile(img, cf)
}
