package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRestoreCmd is a placeholder until its issue lands; it keeps root.go stable.
func newRestoreCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "restore",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("restore: not built yet")}
		},
	}
}
