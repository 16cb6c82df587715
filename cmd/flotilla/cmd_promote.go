package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"flotilla/hosts"
	"flotilla/registry"
)

type promoteOptions struct {
	DryRun bool
}

func newPromoteCmd(io *IOStreams, opts *globalOptions) *cobra.Command {
	po := &promoteOptions{}
	cmd := &cobra.Command{
		Use:   "promote",
		Short: "Copy image tags between registries as the inventory's [[promote]] entries say",
		Long: `promote copies each tag of every [[promote]] entry of the inventory from its
"from" repository to its "to" repository, registry to registry from this
machine: every platform of a multi-platform image, digests unchanged. It uses
the credentials of your Docker client configuration. No host is contacted.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return promoteRun(cmd.Context(), io, opts, po)
		},
	}
	cmd.Flags().BoolVar(&po.DryRun, "dry-run", false, "show what would be copied, copy nothing")
	return cmd
}

// promoteJob is one tag of one [[promote]] entry.
type promoteJob struct {
	from, to registry.Ref
}

func promoteRun(ctx context.Context, io *IOStreams, opts *globalOptions, po *promoteOptions) error {
	inv, _, err := loadHosts(io, opts)
	if err != nil {
		return err
	}
	jobs, err := promoteJobs(inv)
	if err != nil {
		return usageError{err}
	}
	creds, err := registry.LoadCredentials()
	if err != nil {
		return withHint{err, "fix the file, or point DOCKER_CONFIG at another directory"}
	}
	rc, err := registry.NewClient(creds)
	if err != nil {
		return err
	}
	start := time.Now()
	var copies []registry.Copy
	failed := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			break
		}
		cp, err := rc.Promote(ctx, j.from, j.to, po.DryRun)
		if err != nil {
			cp.Action, cp.Error = "failed", err.Error()
			failed++
		}
		copies = append(copies, cp)
		if opts.Output == "jsonl" {
			writeJSONLine(io, map[string]any{"type": "copy", "copy": cp})
		}
	}
	sum := map[string]any{"copies": len(copies), "failed": failed, "dry_run": po.DryRun,
		"duration_ms": msOf(time.Since(start))}
	switch opts.Output {
	case "jsonl":
		sum["type"] = "summary"
		writeJSONLine(io, sum)
	case "json":
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"command": "promote", "started": start.UTC(), "copies": copies, "summary": sum})
	default:
		t := newTable([]string{"FROM", "TO", "DIGEST", "PLATFORMS", "ACTION", "REASON"})
		for _, c := range copies {
			t.add([]string{c.From, c.To, shortHash(c.Digest), strconv.Itoa(c.Platforms), c.Action, c.Error})
		}
		t.write(io.Out)
		fmt.Fprintf(io.Out, "\n%d tags: %d failed in %s\n", len(copies), failed, time.Since(start).Round(time.Millisecond))
	}
	if ctx.Err() != nil {
		return exitError{ExitInterrupted}
	}
	if failed > 0 {
		return exitError{ExitFailed}
	}
	return nil
}

// promoteJobs expands [[promote]] entries into one copy per tag; every
// reference is checked before anything is contacted.
func promoteJobs(inv *hosts.Inventory) ([]promoteJob, error) {
	if len(inv.Promote) == 0 {
		return nil, withHint{fmt.Errorf("%s has no [[promote]] entries", inv.Path),
			`add one: [[promote]] from = "registry.internal:5000/app/api", to = "docker.io/acme/app-api", tags = ["1.4.2"]`}
	}
	var jobs []promoteJob
	for i, p := range inv.Promote {
		if len(p.Tags) == 0 {
			return nil, fmt.Errorf("%s: promote #%d (%s): no tags to copy", inv.Path, i+1, p.From)
		}
		for _, tag := range p.Tags {
			from, err := registry.ParseRef(p.From + ":" + tag)
			if err == nil && from.Tag() != tag {
				err = errors.New("from must be a repository without tag or digest")
			}
			if err != nil {
				return nil, fmt.Errorf("%s: promote #%d from %q tag %q: %w", inv.Path, i+1, p.From, tag, err)
			}
			to, err := registry.ParseRef(p.To + ":" + tag)
			if err == nil && to.Tag() != tag {
				err = errors.New("to must be a repository without tag or digest")
			}
			if err != nil {
				return nil, fmt.Errorf("%s: promote #%d to %q tag %q: %w", inv.Path, i+1, p.To, tag, err)
			}
			jobs = append(jobs, promoteJob{from: from, to: to})
		}
	}
	return jobs, nil
}

func writeJSONLine(io *IOStreams, v any) {
	_ = json.NewEncoder(io.Out).Encode(v)
}
