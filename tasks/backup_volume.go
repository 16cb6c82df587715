package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/moby/moby/client"

	"flotilla/backup"
)

// containerStopper is what stop_containers needs of the Engine API.
type containerStopper interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
	ContainerStop(ctx context.Context, containerID string, options client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerStart(ctx context.Context, containerID string, options client.ContainerStartOptions) (client.ContainerStartResult, error)
}

// copyBuffer is the size of the reads that move a stream to the store.
const copyBuffer = 1 << 20

// backupVolume reads a volume through the archive endpoint of a created,
// never-started container that mounts it read-only.
func backupVolume(ctx context.Context, eng backupEngine, set *backup.SetWriter, volume string, stop bool) (it BackupItem, err error) {
	var stopped, restarted []string
	if stop {
		stopped, err = stopUsers(ctx, eng, volume)
		// Whatever happens next, what was stopped is started again.
		defer func() {
			var rerr error
			restarted, rerr = startAgain(ctx, eng, stopped)
			it.Stopped, it.Restarted = stopped, restarted
			if rerr != nil {
				err = errors.Join(err, rerr)
			}
			if err != nil && len(stopped) > 0 {
				err = fmt.Errorf("%w (stopped %s; started again: %s)", err, strings.Join(stopped, ", "), listOrNone(restarted))
			}
		}()
		if err != nil {
			return it, err
		}
	}
	id, err := createHelper(ctx, eng, volume, true, "backup")
	if err != nil {
		return it, err
	}
	defer func() {
		if rerr := removeHelper(ctx, eng, id); rerr != nil && err == nil {
			err = rerr
		}
	}()
	res, err := eng.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: helperMount})
	if err != nil {
		return it, fmt.Errorf("volume %q: reading the archive: %w", volume, err)
	}
	defer res.Content.Close()
	iw, err := set.Create(backup.KindVolume, volume, backup.Source{Volume: volume, Stopped: stopped})
	if err != nil {
		return it, err
	}
	if _, err := io.CopyBuffer(iw, res.Content, make([]byte, copyBuffer)); err != nil {
		iw.Abort(err)
		return it, fmt.Errorf("volume %q: %w", volume, err)
	}
	stored, err := iw.Close()
	if err != nil {
		return it, fmt.Errorf("volume %q: %w", volume, err)
	}
	return itemResult(stored), nil
}

// stopUsers stops the running containers that mount volume, in name order,
// and returns those it stopped (also when it failed part way).
func stopUsers(ctx context.Context, eng containerStopper, volume string) ([]string, error) {
	list, err := eng.ContainerList(ctx, client.ContainerListOptions{Filters: make(client.Filters).Add("volume", volume)})
	if err != nil {
		return nil, fmt.Errorf("listing the containers that use volume %q: %w", volume, err)
	}
	var names []string
	for _, c := range list.Items {
		names = append(names, containerName(c.Names, c.ID))
	}
	sort.Strings(names)
	var stopped []string
	// A stop is not cancelled half way: the engine would finish it anyway,
	// and a container stopped but not recorded would never be started again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return stopped, err
		}
		_, err := eng.ContainerStop(sctx, n, client.ContainerStopOptions{})
		stopped = append(stopped, n) // also on error: it may be stopped, and starting it again is harmless
		if err != nil {
			return stopped, fmt.Errorf("stopping container %s (it uses volume %q): %w", n, volume, err)
		}
	}
	return stopped, nil
}

// startAgain starts the containers stopUsers stopped, even after Ctrl-C.
func startAgain(ctx context.Context, eng containerStopper, names []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var started []string
	var errs []error
	for _, n := range names {
		if _, err := eng.ContainerStart(ctx, n, client.ContainerStartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("starting container %s again: %w", n, err))
			continue
		}
		started = append(started, n)
	}
	return started, errors.Join(errs...)
}

func containerName(names []string, id string) string {
	for _, n := range names {
		if n = strings.TrimPrefix(n, "/"); n != "" && !strings.Contains(n, "/") {
			return n
		}
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
