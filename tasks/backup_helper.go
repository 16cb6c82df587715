package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// helperMount is where a helper container mounts the volume it reads or
// fills; volume archives hold their content under "volume/".
const helperMount = "/volume"

// cleanupTimeout bounds the work done after a failure or Ctrl-C: removing a
// helper container, starting stopped containers again.
const cleanupTimeout = 2 * time.Minute

// helperEngine is what helper containers need of the Engine API.
type helperEngine interface {
	ImageList(ctx context.Context, options client.ImageListOptions) (client.ImageListResult, error)
	ContainerCreate(ctx context.Context, options client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerRemove(ctx context.Context, containerID string, options client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
}

// errNoImage: a helper container needs an image, and flotilla pulls nothing.
var errNoImage = errors.New("no image on the host to create a helper container from (flotilla pulls nothing: pull any small image, e.g. busybox, on the host)")

// helperImage picks an image the host already has: the smallest tagged
// one, else the smallest. The container is never started, so any will do.
func helperImage(ctx context.Context, eng helperEngine) (string, error) {
	res, err := eng.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing images: %w", err)
	}
	if len(res.Items) == 0 {
		return "", errNoImage
	}
	items := res.Items
	sort.SliceStable(items, func(i, j int) bool {
		ti, tj := len(items[i].RepoTags) > 0, len(items[j].RepoTags) > 0
		if ti != tj {
			return ti
		}
		return items[i].Size < items[j].Size
	})
	return items[0].ID, nil
}

// createHelper creates (never starts) a container that mounts volume at
// helperMount, with no network. The caller removes it with removeHelper.
func createHelper(ctx context.Context, eng helperEngine, volume string, readOnly bool, purpose string) (string, error) {
	image, err := helperImage(ctx, eng)
	if err != nil {
		return "", err
	}
	res, err := eng.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: "flotilla-" + purpose + "-" + randomHex(6),
		Config: &container.Config{
			Image: image,
			// Never run; a command only keeps create from refusing images without one.
			Cmd:             []string{"/flotilla-helper-never-started"},
			Entrypoint:      []string{},
			Labels:          map[string]string{"flotilla.helper": purpose, "flotilla.volume": volume},
			NetworkDisabled: true,
		},
		HostConfig: &container.HostConfig{
			NetworkMode: "none",
			Mounts: []mount.Mount{{
				Type: mount.TypeVolume, Source: volume, Target: helperMount, ReadOnly: readOnly,
				// An empty volume must not get the image's files copied into it.
				VolumeOptions: &mount.VolumeOptions{NoCopy: true},
			}},
		},
	})
	if err != nil {
		return "", fmt.Errorf("creating a helper container for volume %q: %w", volume, err)
	}
	return res.ID, nil
}

// removeHelper removes a helper container, also after Ctrl-C.
func removeHelper(ctx context.Context, eng helperEngine, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if _, err := eng.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil {
		return fmt.Errorf("removing helper container %.12s: %w", id, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
