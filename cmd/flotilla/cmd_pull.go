package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"flotilla/hosts"
	"flotilla/registry"
	"flotilla/tasks"
)

type pullOptions struct {
	Images   []string
	Platform string
	Relay    bool
	Force    bool
}

func newPullCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	po := &pullOptions{}
	cmd := &cobra.Command{
		Use:   "pull IMAGE...",
		Short: "Pull images on every host with the registry credentials of your Docker config",
		Long: `pull makes every selected host pull each IMAGE. Registry credentials come from
your Docker client configuration ($DOCKER_CONFIG or ~/.docker/config.json, its
credential helpers included) and are sent to each engine with the request;
nothing is stored on the hosts.

With --relay the first selected host pulls from the registry and the image is
streamed from its engine through this machine to the other hosts' engines:
one registry pull instead of one per host, and the other hosts need no route
to the registry.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{withHint{errors.New("pull needs at least one IMAGE"), "e.g. flotilla pull nginx:1.27"}}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			po.Images = args
			return pullRun(cmd.Context(), io, opts, po)
		},
	}
	f := cmd.Flags()
	f.StringVar(&po.Platform, "platform", "", "pull this platform (os/arch[/variant]) instead of each host's own")
	f.BoolVar(&po.Relay, "relay", false, "pull on the first host only and stream the image to the others")
	f.BoolVar(&po.Force, "force", false, "pull even when Docker Hub's pull allowance looks too small")
	return cmd
}

func pullRun(ctx context.Context, io *IOStreams, opts *globalOptions, po *pullOptions) error {
	// Everything that can be wrong with the input is found before any host is contacted.
	refs := make([]registry.Ref, 0, len(po.Images))
	for _, s := range po.Images {
		r, err := registry.ParseRef(s)
		if err != nil {
			return usageError{withHint{err, "an image is [REGISTRY[:PORT]/]REPOSITORY[:TAG|@DIGEST], lowercase"}}
		}
		refs = append(refs, r)
	}
	platform, err := parsePlatform(po.Platform)
	if err != nil {
		return usageError{err}
	}
	inv, selected, err := loadHosts(io, opts)
	if err != nil {
		return err
	}
	creds, err := registry.LoadCredentials()
	if err != nil {
		return withHint{err, "fix the file, or point DOCKER_CONFIG at another directory"}
	}
	task := tasks.Pull{Platform: platform}
	for _, r := range refs {
		auth, err := creds.EngineAuth(r.Host())
		if err != nil {
			return withHint{err, "is the credential helper installed and unlocked? try: docker login " + r.Host()}
		}
		task.Images = append(task.Images, tasks.PullImage{Ref: r.String(), Repo: repoOf(r), Auth: auth})
	}
	if err := checkHubAllowance(ctx, io, opts, creds, refs, po, len(selected)); err != nil {
		return err
	}
	if io.ErrIsTerminal && !opts.Quiet && opts.Output == "table" {
		task.Progress = newPullProgress(io).update
	}

	fan := (*tasks.Runner).Run
	if po.Relay {
		fan = func(r *tasks.Runner, ctx context.Context, list []*hosts.Host, _ tasks.Task, report func(tasks.Result)) []tasks.Result {
			return r.Relay(ctx, list, task, report)
		}
	}
	return runWith(ctx, io, opts, inv, selected, task, pullView, fan)
}

// repoOf is the repository as the engine records it in RepoDigests
// ("busybox", "127.0.0.1:5000/lab/app").
func repoOf(r registry.Ref) string {
	f := r.Familiar()
	if i := strings.IndexAny(f, "@"); i >= 0 {
		f = f[:i]
	}
	if i := strings.LastIndex(f, ":"); i > strings.LastIndex(f, "/") {
		f = f[:i]
	}
	return f
}

func parsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, withHint{fmt.Errorf("invalid --platform %q", s), "use os/arch[/variant], e.g. linux/arm64 or linux/arm/v7"}
	}
	p := &ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// checkHubAllowance refuses a fan-out pull from Docker Hub that the
// remaining pull allowance cannot cover, unless --force.
func checkHubAllowance(ctx context.Context, io *IOStreams, opts *globalOptions, creds *registry.Credentials, refs []registry.Ref, po *pullOptions, hosts int) error {
	if po.Force || hosts == 0 {
		return nil
	}
	pulls := hosts
	if po.Relay {
		pulls = 1
	}
	var hub []registry.Ref
	for _, r := range refs {
		if r.IsDockerHub() {
			hub = append(hub, r)
		}
	}
	if len(hub) == 0 {
		return nil
	}
	rc, err := registry.NewClient(creds)
	if err != nil {
		return err
	}
	// One allowance covers every image: each image pulled counts once per host.
	a, err := hubAllowance(ctx, rc, hub[0])
	if err != nil {
		if !opts.Quiet {
			fmt.Fprintf(io.ErrOut, "flotilla: warning: could not read docker hub's pull allowance: %v\n", err)
		}
		return nil
	}
	names := make([]string, len(hub))
	for i, r := range hub {
		names[i] = r.Familiar()
	}
	if err := registry.CheckAllowance(a, strings.Join(names, ", "), pulls*len(hub)); err != nil {
		return err
	}
	if opts.Verbose && a.Known {
		fmt.Fprintf(io.ErrOut, "flotilla: docker hub allows %d more pulls of %d\n", a.Remaining, a.Limit)
	}
	return nil
}

// hubAllowance asks Docker Hub; a variable so the CLI's refusal can be
// tested without Docker Hub (the request itself is tested in registry/).
var hubAllowance = func(ctx context.Context, rc *registry.Client, ref registry.Ref) (registry.Allowance, error) {
	return rc.HubAllowance(ctx, ref)
}

var pullView = view{
	columns: []string{"IMAGE", "DIGEST", "ID", "CHANGED", "VIA"},
	rows: func(data any) [][]string {
		var rows [][]string
		for _, p := range data.([]tasks.Pulled) {
			changed := "no"
			if p.Changed {
				changed = "yes"
				if p.PreviousID != "" {
					changed = "yes (was " + shortID(p.PreviousID) + ")"
				}
			}
			via := "registry"
			if p.Via != "" {
				via = p.Via
			}
			rows = append(rows, []string{p.Image, shortHash(p.Digest), shortID(p.ID), changed, via})
		}
		return rows
	},
}

// shortHash shows "sha256:" and 12 hex digits.
func shortHash(d string) string {
	if h, ok := strings.CutPrefix(d, "sha256:"); ok && len(h) > 12 {
		return "sha256:" + h[:12]
	}
	return d
}

// pullProgress prints a host's layer progress on stderr when stderr is a
// terminal, at most every half second per host and once when an image is done.
type pullProgress struct {
	io   *IOStreams
	mu   sync.Mutex
	last map[string]time.Time
}

func newPullProgress(io *IOStreams) *pullProgress {
	return &pullProgress{io: io, last: map[string]time.Time{}}
}

func (p *pullProgress) update(host string, pr tasks.PullProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	done := pr.Layers > 0 && pr.LayersDone == pr.Layers
	if !done && time.Since(p.last[host]) < 500*time.Millisecond {
		return
	}
	p.last[host] = time.Now()
	fmt.Fprintf(p.io.ErrOut, "flotilla: %s: %s: %d/%d layers, %s\n", host, pr.Image, pr.LayersDone, pr.Layers, humanBytes(pr.Bytes))
}
