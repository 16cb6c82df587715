package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newEnvCmd is a placeholder until its issue lands; it keeps root.go stable.
func newEnvCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "env",
		Short:  "not built yet",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("env: not built yet")}
		},
	}
}
