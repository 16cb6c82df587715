package main

import (
	"errors"
	"regexp"

	"github.com/spf13/cobra"

	"flotilla/tasks"
)

func newEnvCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	t := tasks.Env{}
	cmd := &cobra.Command{
		Use:   "env CONTAINER [VAR]",
		Short: "Show a container's environment on every host, secrets masked",
		Long: `env shows the environment a container was created with, on every selected host.
CONTAINER is a container name or a compose service name (every replica).
Values of variables whose names look secret (PASSWORD, SECRET, TOKEN, KEY,
CREDENTIAL, ...) and URLs with a password are shown as **** unless
--show-secrets. With VAR, only that variable, one line per host, like
printenv VAR in the container (nothing is executed in it).
A host without the container, or a container without VAR, is failed.`,
		Example: `  flotilla env web
  flotilla -l @db env postgres POSTGRES_DB`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{withHint{errors.New("env takes CONTAINER and at most one VAR"),
					"e.g. flotilla env web, or flotilla env web DATABASE_HOST"}}
			}
			if len(args) == 2 && !envName.MatchString(args[1]) {
				return usageError{withHint{errors.New("VAR " + args[1] + " is not a variable name"),
					"give the name alone (DATABASE_HOST), without = or a value"}}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			t.Container = args[0]
			v := envView
			if len(args) == 2 {
				t.Var = args[1]
				v = envVarView
			}
			return runTask(cmd.Context(), io, opts, t, v)
		},
	}
	cmd.Flags().BoolVar(&t.ShowSecrets, "show-secrets", false, "print secret-looking values instead of ****")
	return cmd
}

var envName = regexp.MustCompile(`^[^=\s]+$`)

var envView = view{
	columns: []string{"CONTAINER", "VARIABLE", "VALUE"},
	rows: func(data any) [][]string {
		var rows [][]string
		for _, c := range data.([]tasks.ContainerEnv) {
			for _, v := range c.Vars {
				rows = append(rows, []string{c.Container, v.Key, v.Value})
			}
		}
		return rows
	},
}

var envVarView = view{
	columns: []string{"CONTAINER", "VALUE"},
	rows: func(data any) [][]string {
		var rows [][]string
		for _, c := range data.([]tasks.ContainerEnv) {
			for _, v := range c.Vars {
				rows = append(rows, []string{c.Container, v.Value})
			}
		}
		return rows
	},
}
