package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newPsCmd is a placeholder until its issue lands; it keeps root.go stable.
func newPsCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "ps",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("ps: not built yet")}
		},
	}
}
