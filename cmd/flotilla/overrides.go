package main

import (
	"github.com/spf13/pflag"

	"flotilla/hosts"
)

// addOverrideFlags adds the flags that win over every inventory level
// (built-in < [defaults] < groups < host < these), for a one-off run.
func addOverrideFlags(f *pflag.FlagSet, o *hosts.Overrides) {
	f.StringVar(&o.User, "user", "", "ssh user for every selected host (overrides the inventory)")
	f.IntVar(&o.Port, "port", 0, "ssh port for every selected host (overrides the inventory)")
	f.StringVar(&o.IdentityFile, "identity-file", "", "private key for every selected host (overrides the inventory)")
	f.DurationVar(&o.ConnectTimeout, "connect-timeout", 0, "connect timeout for every selected host (overrides the inventory)")
	f.StringVar(&o.Transport, "transport", "", "transport for every selected host: ssh or openssh (overrides the inventory)")
}
