package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPullCmd is a placeholder until its issue lands; it keeps root.go stable.
func newPullCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "pull",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("pull: not built yet")}
		},
	}
}
