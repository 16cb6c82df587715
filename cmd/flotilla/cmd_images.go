package main

import (
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"flotilla/tasks"
)

func newImagesCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	t := tasks.Images{}
	var od outdatedOptions
	cmd := &cobra.Command{
		Use:   "images",
		Short: "List the images on every host",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if od.wanted() {
				return runOutdated(cmd.Context(), io, opts, od)
			}
			return runTask(cmd.Context(), io, opts, t, imagesView)
		},
	}
	cmd.Flags().BoolVarP(&t.All, "all", "a", false, "show dangling (untagged) images too")
	od.addFlags(cmd)
	return cmd
}

var imagesView = view{
	columns: []string{"IMAGE", "ID", "DIGEST", "SIZE", "CREATED"},
	rows: func(data any) [][]string {
		var rows [][]string
		for _, im := range data.([]tasks.Image) {
			rows = append(rows, []string{im.Ref, shortID(im.ID), shortDigest(im.Digest),
				units.HumanSize(float64(im.Size)), im.Created.Format(time.DateOnly)})
		}
		return rows
	},
}

// shortID is the 12 hex digits docker shows.
func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func shortDigest(d string) string {
	if i := strings.Index(d, "@sha256:"); i >= 0 && len(d) > i+8+12 {
		return "sha256:" + d[i+8:i+8+12]
	}
	return d
}
