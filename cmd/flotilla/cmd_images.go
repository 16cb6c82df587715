package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"flotilla/tasks"
)

func newImagesCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	t := tasks.Images{}
	var by string
	var od outdatedOptions
	cmd := &cobra.Command{
		Use:   "images [-a] [--filter REF]... [--by image]",
		Short: "List the images on every host, or each image across the fleet",
		Example: `  flotilla images --filter 'lab/app:*'
  flotilla images --by image          # which hosts hold each image, and whether its id drifts`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range t.Filters {
				if err := tasks.CheckRefGlob(f); err != nil {
					return usageError{withHint{err, "--filter takes a glob on repository:tag, e.g. 'nginx:*' or '*/app:1'"}}
				}
			}
			if od.wanted() {
				return runOutdated(cmd.Context(), io, opts, od)
			}
			v := imagesView
			switch by {
			case "":
			case "image":
				v.fleet = imagesByRef
			default:
				return usageError{withHint{fmt.Errorf("unknown --by %q", by), "--by image is the one fleet view of images"}}
			}
			return runTask(cmd.Context(), io, opts, t, v)
		},
	}
	cmd.Flags().BoolVarP(&t.All, "all", "a", false, "show dangling (untagged) images too")
	cmd.Flags().StringArrayVar(&t.Filters, "filter", nil, "only images whose repository:tag matches this glob (repeatable; '*' spans '/')")
	cmd.Flags().StringVar(&by, "by", "", "fleet view: 'image' lists each image with the hosts holding it and id drift")
	od.addFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("by", cobra.FixedCompletions([]string{"image"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

var imagesView = view{
	columns: []string{"IMAGE", "ID", "DIGEST", "SIZE", "CREATED"},
	wide:    []string{"REPO DIGEST"},
	rows: func(data any) [][]string {
		var rows [][]string
		for _, im := range data.([]tasks.Image) {
			rows = append(rows, []string{im.Ref, shortID(im.ID), shortDigest(im.Digest),
				units.HumanSize(float64(im.Size)), im.Created.Format(time.DateOnly), im.Digest})
		}
		return rows
	},
}

// imagesByRef is the fleet table of images --by image.
func imagesByRef(results []tasks.Result) fleetView {
	spread := tasks.SpreadImages(results)
	fv := fleetView{columns: []string{"IMAGE", "HOSTS", "IDS", "DRIFT", "ON"}, data: spread}
	for _, s := range spread {
		var on []string
		for _, h := range s.Hosts {
			if s.Drift {
				on = append(on, h.Host+"="+shortID(h.ID))
			} else {
				on = append(on, h.Host)
			}
		}
		drift := "no"
		if s.Drift {
			drift = "DRIFT"
		}
		fv.rows = append(fv.rows, []string{s.Ref, strconv.Itoa(len(s.Hosts)), strconv.Itoa(s.IDs), drift, strings.Join(on, ",")})
	}
	return fv
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
