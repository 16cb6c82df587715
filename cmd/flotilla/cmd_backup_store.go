package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"flotilla/backup"
	"flotilla/hosts"
)

// storeHosts are the host directories of the store that --limit selects
// (all of them without --limit: a host removed from the inventory still
// has backups).
func storeHosts(opts *globalOptions, inv *hosts.Inventory, store *backup.Store) ([]string, error) {
	names, err := store.Hosts()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if opts.Limit == "" {
		return names, nil
	}
	sel, err := inv.Select(opts.Limit)
	if err != nil {
		return nil, usageError{err}
	}
	var out []string
	for _, n := range names {
		if slices.ContainsFunc(sel, func(h *hosts.Host) bool { return h.Name == n }) {
			out = append(out, n)
		}
	}
	return out, nil
}

// writeDoc writes -o json (one document) or -o jsonl (one line per row).
func writeDoc(io *IOStreams, opts *globalOptions, command, key, typ string, rows any, extra map[string]any) {
	enc := json.NewEncoder(io.Out)
	if opts.Output == "json" {
		enc.SetIndent("", "  ")
		doc := map[string]any{"command": command, key: rows}
		for k, v := range extra {
			doc[k] = v
		}
		_ = enc.Encode(doc)
		return
	}
	b, _ := json.Marshal(rows)
	var items []map[string]any
	_ = json.Unmarshal(b, &items)
	for _, it := range items {
		it["type"] = typ
		_ = enc.Encode(it)
	}
	if len(extra) > 0 {
		extra["type"] = "summary"
		_ = enc.Encode(extra)
	}
}

func newBackupListCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored sets: hosts, sets, sizes, age",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, _, cfg, err := loadBackup(io, opts)
			if err != nil {
				return err
			}
			store := &backup.Store{Dir: cfg.Dir}
			names, err := storeHosts(opts, inv, store)
			if err != nil {
				return err
			}
			all := []backup.SetInfo{}
			for _, h := range names {
				sets, err := store.Sets(h)
				if err != nil {
					return err
				}
				all = append(all, sets...)
			}
			if opts.Output != "table" {
				writeDoc(io, opts, "backup list", "sets", "set", all, nil)
				return nil
			}
			if len(all) == 0 {
				fmt.Fprintf(io.ErrOut, "flotilla: no backup sets in %s\n", cfg.Dir)
				return nil
			}
			t := newTable([]string{"HOST", "SET", "STATUS", "FILES", "SIZE", "AGE"})
			now := time.Now()
			for _, si := range all {
				status := "complete"
				if si.Partial {
					status = "partial"
				}
				t.add([]string{si.Host, si.Name, status, strconv.Itoa(si.Files), humanBytes(si.Size), ageOf(now.Sub(si.Time))})
			}
			t.write(io.Out)
			return nil
		},
	}
}

// ageOf is a duration as people read it: 3d4h, 5h12m, 40s.
func ageOf(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

// readIdentity reads the age identity from --identity or FLOTILLA_AGE_IDENTITY.
func readIdentity(path string) ([]age.Identity, error) {
	if path == "" {
		path = os.Getenv(identityEnv)
	}
	if path == "" {
		return nil, nil
	}
	ids, err := backup.ReadIdentities(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("age identity: %w", err)}
	}
	return ids, nil
}

func newBackupVerifyCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	var identity string
	cmd := &cobra.Command{
		Use:   "verify [HOST/SET | SET | HOST]...",
		Short: "Re-read stored sets: decrypt, decompress, check every sha256, walk every tar",
		Long: `verify reads every file of the named sets (all complete sets without
arguments), decrypts it when the set is encrypted and an identity is given,
decompresses it, walks every tar, and compares sizes, entry counts and
checksums with MANIFEST.json. It exits 1 naming each damaged file.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, _, cfg, err := loadBackup(io, opts)
			if err != nil {
				return err
			}
			ids, err := readIdentity(identity)
			if err != nil {
				return err
			}
			store := &backup.Store{Dir: cfg.Dir}
			names, err := storeHosts(opts, inv, store)
			if err != nil {
				return err
			}
			sets, err := pickSets(store, names, args)
			if err != nil {
				return err
			}
			checks := []backup.FileCheck{}
			damaged := 0
			encryptedNoKey := false
			for _, si := range sets {
				for _, fc := range backup.Verify(si, ids) {
					checks = append(checks, fc)
					if !fc.OK {
						damaged++
						fmt.Fprintf(io.ErrOut, "flotilla: error: %s: %s: %s\n", si.SetPath(), fc.File, fc.Problem)
					}
					if fc.Note != "" {
						encryptedNoKey = true
					}
				}
			}
			if encryptedNoKey {
				fmt.Fprintf(io.ErrOut, "flotilla: hint: encrypted sets were checked against their stored sha256 only; pass --identity FILE (or set %s) to check their content\n", identityEnv)
			}
			if opts.Output != "table" {
				writeDoc(io, opts, "backup verify", "files", "file", checks,
					map[string]any{"sets": len(sets), "files": len(checks), "damaged": damaged})
			} else {
				t := newTable([]string{"HOST", "SET", "FILE", "STATUS", "STORED", "RAW", "TIME"})
				for _, fc := range checks {
					status := "ok"
					if !fc.OK {
						status = "DAMAGED"
					}
					t.add([]string{fc.Host, fc.Set, fc.File, status, humanBytes(fc.Size), humanBytes(fc.RawSize), secondsString(fc.Seconds)})
				}
				t.write(io.Out)
				fmt.Fprintf(io.Out, "\n%d sets, %d files: %d damaged\n", len(sets), len(checks), damaged)
			}
			if damaged > 0 {
				return exitError{ExitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&identity, "identity", "", "age identity file to decrypt encrypted sets (env "+identityEnv+")")
	return cmd
}

// pickSets resolves verify's arguments: HOST/SET, a SET name under any
// host, or a HOST (its complete sets); none means every complete set.
func pickSets(store *backup.Store, hostNames []string, args []string) ([]backup.SetInfo, error) {
	var out []backup.SetInfo
	byHost := map[string][]backup.SetInfo{}
	for _, h := range hostNames {
		sets, err := store.Sets(h)
		if err != nil {
			return nil, err
		}
		byHost[h] = sets
	}
	if len(args) == 0 {
		for _, h := range hostNames {
			out = append(out, backup.Complete(byHost[h])...)
		}
		return out, nil
	}
	for _, a := range args {
		host, set, hasSlash := strings.Cut(strings.Trim(a, "/"), "/")
		found := false
		for _, h := range hostNames {
			for _, si := range byHost[h] {
				match := hasSlash && h == host && si.Name == set ||
					!hasSlash && (si.Name == a || h == a && !si.Partial)
				if match {
					if si.Partial && (hasSlash || si.Name == a) {
						return nil, usageError{fmt.Errorf("%s is a partial set (an unfinished or failed backup): nothing to verify", si.SetPath())}
					}
					out = append(out, si)
					found = true
				}
			}
		}
		if !found {
			return nil, usageError{withHint{fmt.Errorf("no backup set %q in %s", a, store.Dir), "see flotilla backup list"}}
		}
	}
	return out, nil
}

func newBackupPruneCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	var (
		keep          int
		dryRun        bool
		stalePartials time.Duration
	)
	cmd := &cobra.Command{
		Use:   "prune [--keep N] [--dry-run]",
		Short: "Remove all but the newest N complete sets of each host",
		Long: `prune keeps the newest N complete sets of each host (the inventory's keep
without --keep) and removes older ones. The newest complete set is never
removed. Partial sets (unfinished or failed backups) are not counted and are
left alone, unless --partials-older-than says when they are stale.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, _, cfg, err := loadBackup(io, opts)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("keep") {
				keep = cfg.Keep
			}
			if keep < 1 {
				return usageError{withHint{fmt.Errorf("--keep must be 1 or more, got %d", keep), "the newest complete set of a host is never removed"}}
			}
			if stalePartials < 0 {
				return usageError{fmt.Errorf("--partials-older-than must not be negative, got %s", stalePartials)}
			}
			store := &backup.Store{Dir: cfg.Dir}
			names, err := storeHosts(opts, inv, store)
			if err != nil {
				return err
			}
			type row struct {
				Host    string `json:"host"`
				Set     string `json:"set"`
				Action  string `json:"action"` // keep, remove, removed, partial
				Partial bool   `json:"partial"`
				Size    int64  `json:"size"`
			}
			rows := []row{}
			failed := 0
			for _, h := range names {
				plan, err := store.PlanPrune(h, keep, stalePartials, time.Now())
				if err != nil {
					return err
				}
				for _, si := range plan.Keep {
					rows = append(rows, row{h, si.Name, "keep", false, si.Size})
				}
				for _, si := range plan.Partials {
					rows = append(rows, row{h, si.Name, "partial, left alone", true, si.Size})
				}
				for _, si := range plan.Remove {
					action := "would remove"
					if !dryRun {
						action = "removed"
						if err := store.Remove(si); err != nil {
							fmt.Fprintf(io.ErrOut, "flotilla: error: %s: %v\n", si.SetPath(), err)
							action, failed = "remove failed", failed+1
						}
					}
					rows = append(rows, row{h, si.Name, action, si.Partial, si.Size})
				}
			}
			if opts.Output != "table" {
				writeDoc(io, opts, "backup prune", "sets", "set", rows, map[string]any{"keep": keep, "dry_run": dryRun})
			} else {
				t := newTable([]string{"HOST", "SET", "ACTION", "SIZE"})
				for _, r := range rows {
					t.add([]string{r.Host, r.Set, r.Action, humanBytes(r.Size)})
				}
				t.write(io.Out)
			}
			if failed > 0 {
				return exitError{ExitFailed}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 0, "complete sets to keep per host (default: the inventory's keep)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, remove nothing")
	cmd.Flags().DurationVar(&stalePartials, "partials-older-than", 0, "also remove partial sets untouched for this long (e.g. 24h); 0 leaves them alone")
	return cmd
}
