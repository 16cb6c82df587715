package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"flotilla/backup"
	"flotilla/connect"
	"flotilla/hosts"
)

// Backup runs a host's backup declarations and stores what they read as
// one set: every item complete, or no set at all.
type Backup struct {
	Store   *backup.Store
	Config  *hosts.Backup
	Only    string            // one declaration's name; "" for all
	Options backup.Options    // compression and encryption
	Secrets map[string][]byte // dump name -> what goes to its stdin
	Keep    int               // complete sets kept per host after success; 0: no pruning
	Now     func() time.Time  // nil: time.Now
}

// BackupResult is one host's backup.
type BackupResult struct {
	Set    string       `json:"set"`
	Path   string       `json:"path"`
	Items  []BackupItem `json:"items"`
	Pruned []string     `json:"pruned,omitempty"` // sets removed to honour keep
}

// BackupItem is one file of the set, with how fast it was read.
type BackupItem struct {
	Kind        backup.Kind `json:"kind"`
	Name        string      `json:"name"`
	File        string      `json:"file"`
	RawBytes    int64       `json:"raw_bytes"`
	StoredBytes int64       `json:"stored_bytes"`
	Entries     int         `json:"entries,omitempty"`
	Seconds     float64     `json:"seconds"`
	MBPerSecond float64     `json:"mb_per_second"`       // raw MB (10^6 bytes) per second
	Stopped     []string    `json:"stopped,omitempty"`   // containers stopped while a volume was read
	Restarted   []string    `json:"restarted,omitempty"` // and started again
	Warnings    []string    `json:"warnings,omitempty"`
}

// backupEngine is what a backup needs of the Engine API.
type backupEngine interface {
	helperEngine
	ServerVersion(ctx context.Context, options client.ServerVersionOptions) (client.ServerVersionResult, error)
	VolumeList(ctx context.Context, options client.VolumeListOptions) (client.VolumeListResult, error)
	CopyFromContainer(ctx context.Context, containerID string, options client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	containerStopper
	execer
}

// hostRunner runs a command on the host itself (connect.Conn.Run).
type hostRunner interface {
	Run(ctx context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) error
}

func (*Backup) Name() string { return "backup" }

// Applies reports whether any declaration (after Only) names host.
func (t *Backup) Applies(host string) bool {
	v, d, p := t.declarations(host)
	return len(v)+len(d)+len(p) > 0
}

func (t *Backup) declarations(host string) (vols []hosts.VolumeBackup, dumps []hosts.DumpBackup, paths []hosts.PathBackup) {
	if t.Config == nil {
		return nil, nil, nil
	}
	pick := func(name string) bool { return t.Only == "" || t.Only == name }
	for _, v := range t.Config.Volumes {
		if pick(v.Name) && v.AppliesTo(host) {
			vols = append(vols, v)
		}
	}
	for _, d := range t.Config.Dumps {
		if pick(d.Name) && d.AppliesTo(host) {
			dumps = append(dumps, d)
		}
	}
	for _, p := range t.Config.Paths {
		if pick(p.Name) && p.AppliesTo(host) {
			paths = append(paths, p)
		}
	}
	return vols, dumps, paths
}

func (t *Backup) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Backup) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return t.run(ctx, c.Host.Name, c.Engine, c)
}

