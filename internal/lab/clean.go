package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CleanStale removes lab directories left by labs that died without Stop
// (a test binary killed on timeout): flab-* directories in the temp dir
// that are older than olderThan and that no running process names. It
// unmounts what is left under them first and returns the removed paths.
func CleanStale(olderThan time.Duration) ([]string, error) {
	bases := []string{tempBase()}
	if bases[0] != "/tmp" {
		bases = append(bases, "/tmp")
	}
	var removed []string
	var errs []error
	for _, base := range bases {
		ents, err := os.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "flab-") {
				continue
			}
			dir := filepath.Join(base, e.Name())
			fi, err := e.Info()
			if err != nil || time.Since(fi.ModTime()) < olderThan {
				continue
			}
			if len(procsUnder(dir)) > 0 {
				continue
			}
			if err := unmountUnder(dir); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, err)
				continue
			}
			removed = append(removed, dir)
		}
	}
	return removed, errors.Join(errs...)
}
