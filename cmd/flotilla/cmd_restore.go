package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"flotilla/backup"
	"flotilla/hosts"
	"flotilla/tasks"
)

func newRestoreCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Put a stored volume or dump back on a host",
		Long: `restore streams one file of a stored set back to its host. SET is a set's
name as "backup list" shows it, or "latest" for the host's newest complete set.
The stored file's sha256 is checked before anything on the host changes.`,
	}
	cmd.AddCommand(newRestoreVolumeCmd(io, opts), newRestoreDumpCmd(io, opts))
	return cmd
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{withHint{err, "usage: " + cmd.UseLine()}}
		}
		return nil
	}
}

// restoreTarget resolves HOST SET KIND NAME to the host, the set, its
// manifest and the item, before anything connects.
func restoreTarget(io *IOStreams, opts *globalOptions, hostName, setName string, kind backup.Kind, name string) (*hosts.Inventory, *hosts.Host, backup.SetInfo, *backup.Manifest, backup.Item, error) {
	fail := func(err error) (*hosts.Inventory, *hosts.Host, backup.SetInfo, *backup.Manifest, backup.Item, error) {
		return nil, nil, backup.SetInfo{}, nil, backup.Item{}, err
	}
	inv, _, cfg, err := loadBackup(io, opts)
	if err != nil {
		return fail(err)
	}
	h := inv.Host(hostName)
	if h == nil {
		return fail(usageError{withHint{fmt.Errorf("host %q is not in %s", hostName, opts.Inventory), "restore connects to the host: it must be in the inventory"}})
	}
	store := &backup.Store{Dir: cfg.Dir}
	si, err := store.Find(hostName, setName)
	if err != nil {
		return fail(usageError{withHint{err, "see flotilla backup list"}})
	}
	m, err := backup.ReadManifest(si.Path)
	if err != nil {
		return fail(err)
	}
	it, ok := m.Item(kind, name)
	if !ok {
		var have []string
		for _, it := range m.Items {
			if it.Kind == kind {
				have = append(have, it.Name)
			}
		}
		return fail(usageError{withHint{fmt.Errorf("set %s holds no %s %q", si.SetPath(), kind, name),
			fmt.Sprintf("its %ss: %s", kind, listOr(have, "none"))}})
	}
	return inv, h, si, m, it, nil
}

func newRestoreVolumeCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	var (
		to, identity string
		force        bool
	)
	cmd := &cobra.Command{
		Use:   "volume HOST SET NAME",
		Short: "Restore a volume (creating it; --to restores into another volume)",
		Long: `restore volume streams a stored volume archive into a volume on HOST, through a
created, never-started container that mounts it. The volume is created when
missing. A volume that already holds files is refused unless --force is given;
with --force, files not in the backup stay.`,
		Args: exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, h, si, m, it, err := restoreTarget(io, opts, args[0], args[1], backup.KindVolume, args[2])
			if err != nil {
				return err
			}
			ids, err := readIdentity(identity)
			if err != nil {
				return err
			}
			if m.Encrypted && len(ids) == 0 {
				return usageError{withHint{fmt.Errorf("set %s is encrypted", si.SetPath()), "pass --identity FILE or set " + identityEnv}}
			}
			target := args[2]
			if to != "" {
				target = to
			}
			noDefaultTimeout(cmd, opts)
			t := &tasks.RestoreVolume{Set: si, Manifest: m, Item: it, Target: target, Force: force, Identities: ids}
			return runOn(cmd.Context(), io, opts, inv, []*hosts.Host{h}, t, restoreView)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "restore into this volume instead of NAME")
	cmd.Flags().BoolVar(&force, "force", false, "restore into a volume that is not empty")
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file for an encrypted set (env "+identityEnv+")")
	return cmd
}

func newRestoreDumpCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	var identity string
	cmd := &cobra.Command{
		Use:   "dump HOST SET NAME",
		Short: "Feed a stored dump to the declaration's restore_command",
		Long: `restore dump runs the restore_command of the [[backup.dump]] named NAME in its
container (by name or compose service) on HOST, with the stored dump on its
standard input. A non-zero exit status is a failure that shows its stderr.`,
		Args: exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, h, si, m, it, err := restoreTarget(io, opts, args[0], args[1], backup.KindDump, args[2])
			if err != nil {
				return err
			}
			var decl *hosts.DumpBackup
			for i := range inv.Backup.Dumps {
				if inv.Backup.Dumps[i].Name == args[2] {
					decl = &inv.Backup.Dumps[i]
				}
			}
			if decl == nil || len(decl.RestoreCommand) == 0 {
				return usageError{withHint{fmt.Errorf("backup.dump %q has no restore_command", args[2]),
					`add restore_command = ["..."] to its [[backup.dump]] table: it reads the dump on stdin`}}
			}
			ids, err := readIdentity(identity)
			if err != nil {
				return err
			}
			if m.Encrypted && len(ids) == 0 {
				return usageError{withHint{fmt.Errorf("set %s is encrypted", si.SetPath()), "pass --identity FILE or set " + identityEnv}}
			}
			noDefaultTimeout(cmd, opts)
			t := &tasks.RestoreDump{Set: si, Manifest: m, Item: it, Decl: *decl, Identities: ids}
			return runOn(cmd.Context(), io, opts, inv, []*hosts.Host{h}, t, restoreView)
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file for an encrypted set (env "+identityEnv+")")
	return cmd
}

var restoreView = view{
	columns: []string{"SET", "FILE", "TARGET", "BYTES", "ENTRIES", "TIME", "SPEED", "NOTES"},
	rows: func(data any) [][]string {
		r := data.(*tasks.RestoreResult)
		var notes []string
		if r.Created {
			notes = append(notes, "created")
		}
		if r.Overwrote {
			notes = append(notes, "written over existing files")
		}
		if r.Output != "" {
			notes = append(notes, r.Output)
		}
		entries := ""
		if r.Entries > 0 {
			entries = strconv.Itoa(r.Entries)
		}
		return [][]string{{r.Set, r.File, r.Target, humanBytes(r.RawBytes), entries, secondsString(r.Seconds), speed(r.MBPerSecond), listOr(notes, "")}}
	},
}
