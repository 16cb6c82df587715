package tasks

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"flotilla/connect"
)

// Env reads a container's environment from its configuration, without exec:
// the container may be stopped, and nothing runs inside it.
type Env struct {
	Container   string // a container name, or a compose service name
	Var         string // only this variable, like printenv VAR; "" for all
	ShowSecrets bool   // leave secret-looking values unmasked
}

// Masked replaces secret values. It is the same for every value, so it says
// nothing about a secret's length.
const Masked = "****"

// ContainerEnv is the environment of one container that matched.
type ContainerEnv struct {
	Container string   `json:"container"`
	Service   string   `json:"service"`
	Vars      []EnvVar `json:"vars"`
}

// EnvVar is one variable; Masked says its value was replaced.
type EnvVar struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Masked bool   `json:"masked"`
}

type containerInspector interface {
	containerLister
	ContainerInspect(ctx context.Context, id string, options client.ContainerInspectOptions) (client.ContainerInspectResult, error)
}

func (Env) Name() string { return "env" }

func (t Env) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.read(ctx, c.Engine)
}

func (t Env) read(ctx context.Context, engine containerInspector) ([]ContainerEnv, error) {
	res, err := engine.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, err
	}
	matched := matchContainers(res.Items, t.Container)
	if len(matched) == 0 {
		return nil, fmt.Errorf("no container or compose service named %q on this host", t.Container)
	}
	out := []ContainerEnv{}
	for _, m := range matched {
		insp, err := engine.ContainerInspect(ctx, m.ID, client.ContainerInspectOptions{})
		if err != nil {
			return nil, err
		}
		var env []string
		if insp.Container.Config != nil {
			env = insp.Container.Config.Env
		}
		ce := ContainerEnv{Container: m.Name, Service: m.Service, Vars: t.vars(env)}
		if t.Var != "" && len(ce.Vars) == 0 {
			return nil, fmt.Errorf("%s is not set in container %q", t.Var, m.Name)
		}
		out = append(out, ce)
	}
	return out, nil
}

// matchContainers finds the container with that name or, when none has it,
// the containers of that compose service (every replica).
func matchContainers(items []container.Summary, name string) []Container {
	var byService []Container
	for _, s := range items {
		c := containerOf(s)
		if c.Name == name {
			return []Container{c}
		}
		if c.Service == name {
			byService = append(byService, c)
		}
	}
	sort.Slice(byService, func(i, j int) bool { return byService[i].Name < byService[j].Name })
	return byService
}

// vars turns KEY=VALUE entries into variables in the engine's order, masked
// unless ShowSecrets, only Var when it is set.
func (t Env) vars(env []string) []EnvVar {
	out := []EnvVar{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if t.Var != "" && k != t.Var {
			continue
		}
		ev := EnvVar{Key: k, Value: v}
		if !t.ShowSecrets && LooksSecret(k, v) {
			ev.Value, ev.Masked = Masked, true
		}
		out = append(out, ev)
	}
	return out
}

// secretWords in a variable's name mark its value as secret.
var secretWords = []string{
	"PASSWORD", "PASSWD", "PASSPHRASE", "PWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL",
	"PRIVATE", "AUTH", "SESSION", "COOKIE", "SALT", "CERT", "SIGNATURE",
}

// LooksSecret says whether a variable should be masked: its name holds a
// secret word (DB_PASSWORD, API_KEY, GITHUB_TOKEN, ...) or its value is a URL
// with a password in it (postgres://user:pw@db/app).
func LooksSecret(key, value string) bool {
	upper := strings.ToUpper(key)
	if upper == "PWD" || upper == "OLDPWD" { // the shell's working directory, not a password
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(upper, w) {
			return true
		}
	}
	if strings.Contains(value, "://") {
		if u, err := url.Parse(value); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		}
	}
	return false
}
