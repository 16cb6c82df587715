package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPromoteCmd is a placeholder until its issue lands; it keeps root.go stable.
func newPromoteCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "promote",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("promote: not built yet")}
		},
	}
}
