package tasks

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"flotilla/connect"
)

// Compose records a container's project and service in these labels.
const (
	ComposeProjectLabel = "com.docker.compose.project"
	ComposeServiceLabel = "com.docker.compose.service"
)

// Ps lists a host's containers: running ones, or every one with All.
type Ps struct {
	All bool
}

// Container is one container on a host.
type Container struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Image   string    `json:"image"`
	Command string    `json:"command"`
	State   string    `json:"state"`  // running, exited, created, paused, restarting, dead
	Status  string    `json:"status"` // the engine's words: "Up 3 minutes", "Exited (0) 1 hour ago"
	Ports   []string  `json:"ports"`  // "127.0.0.1:8080->80/tcp", or "80/tcp" when not published
	Project string    `json:"project"`
	Service string    `json:"service"`
	Created time.Time `json:"created"`
}

type containerLister interface {
	ContainerList(ctx context.Context, options client.ContainerListOptions) (client.ContainerListResult, error)
}

func (Ps) Name() string { return "ps" }

func (t Ps) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.list(ctx, c.Engine)
}

func (t Ps) list(ctx context.Context, engine containerLister) ([]Container, error) {
	res, err := engine.ContainerList(ctx, client.ContainerListOptions{All: t.All})
	if err != nil {
		return nil, err
	}
	out := []Container{}
	for _, s := range res.Items {
		out = append(out, containerOf(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func containerOf(s container.Summary) Container {
	return Container{
		Name:    containerName(s.Names, s.ID),
		ID:      s.ID,
		Image:   s.Image,
		Command: s.Command,
		State:   string(s.State),
		Status:  s.Status,
		Ports:   portStrings(s.Ports),
		Project: s.Labels[ComposeProjectLabel],
		Service: s.Labels[ComposeServiceLabel],
		Created: time.Unix(s.Created, 0).UTC(),
	}
}

func portStrings(ports []container.PortSummary) []string {
	out := []string{}
	for _, p := range ports {
		if p.PublicPort == 0 {
			out = append(out, fmt.Sprintf("%d/%s", p.PrivatePort, p.Type))
			continue
		}
		ip := "0.0.0.0"
		if p.IP.Is6() {
			ip = "[" + p.IP.String() + "]"
		} else if p.IP.IsValid() {
			ip = p.IP.String()
		}
		out = append(out, fmt.Sprintf("%s:%d->%d/%s", ip, p.PublicPort, p.PrivatePort, p.Type))
	}
	sort.Strings(out)
	return out
}
