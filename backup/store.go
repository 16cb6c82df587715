package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PartialSuffix marks a set still being written, or one a failed or killed
// run left behind. Nothing reads a partial set as a backup.
const PartialSuffix = ".partial"

// setTimeFormat names sets: UTC, sortable as text, no colons.
const setTimeFormat = "20060102T150405Z"

// Store is the backup directory: DIR/HOST/SET/{files, MANIFEST.json}.
type Store struct {
	Dir string
}

// SetInfo is one set found on disk.
type SetInfo struct {
	Host     string    `json:"host"`
	Name     string    `json:"set"`
	Path     string    `json:"path"`
	Partial  bool      `json:"partial"`
	Time     time.Time `json:"time"` // from the name
	Size     int64     `json:"size"` // bytes of every file in it
	Files    int       `json:"files"`
	Modified time.Time `json:"modified"` // newest file's mtime
}

// ParseSetName reads the time a set name stands for; ok is false for
// anything flotilla did not name.
func ParseSetName(name string) (t time.Time, partial, ok bool) {
	name, partial = strings.CutSuffix(name, PartialSuffix)
	base, n, hasN := strings.Cut(name, "-")
	if hasN {
		if i, err := strconv.Atoi(n); err != nil || i < 2 || i > maxSameSecond {
			return time.Time{}, false, false
		}
	}
	t, err := time.Parse(setTimeFormat, base)
	return t, partial, err == nil
}

// maxSameSecond bounds how many sets of one host may start within one second.
const maxSameSecond = 9

// Hosts lists the host directories in the store.
func (s *Store) Hosts() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Sets lists a host's sets, complete and partial, oldest first.
// A host without a directory has no sets.
func (s *Store) Sets(host string) ([]SetInfo, error) {
	dir := filepath.Join(s.Dir, host)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []SetInfo
	for _, e := range ents {
		t, partial, ok := ParseSetName(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		si := SetInfo{Host: host, Name: e.Name(), Path: filepath.Join(dir, e.Name()), Partial: partial, Time: t}
		if !partial {
			// A directory with a final name but no manifest was not made by
			// flotilla's rename; it is not a complete set either.
			if _, err := os.Stat(filepath.Join(si.Path, ManifestName)); err != nil {
				si.Partial = true
			}
		}
		files, _ := os.ReadDir(si.Path)
		for _, f := range files {
			if fi, err := f.Info(); err == nil && fi.Mode().IsRegular() {
				si.Size += fi.Size()
				si.Files++
				if fi.ModTime().After(si.Modified) {
					si.Modified = fi.ModTime()
				}
			}
		}
		if si.Modified.IsZero() {
			if fi, err := e.Info(); err == nil {
				si.Modified = fi.ModTime()
			}
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return setLess(out[i].Name, out[j].Name) })
	return out, nil
}

// setLess orders set names by time, then by their same-second number.
func setLess(a, b string) bool {
	a, _ = strings.CutSuffix(a, PartialSuffix)
	b, _ = strings.CutSuffix(b, PartialSuffix)
	ab, an, _ := strings.Cut(a, "-")
	bb, bn, _ := strings.Cut(b, "-")
	if ab != bb {
		return ab < bb
	}
	ai, _ := strconv.Atoi(an)
	bi, _ := strconv.Atoi(bn)
	return ai < bi
}

// Complete returns only the complete sets of list, oldest first.
func Complete(list []SetInfo) []SetInfo {
	var out []SetInfo
	for _, s := range list {
		if !s.Partial {
			out = append(out, s)
		}
	}
	return out
}

// Find returns the host's complete set named name; "latest" is the newest.
func (s *Store) Find(host, name string) (SetInfo, error) {
	sets, err := s.Sets(host)
	if err != nil {
		return SetInfo{}, err
	}
	complete := Complete(sets)
	if name == "latest" {
		if len(complete) == 0 {
			return SetInfo{}, fmt.Errorf("host %q has no complete backup set in %s", host, s.Dir)
		}
		return complete[len(complete)-1], nil
	}
	for _, si := range sets {
		if si.Name == name {
			if si.Partial {
				return SetInfo{}, fmt.Errorf("set %s/%s is partial: an unfinished or failed backup, not restorable", host, name)
			}
			return si, nil
		}
	}
	return SetInfo{}, fmt.Errorf("host %q has no set %q in %s", host, name, s.Dir)
}

// newSetDir reserves a partial set directory for host, named after now.
// Mkdir fails when the name exists, so two runs never share a directory.
func (s *Store) newSetDir(host string, now time.Time) (name, partialPath string, err error) {
	hostDir := filepath.Join(s.Dir, host)
	if err := os.MkdirAll(hostDir, 0o700); err != nil {
		return "", "", err
	}
	base := now.UTC().Format(setTimeFormat)
	for i := 1; i <= maxSameSecond; i++ {
		name = base
		if i > 1 {
			name = base + "-" + strconv.Itoa(i)
		}
		if _, err := os.Lstat(filepath.Join(hostDir, name)); err == nil {
			continue
		}
		partialPath = filepath.Join(hostDir, name+PartialSuffix)
		err = os.Mkdir(partialPath, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		return name, partialPath, nil
	}
	return "", "", fmt.Errorf("%s: more than %d sets started within one second", hostDir, maxSameSecond)
}

// syncDir fsyncs a directory so a rename or a new entry in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
