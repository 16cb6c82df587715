package main

import (
	"strings"

	"github.com/spf13/cobra"

	"flotilla/tasks"
)

func newPsCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	t := tasks.Ps{}
	cmd := &cobra.Command{
		Use:   "ps [-a]",
		Short: "List the containers on every host",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTask(cmd.Context(), io, opts, t, psView)
		},
	}
	cmd.Flags().BoolVarP(&t.All, "all", "a", false, "show stopped containers too")
	return cmd
}

// psCreated is minutes in UTC: enough to tell containers apart, short in a table.
const psCreated = "2006-01-02 15:04"

var psView = view{
	columns: []string{"NAME", "IMAGE", "STATE", "STATUS", "PORTS", "PROJECT", "SERVICE", "CREATED"},
	wide:    []string{"ID", "COMMAND"},
	rows: func(data any) [][]string {
		var rows [][]string
		for _, c := range data.([]tasks.Container) {
			rows = append(rows, []string{c.Name, c.Image, c.State, c.Status, dash(strings.Join(c.Ports, ",")),
				dash(c.Project), dash(c.Service), c.Created.Format(psCreated), shortID(c.ID), c.Command})
		}
		return rows
	},
}

// dash stands in for an empty cell, so columns stay aligned for awk and cut.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
