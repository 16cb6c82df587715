package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"flotilla/registry"
	"flotilla/tasks"
)

// outdatedOptions are the images flags that ask the registry.
type outdatedOptions struct {
	Outdated bool
	Labels   []string
}

func (o *outdatedOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&o.Outdated, "outdated", false, "ask each image's registry whether the tag moved on (no pull)")
	cmd.Flags().StringArrayVar(&o.Labels, "label", nil, "show this image label on the host and in the registry's current image (repeatable; implies --outdated)")
}

func (o outdatedOptions) wanted() bool { return o.Outdated || len(o.Labels) > 0 }

func runOutdated(ctx context.Context, io *IOStreams, opts *globalOptions, o outdatedOptions) error {
	for _, l := range o.Labels {
		if l == "" || strings.ContainsAny(l, " \t=") {
			return usageError{withHint{fmt.Errorf("invalid --label %q", l), "give a label key, e.g. --label org.opencontainers.image.revision"}}
		}
	}
	if _, _, err := loadHosts(io, opts); err != nil {
		return err
	}
	creds, err := registry.LoadCredentials()
	if err != nil {
		return withHint{err, "fix the file, or point DOCKER_CONFIG at another directory"}
	}
	rc, err := registry.NewClient(creds)
	if err != nil {
		return err
	}
	// One client for the run: each repository:tag is asked once, whatever the host count.
	task := tasks.Outdated{Registry: registry.Lookup{C: rc}, Labels: o.Labels}
	return runTask(ctx, io, opts, task, outdatedView(o.Labels))
}

func outdatedView(labels []string) view {
	cols := []string{"IMAGE", "STATUS", "LOCAL", "REGISTRY"}
	cols = append(cols, labels...)
	cols = append(cols, "REASON")
	return view{
		columns: cols,
		rows: func(data any) [][]string {
			var rows [][]string
			for _, im := range data.([]tasks.OutdatedImage) {
				row := []string{im.Ref, im.Status, shortHash(im.LocalDigest), shortHash(im.RegistryDigest)}
				for _, k := range labels {
					row = append(row, labelCell(im.Labels[k]))
				}
				rows = append(rows, append(row, im.Reason))
			}
			return rows
		},
	}
}

// labelCell shows one value when both sides agree, "host → registry" when not.
func labelCell(l tasks.Label) string {
	local, remote := orDash(l.Local), orDash(l.Registry)
	if l.Error != "" {
		remote = "?"
	}
	if local == remote {
		return local
	}
	return local + " → " + remote
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