func (t *Backup) run(ctx context.Context, host string, eng backupEngine, sh hostRunner) (*BackupResult, error) {
	vols, dumps, paths := t.declarations(host)
	if len(vols)+len(dumps)+len(paths) == 0 {
		return nil, fmt.Errorf("no backup declaration applies to host %q", host)
	}
	var engine backup.Engine
	if v, err := eng.ServerVersion(ctx, client.ServerVersionOptions{}); err == nil {
		engine = backup.Engine{Version: v.Version, APIVersion: v.APIVersion}
	} else {
		return nil, fmt.Errorf("engine version: %w", err)
	}

	set, err := t.Store.Begin(host, t.Options, engine, t.now())
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = set.Abort()
		}
	}()
	res := &BackupResult{Set: set.Name(), Path: set.Path(), Items: []BackupItem{}}
	add := func(it BackupItem, err error) error {
		if err != nil {
			return err
		}
		res.Items = append(res.Items, it)
		return ctx.Err()
	}

	if len(vols) > 0 {
		names, err := t.selectVolumes(ctx, eng, vols)
		if err != nil {
			return nil, err
		}
		for _, v := range names {
			if err := add(backupVolume(ctx, eng, set, v.name, v.stop)); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range dumps {
		if err := add(backupDump(ctx, eng, set, d, t.Secrets[d.Name])); err != nil {
			return nil, err
		}
	}
	for _, p := range paths {
		if err := add(backupPath(ctx, sh, set, p)); err != nil {
			return nil, err
		}
	}
	if len(res.Items) == 0 {
		// An empty set would count towards keep and prune real ones away.
		return nil, errors.New("nothing to back up: no volume matches the declarations, so no set was written")
	}
	if _, err := set.Commit(t.now()); err != nil {
		return nil, fmt.Errorf("completing set %s: %w", set.Name(), err)
	}
	committed = true

	if t.Keep > 0 {
		plan, err := t.Store.PlanPrune(host, t.Keep, 0, t.now())
		if err == nil {
			for _, si := range plan.Remove {
				if err = t.Store.Remove(si); err != nil {
					break
				}
				res.Pruned = append(res.Pruned, si.Name)
			}
		}
		if err != nil {
			return res, fmt.Errorf("set %s is complete, but pruning to keep %d failed: %w", set.Name(), t.Keep, err)
		}
	}
	return res, nil
}

type selectedVolume struct {
	name string
	stop bool
}

// selectVolumes lists the host's volumes once and keeps those a declaration
// selects; a volume two declarations select is read once, stopping its
// containers if either asks to.
func (t *Backup) selectVolumes(ctx context.Context, eng backupEngine, decls []hosts.VolumeBackup) ([]selectedVolume, error) {
	list, err := eng.VolumeList(ctx, client.VolumeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing volumes: %w", err)
	}
	var names []string
	for _, v := range list.Items {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	var out []selectedVolume
	for _, n := range names {
		sel := selectedVolume{name: n}
		picked := false
		for _, d := range decls {
			if d.Selects(n) {
				picked = true
				sel.stop = sel.stop || d.StopContainers
			}
		}
		if picked {
			out = append(out, sel)
		}
	}
	return out, nil
}

func itemResult(it backup.Item) BackupItem {
	sec := it.DurationMS / 1000
	r := BackupItem{Kind: it.Kind, Name: it.Name, File: it.File, RawBytes: it.RawSize,
		StoredBytes: it.Size, Entries: it.Entries, Seconds: sec}
	if sec > 0 {
		r.MBPerSecond = float64(it.RawSize) / 1e6 / sec
	}
	return r
}

// limitedBuffer keeps the first max bytes written to it (a command's
// stderr) and counts the rest.
type limitedBuffer struct {
	max     int
	buf     []byte
	dropped int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := b.max - len(b.buf)
	if room > len(p) {
		room = len(p)
	}
	b.buf = append(b.buf, p[:room]...)
	b.dropped += int64(len(p) - room)
	return len(p), nil
}

func (b *limitedBuffer) Len() int { return len(b.buf) + int(b.dropped) }

// String is the text kept, with the secret (when not empty) masked.
func (b *limitedBuffer) String(secret []byte) string {
	s := strings.TrimSpace(string(b.buf))
	if sec := strings.TrimSpace(string(secret)); sec != "" {
		s = strings.ReplaceAll(s, sec, "***")
	}
	if b.dropped > 0 {
		s += fmt.Sprintf(" ... (%d more bytes)", b.dropped)
	}
	return s
}
