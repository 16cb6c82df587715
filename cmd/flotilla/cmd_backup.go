package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newBackupCmd is a placeholder until its issue lands; it keeps root.go stable.
func newBackupCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "backup",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("backup: not built yet")}
		},
	}
}
