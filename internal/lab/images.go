package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"
)

// Images the lab seeds (with a registry), relative to the registry; use
// Lab.Image for the full reference.
const (
	ImageBusybox = "lab/busybox:1" // on every engine
	ImageApp1    = "lab/app:1"     // on even engines (e0, e2, ...)
	ImageApp2    = "lab/app:2"     // on odd engines (e1, e3, ...)
	ImageTool    = "lab/tool:1"    // on e0 only
)

const busyboxPath = "/bin/busybox"

// busyboxApplets are the bin/ symlinks to busybox in the lab images.
var busyboxApplets = []string{
	"sh", "cat", "echo", "ls", "tar", "sleep", "env", "printenv", "true", "false",
	"wc", "sha256sum", "mkdir", "rm", "head", "dd", "id",
}

// noAuth is base64("{}"): an empty X-Registry-Auth for the auth-less registry.
const noAuth = "e30="

// rootfsTar builds a root filesystem tarball around busybox-static; with a
// non-empty release it also holds /etc/lab-release with that content.
func rootfsTar(busybox []byte, release string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	dir := func(name string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
	}
	file := func(name string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"bin", "dev", "etc", "proc", "sys", "var"} {
		dir(d, 0o755)
	}
	dir("root", 0o700)
	dir("tmp", 0o1777)
	file("bin/busybox", 0o755, busybox)
	for _, a := range busyboxApplets {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: mtime})
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	if release != "" {
		file("etc/lab-release", 0o644, []byte(release+"\n"))
	}
	_ = tw.Close()
	return buf.Bytes()
}

// seedImages makes the lab images on engine 0, pushes them to the registry
// and pulls them so that engines differ (see the Image* constants).
func (l *Lab) seedImages(ctx context.Context) error {
	busybox, err := os.ReadFile(busyboxPath)
	if err != nil {
		return fmt.Errorf("busybox-static: %w (run scripts/install-deps.sh)", err)
	}
	e0, err := l.Engines[0].Client()
	if err != nil {
		return err
	}
	defer e0.Close()

	images := []struct{ name, release string }{
		{ImageBusybox, ""},
		{ImageApp1, "app 1"},
		{ImageApp2, "app 2"},
		{ImageTool, "tool 1"},
	}
	for _, im := range images {
		if err := importImage(ctx, e0, l.Image(im.name), rootfsTar(busybox, im.release)); err != nil {
			return fmt.Errorf("engine %s: import %s: %w", l.Engines[0].Name, im.name, err)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, im := range images {
		ref := l.Image(im.name)
		g.Go(func() error {
			resp, err := e0.ImagePush(gctx, ref, client.ImagePushOptions{RegistryAuth: noAuth})
			if err == nil {
				err = resp.Wait(gctx)
			}
			if err != nil {
				return fmt.Errorf("push %s: %w", ref, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if _, err := e0.ImageRemove(ctx, l.Image(ImageApp2), client.ImageRemoveOptions{}); err != nil {
		return fmt.Errorf("engine %s: remove %s: %w", l.Engines[0].Name, ImageApp2, err)
	}

	g, gctx = errgroup.WithContext(ctx)
	for i, e := range l.Engines[1:] {
		app := ImageApp1
		if (i+1)%2 == 1 {
			app = ImageApp2
		}
		for _, name := range []string{ImageBusybox, app} {
			g.Go(func() error {
				c, err := e.Client()
				if err != nil {
					return err
				}
				defer c.Close()
				ref := l.Image(name)
				resp, err := c.ImagePull(gctx, ref, client.ImagePullOptions{RegistryAuth: noAuth})
				if err == nil {
					err = resp.Wait(gctx)
				}
				if err != nil {
					return fmt.Errorf("engine %s: pull %s: %w", e.Name, ref, err)
				}
				return nil
			})
		}
	}
	return g.Wait()
}

// importImage imports a rootfs tarball as ref.
func importImage(ctx context.Context, c *client.Client, ref string, rootfs []byte) error {
	rc, err := c.ImageImport(ctx, client.ImageImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"}, ref,
		client.ImageImportOptions{
			Message: "flotilla lab",
			Changes: []string{"ENV PATH=/bin", `CMD ["/bin/sh"]`, "LABEL org.flotilla.lab=1"},
		})
	if err != nil {
		return err
	}
	defer rc.Close()
	return JSONStreamError(rc)
}

// JSONStreamError reads an Engine JSON message stream (pull, push, load)
// to its end and returns the first error it reports.
func JSONStreamError(r io.Reader) error {
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
			return errors.New(m.Error.Message)
		}
	}
}

// Images returns the engine's images as sorted "repo:tag" strings
// (untagged images left out).
func (e *Engine) Images(ctx context.Context) ([]string, error) {
	c, err := e.Client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res, err := c.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, im := range res.Items {
		for _, t := range im.RepoTags {
			if t != "<none>:<none>" {
				out = append(out, t)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// ExpectedImages is the sorted list of images the lab seeds on engine i
// (nil without a registry).
func (l *Lab) ExpectedImages(i int) []string {
	if l.Registry == "" {
		return nil
	}
	out := []string{l.Image(ImageBusybox)}
	if i%2 == 0 {
		out = append(out, l.Image(ImageApp1))
	} else {
		out = append(out, l.Image(ImageApp2))
	}
	if i == 0 {
		out = append(out, l.Image(ImageTool))
	}
	sort.Strings(out)
	return out
}

// Image is the full reference of a lab image in the lab's registry, e.g.
// Image(ImageBusybox) = "127.0.0.1:PORT/lab/busybox:1".
func (l *Lab) Image(name string) string { return l.Registry + "/" + name }
