package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"flotilla/backup"
	"flotilla/hosts"
	"flotilla/tasks"
)

// identityEnv names the age identity file for verify and restore.
const identityEnv = "FLOTILLA_AGE_IDENTITY"

func newBackupCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	var only string
	cmd := &cobra.Command{
		Use:   "backup [--only NAME]",
		Short: "Run the backups declared in the inventory, one set per host",
		Long: `backup reads the volumes, dumps and host paths the inventory's [backup] table
declares for each selected host, in parallel, and stores them as one set per
host: DIR/HOST/TIMESTAMP/. A set is complete, or it does not exist under its
final name. After a successful run, each host keeps its newest "keep" sets.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			noDefaultTimeout(cmd, opts)
			return backupRun(cmd.Context(), io, opts, only)
		},
	}
	cmd.Flags().StringVar(&only, "only", "", "run only the declaration with this name")
	cmd.AddCommand(newBackupListCmd(io, opts), newBackupVerifyCmd(io, opts), newBackupPruneCmd(io, opts))
	return cmd
}

// noDefaultTimeout lifts the per-host time limit for commands that move
// whole volumes, unless --timeout was given: a large volume must not be cut
// off by a default meant for listing images.
func noDefaultTimeout(cmd *cobra.Command, opts *globalOptions) {
	if !cmd.Flags().Changed("timeout") {
		opts.Timeout = 0
	}
}

// loadBackup reads the inventory and its [backup] table.
func loadBackup(io *IOStreams, opts *globalOptions) (*hosts.Inventory, []*hosts.Host, *hosts.Backup, error) {
	inv, selected, err := loadHosts(io, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	if inv.Backup == nil {
		return nil, nil, nil, usageError{withHint{fmt.Errorf("%s has no [backup] table", opts.Inventory),
			"add [backup] with dir and keep, and [[backup.volume]], [[backup.dump]] or [[backup.path]] tables (see inventory.example.toml)"}}
	}
	return inv, selected, inv.Backup, nil
}

func backupRun(ctx context.Context, io *IOStreams, opts *globalOptions, only string) error {
	inv, selected, cfg, err := loadBackup(io, opts)
	if err != nil {
		return err
	}
	if only != "" && !slices.Contains(declarationNames(cfg), only) {
		return usageError{withHint{fmt.Errorf("--only %q: no backup declaration has that name", only),
			"declared: " + strings.Join(declarationNames(cfg), ", ")}}
	}
	recipients, err := backup.ParseRecipients(cfg.Recipients)
	if err != nil {
		return usageError{err}
	}
	t := &tasks.Backup{
		Store:   &backup.Store{Dir: cfg.Dir},
		Config:  cfg,
		Only:    only,
		Options: backup.Options{ZstdLevel: cfg.ZstdLevel, Recipients: recipients, RecipientKeys: cfg.Recipients},
		Keep:    cfg.Keep,
	}
	var list []*hosts.Host
	for _, h := range selected {
		if t.Applies(h.Name) {
			list = append(list, h)
		}
	}
	if len(list) == 0 {
		return usageError{withHint{errors.New("no backup declaration applies to the selected hosts"),
			"check the hosts = patterns of the [[backup.*]] tables, and --limit"}}
	}
	if t.Secrets, err = dumpSecrets(cfg, only, list); err != nil {
		return usageError{err}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return withHint{fmt.Errorf("backup dir: %w", err), "create it, or set [backup] dir to a writable directory"}
	}
	return runOn(ctx, io, opts, inv, list, t, backupView)
}

func declarationNames(cfg *hosts.Backup) []string {
	var names []string
	for _, v := range cfg.Volumes {
		names = append(names, v.Name)
	}
	for _, d := range cfg.Dumps {
		names = append(names, d.Name)
	}
	for _, p := range cfg.Paths {
		names = append(names, p.Name)
	}
	return names
}

// dumpSecrets reads the secret of every dump that will run, before anything
// connects: a missing one is a usage error, never a half-done run. The
// errors name the variable or file, never the value.
func dumpSecrets(cfg *hosts.Backup, only string, list []*hosts.Host) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range cfg.Dumps {
		if only != "" && d.Name != only || !slices.ContainsFunc(list, func(h *hosts.Host) bool { return d.AppliesTo(h.Name) }) {
			continue
		}
		var secret []byte
		switch {
		case d.StdinSecretEnv != "":
			v, ok := os.LookupEnv(d.StdinSecretEnv)
			if !ok {
				return nil, withHint{fmt.Errorf("backup.dump %q: environment variable %s is not set", d.Name, d.StdinSecretEnv),
					"export it in flotilla's environment (for a timer: an EnvironmentFile), or use stdin_secret_file"}
			}
			secret = []byte(v)
		case d.StdinSecretFile != "":
			b, err := os.ReadFile(d.StdinSecretFile)
			if err != nil {
				return nil, fmt.Errorf("backup.dump %q: stdin_secret_file: %w", d.Name, err)
			}
			secret = b
		default:
			continue
		}
		out[d.Name] = []byte(strings.TrimRight(string(secret), "\r\n"))
	}
	return out, nil
}

var backupView = view{
	columns: []string{"SET", "ITEM", "RAW", "STORED", "ENTRIES", "TIME", "SPEED", "NOTES"},
	rows: func(data any) [][]string {
		r := data.(*tasks.BackupResult)
		var rows [][]string
		for _, it := range r.Items {
			var notes []string
			if len(it.Stopped) > 0 {
				notes = append(notes, "stopped "+strings.Join(it.Stopped, ","), "restarted "+listOr(it.Restarted, "none"))
			}
			notes = append(notes, it.Warnings...)
			entries := ""
			if it.Kind.IsTar() {
				entries = strconv.Itoa(it.Entries)
			}
			rows = append(rows, []string{r.Set, string(it.Kind) + " " + it.Name, humanBytes(it.RawBytes), humanBytes(it.StoredBytes),
				entries, secondsString(it.Seconds), speed(it.MBPerSecond), strings.Join(notes, "; ")})
		}
		if len(r.Pruned) > 0 {
			rows = append(rows, []string{r.Set, "pruned", "", "", "", "", "", strings.Join(r.Pruned, ",")})
		}
		return rows
	},
}

func humanBytes(n int64) string { return units.HumanSize(float64(n)) }

func secondsString(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

func speed(mbps float64) string {
	if mbps <= 0 {
		return "-"
	}
	return strconv.FormatFloat(mbps, 'f', 1, 64) + " MB/s"
}

func listOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return strings.Join(s, ",")
}
