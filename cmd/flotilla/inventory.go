package main

import (
	"errors"
	"fmt"

	"flotilla/hosts"
)

// loadHosts reads the inventory and applies --limit. Every failure here is a
// usage error: nothing has connected yet.
func loadHosts(io *IOStreams, opts *globalOptions) (*hosts.Inventory, []*hosts.Host, error) {
	if opts.Inventory == "" {
		return nil, nil, usageError{withHint{errors.New("no inventory given"),
			"pass -i FILE or set FLOTILLA_INVENTORY (see inventory.example.toml)"}}
	}
	inv, err := hosts.Load(opts.Inventory)
	if err != nil {
		return nil, nil, usageError{err}
	}
	inv.Apply(opts.Overrides)
	for _, w := range inv.Warnings {
		fmt.Fprintf(io.ErrOut, "flotilla: warning: %s\n", w)
	}
	selected, err := inv.Select(opts.Limit)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return inv, selected, nil
}
