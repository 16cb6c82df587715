package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"flotilla/tasks"
)

func newCheckCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Connect to every host: SSH, engine version, API version, platform, latency",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTask(cmd.Context(), io, opts, tasks.Check{}, checkView)
		},
	}
}

var checkView = view{
	columns: []string{"TRANSPORT", "USER", "ENGINE", "API", "OS/ARCH", "ROOTLESS", "SOCKET", "SSH", "API RTT"},
	rows: func(data any) [][]string {
		c := data.(*tasks.CheckResult)
		socket := c.Socket
		if c.SocketDiscovered {
			socket += " (discovered)"
		}
		return [][]string{{c.Transport, c.User, c.EngineVersion, c.APIVersion, c.OS + "/" + c.Arch, yesNo(c.Rootless), socket,
			fmt.Sprintf("%.1fms", c.HandshakeMS), fmt.Sprintf("%.1fms", c.RoundTripMS)}}
	},
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
