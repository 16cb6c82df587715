package lab

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"
)

// ContainerSpec is a container for a test to find: from a lab image, with
// network mode none, with the given command, environment and labels.
type ContainerSpec struct {
	Name   string
	Image  string            // a full reference (Lab.Image(ImageBusybox)); the engine must hold it
	Cmd    []string          // default: sleep 3600
	Env    []string          // KEY=VALUE
	Labels map[string]string // e.g. ComposeLabels("shop", "web")
	// Exited runs Cmd to its end (give one that exits, such as ["true"]);
	// otherwise the container is left running.
	Exited bool
	// Volumes mounts named volumes: volume name -> path in the container.
	Volumes map[string]string
}

func (spec ContainerSpec) mounts() []mount.Mount {
	var mounts []mount.Mount
	for vol, target := range spec.Volumes {
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: target})
	}
	return mounts
}

// ComposeLabels are the labels docker compose puts on a service's container.
func ComposeLabels(project, service string) map[string]string {
	return map[string]string{
		"com.docker.compose.project":          project,
		"com.docker.compose.service":          service,
		"com.docker.compose.container-number": "1",
		"com.docker.compose.oneoff":           "False",
	}
}

// RunContainer creates and starts a container on the engine and returns its
// id. The lab's Stop removes it with the engine.
func (e *Engine) RunContainer(ctx context.Context, spec ContainerSpec) (string, error) {
	c, err := e.Client()
	if err != nil {
		return "", err
	}
	defer c.Close()
	cmd := spec.Cmd
	if len(cmd) == 0 {
		cmd = []string{"sleep", "3600"}
	}
	created, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       spec.Name,
		Config:     &container.Config{Image: spec.Image, Cmd: cmd, Env: spec.Env, Labels: spec.Labels},
		HostConfig: &container.HostConfig{NetworkMode: "none", Mounts: spec.mounts()},
	})
	if err != nil {
		return "", fmt.Errorf("engine %s: create %s: %w", e.Name, spec.Name, err)
	}
	if _, err := c.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return "", fmt.Errorf("engine %s: start %s: %w", e.Name, spec.Name, err)
	}
	if !spec.Exited {
		return created.ID, nil
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	wait := c.ContainerWait(wctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-wait.Result:
		return created.ID, nil
	case err := <-wait.Error:
		return "", fmt.Errorf("engine %s: wait for %s to exit: %w", e.Name, spec.Name, err)
	}
}

// RemoveContainer removes a container, running or not.
func (e *Engine) RemoveContainer(ctx context.Context, name string) error {
	c, err := e.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ContainerRemove(ctx, name, client.ContainerRemoveOptions{Force: true})
	return err
}

// TagImage gives an image the engine holds another reference: a test can
// make the same reference name different images on two engines (drift).
func (e *Engine) TagImage(ctx context.Context, source, target string) error {
	c, err := e.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target})
	return err
}

// ImportDangling imports an image with no reference at all (what docker
// images shows as <none>:<none>) and returns its id. Older engines list
// such an image with the tag "<none>:<none>", newer ones with none.
func (e *Engine) ImportDangling(ctx context.Context, release string) (string, error) {
	busybox, err := os.ReadFile(busyboxPath)
	if err != nil {
		return "", err
	}
	c, err := e.Client()
	if err != nil {
		return "", err
	}
	defer c.Close()
	before, err := c.ImageList(ctx, client.ImageListOptions{All: true})
	if err != nil {
		return "", err
	}
	known := map[string]bool{}
	for _, im := range before.Items {
		known[im.ID] = true
	}
	if err := importImage(ctx, c, "", rootfsTar(busybox, release)); err != nil {
		return "", fmt.Errorf("engine %s: import dangling: %w", e.Name, err)
	}
	after, err := c.ImageList(ctx, client.ImageListOptions{All: true})
	if err != nil {
		return "", err
	}
	for _, im := range after.Items {
		if !known[im.ID] && (len(im.RepoTags) == 0 || im.RepoTags[0] == "<none>:<none>") {
			return im.ID, nil
		}
	}
	return "", fmt.Errorf("engine %s: the imported image is not listed as dangling", e.Name)
}
