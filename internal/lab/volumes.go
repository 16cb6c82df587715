package lab

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

func (l *Lab) createContainer(ctx context.Context, c *client.Client, spec ContainerSpec) (string, error) {
	image := spec.Image
	if image == "" {
		image = l.Image(ImageBusybox)
	}
	res, err := c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name: spec.Name,
		Config: &container.Config{
			Image: image, Cmd: spec.Cmd, Env: spec.Env, Labels: spec.Labels,
			NetworkDisabled: true,
		},
		HostConfig: &container.HostConfig{NetworkMode: "none", Mounts: spec.mounts()},
	})
	if err != nil {
		return "", err
	}
	return res.ID, nil
}

// CreateVolume creates a named volume on the engine.
func (e *Engine) CreateVolume(ctx context.Context, name string) error {
	c, err := e.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name})
	return err
}

// RunScript runs a busybox sh script in a new container on engine e with
// the volumes mounted, waits for it, removes it, and returns its stdout.
// A non-zero exit status is an error that carries its stderr.
func (l *Lab) RunScript(ctx context.Context, e *Engine, volumes map[string]string, script string) (string, error) {
	c, err := e.Client()
	if err != nil {
		return "", err
	}
	defer c.Close()
	id, err := l.createContainer(ctx, c, ContainerSpec{Cmd: []string{"sh", "-c", script}, Volumes: volumes})
	if err != nil {
		return "", err
	}
	defer c.ContainerRemove(context.WithoutCancel(ctx), id, client.ContainerRemoveOptions{Force: true})
	wait := c.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return "", err
	}
	var code int64
	select {
	case r := <-wait.Result:
		code = r.StatusCode
	case err := <-wait.Error:
		return "", err
	case <-ctx.Done():
		return "", ctx.Err()
	}
	logs, err := c.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", err
	}
	defer logs.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, logs); err != nil {
		return "", err
	}
	if code != 0 {
		return out.String(), fmt.Errorf("script exited with status %d: %s", code, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// StartContainer starts a long-running lab container and returns its ID.
// It goes away with the lab's engine.
func (l *Lab) StartContainer(ctx context.Context, e *Engine, spec ContainerSpec) (string, error) {
	c, err := e.Client()
	if err != nil {
		return "", err
	}
	defer c.Close()
	id, err := l.createContainer(ctx, c, spec)
	if err != nil {
		return "", err
	}
	if _, err := c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return "", err
	}
	return id, nil
}

// ContainerRunning reports whether the named container is running.
func (e *Engine) ContainerRunning(ctx context.Context, name string) (bool, error) {
	c, err := e.Client()
	if err != nil {
		return false, err
	}
	defer c.Close()
	res, err := c.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return false, err
	}
	return res.Container.State != nil && res.Container.State.Running, nil
}

// Containers lists the names of every container on the engine, running or not.
func (e *Engine) Containers(ctx context.Context) ([]string, error) {
	c, err := e.Client()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	res, err := c.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range res.Items {
		for _, n := range s.Names {
			names = append(names, strings.TrimPrefix(n, "/"))
		}
	}
	return names, nil
}
