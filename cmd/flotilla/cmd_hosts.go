package main

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newHostsCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "hosts",
		Short: "List the selected hosts, without connecting",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, selected, err := loadHosts(io, opts)
			if err != nil {
				return err
			}
			if opts.Output != "table" {
				enc := json.NewEncoder(io.Out)
				if opts.Output == "json" {
					enc.SetIndent("", "  ")
					return enc.Encode(map[string]any{"hosts": selected})
				}
				for _, h := range selected {
					if err := enc.Encode(map[string]any{"type": "host", "host": h}); err != nil {
						return err
					}
				}
				return nil
			}
			t := newTable([]string{"HOST", "ADDRESS", "USER", "TRANSPORT", "GROUPS", "LABELS"})
			for _, h := range selected {
				t.add([]string{h.Name, h.Address + ":" + strconv.Itoa(h.Port), h.User, h.Transport,
					strings.Join(h.Groups, ","), labelString(h.Labels)})
			}
			t.write(io.Out)
			return nil
		},
	}
}

func labelString(labels map[string]string) string {
	var kv []string
	for k, v := range labels {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

// noArgs rejects arguments as a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return usageError{err}
	}
	return nil
}
