package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRootlessCmd is a placeholder until its issue lands; it keeps root.go stable.
func newRootlessCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "rootless",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("rootless: not built yet")}
		},
	}
}
