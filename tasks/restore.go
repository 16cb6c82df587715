package tasks

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"filippo.io/age"

	"flotilla/backup"
	"flotilla/connect"
	"flotilla/hosts"
)

// RestoreResult is what a restore put back, and how fast.
type RestoreResult struct {
	Set         string  `json:"set"`
	File        string  `json:"file"`
	Target      string  `json:"target"`              // volume, or the container the dump went to
	Created     bool    `json:"created,omitempty"`   // the volume did not exist
	Overwrote   bool    `json:"overwrote,omitempty"` // the volume was not empty (--force)
	RawBytes    int64   `json:"raw_bytes"`           // bytes sent to the host
	Entries     int     `json:"entries,omitempty"`   // tar entries, from the manifest
	Seconds     float64 `json:"seconds"`
	MBPerSecond float64 `json:"mb_per_second"`
	Output      string  `json:"output,omitempty"` // restore_command's output, trimmed
}

// RestoreVolume streams a stored volume archive into a volume through a
// created, never-started container that mounts it.
type RestoreVolume struct {
	Set        backup.SetInfo
	Manifest   *backup.Manifest
	Item       backup.Item
	Target     string // volume to fill
	Force      bool   // fill a volume that is not empty
	Identities []age.Identity
}

type restoreEngine interface {
	helperEngine
	VolumeInspect(ctx context.Context, volumeID string, options client.VolumeInspectOptions) (client.VolumeInspectResult, error)
	VolumeCreate(ctx context.Context, options client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeRemove(ctx context.Context, volumeID string, options client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
	CopyFromContainer(ctx context.Context, containerID string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	CopyToContainer(ctx context.Context, containerID string, options client.CopyToContainerOptions) (client.CopyToContainerResult, error)
}

// ErrVolumeNotEmpty: restoring would mix the backup with what is there.
var ErrVolumeNotEmpty = errors.New("volume is not empty")

func (*RestoreVolume) Name() string { return "restore" }

func (t *RestoreVolume) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.run(ctx, c.Engine)
}

func (t *RestoreVolume) run(ctx context.Context, eng restoreEngine) (res *RestoreResult, err error) {
	// A damaged file is refused before anything on the host changes.
	if err := backup.CheckStored(t.Set.Path, t.Item); err != nil {
		return nil, err
	}
	res = &RestoreResult{Set: t.Set.Name, File: t.Item.File, Target: t.Target, Entries: t.Item.Entries}
	_, err = eng.VolumeInspect(ctx, t.Target, client.VolumeInspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		if _, err := eng.VolumeCreate(ctx, client.VolumeCreateOptions{Name: t.Target}); err != nil {
			return nil, fmt.Errorf("creating volume %q: %w", t.Target, err)
		}
		res.Created = true
		defer func() {
			if err != nil { // a half-filled new volume would only confuse the next attempt
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
				defer cancel()
				_, _ = eng.VolumeRemove(rctx, t.Target, client.VolumeRemoveOptions{Force: true})
			}
		}()
	case err != nil:
		return nil, fmt.Errorf("volume %q: %w", t.Target, err)
	}
	id, err := createHelper(ctx, eng, t.Target, false, "restore")
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := removeHelper(ctx, eng, id); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if !res.Created {
		empty, err := volumeEmpty(ctx, eng, id)
		if err != nil {
			return nil, err
		}
		if !empty && !t.Force {
			return nil, fmt.Errorf("%w: %q already holds files (restore into a new volume with --to NAME, or pass --force to write over it; files not in the backup are kept)", ErrVolumeNotEmpty, t.Target)
		}
		res.Overwrote = !empty
	}
	ir, err := backup.OpenItem(t.Set.Path, t.Manifest, t.Item, t.Identities)
	if err != nil {
		return nil, err
	}
	defer ir.Close()
	start := time.Now()
	counted := &countingReader{r: ir}
	if _, err := eng.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: counted}); err != nil {
		return nil, fmt.Errorf("writing into volume %q: %w", t.Target, err)
	}
	if err := ir.Check(); err != nil {
		return nil, fmt.Errorf("the stored file changed while it was restored: %w", err)
	}
	res.RawBytes, res.Seconds = counted.n, time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.MBPerSecond = float64(res.RawBytes) / 1e6 / res.Seconds
	}
	return res, nil
}

// volumeEmpty reads the head of the volume's archive: the volume's own
// directory comes first, anything after it means files.
func volumeEmpty(ctx context.Context, eng restoreEngine, helper string) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err := eng.CopyFromContainer(ctx, helper, client.CopyFromContainerOptions{SourcePath: helperMount})
	if err != nil {
		return false, fmt.Errorf("reading the volume: %w", err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	for i := 0; i < 2; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading the volume: %w", err)
		}
		if strings.Trim(h.Name, "/") != strings.Trim(helperMount, "/") {
			return false, nil
		}
	}
	return true, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// RestoreDump runs a dump declaration's restore_command in its container
// with the stored dump on stdin.
type RestoreDump struct {
	Set        backup.SetInfo
	Manifest   *backup.Manifest
	Item       backup.Item
	Decl       hosts.DumpBackup
	Identities []age.Identity
}

func (*RestoreDump) Name() string { return "restore" }

func (t *RestoreDump) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.run(ctx, c.Engine)
}

func (t *RestoreDump) run(ctx context.Context, eng execer) (*RestoreResult, error) {
	if err := backup.CheckStored(t.Set.Path, t.Item); err != nil {
		return nil, err
	}
	id, name, err := findContainer(ctx, eng, t.Decl.Service)
	if err != nil {
		return nil, err
	}
	ir, err := backup.OpenItem(t.Set.Path, t.Manifest, t.Item, t.Identities)
	if err != nil {
		return nil, err
	}
	defer ir.Close()
	start := time.Now()
	counted := &countingReader{r: ir}
	out := &limitedBuffer{max: maxStderr}
	code, stderr, err := execStream(ctx, eng, id, t.Decl.RestoreCommand, counted, out)
	if err != nil {
		return nil, fmt.Errorf("in container %s: %w", name, err)
	}
	if code != 0 {
		return nil, fmt.Errorf("%s exited with status %d in container %s: %s", t.Decl.RestoreCommand[0], code, name, stderrOrNone(stderr, nil))
	}
	if err := ir.Check(); err != nil {
		return nil, err
	}
	res := &RestoreResult{Set: t.Set.Name, File: t.Item.File, Target: name, RawBytes: counted.n,
		Seconds: time.Since(start).Seconds(), Output: out.String(nil)}
	if res.Seconds > 0 {
		res.MBPerSecond = float64(res.RawBytes) / 1e6 / res.Seconds
	}
	return res, nil
}
