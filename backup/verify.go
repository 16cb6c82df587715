package backup

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
)

// FileCheck is the outcome of verifying one file of a set.
type FileCheck struct {
	Host    string `json:"host"`
	Set     string `json:"set"`
	File    string `json:"file"`
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
	Note    string `json:"note,omitempty"`
	Size    int64  `json:"size"`
	RawSize int64  `json:"raw_size"`
	Entries int    `json:"entries,omitempty"`
	// Seconds is how long reading it took.
	Seconds float64 `json:"seconds"`
}

// Verify re-reads every file of a complete set: it decrypts (with ids),
// decompresses, walks tars, and compares every count and checksum with the
// manifest. It returns one check per file; a file that is missing or not
// in the manifest is a problem too.
func Verify(si SetInfo, ids []age.Identity) []FileCheck {
	m, err := ReadManifest(si.Path)
	if err != nil {
		return []FileCheck{{Host: si.Host, Set: si.Name, File: ManifestName, Problem: err.Error()}}
	}
	var out []FileCheck
	listed := map[string]bool{ManifestName: true}
	for _, it := range m.Items {
		listed[it.File] = true
		out = append(out, verifyItem(si, m, it, ids))
	}
	ents, _ := os.ReadDir(si.Path)
	for _, e := range ents {
		if !listed[e.Name()] {
			out = append(out, FileCheck{Host: si.Host, Set: si.Name, File: e.Name(),
				Problem: "not in the manifest (a stray file in a complete set)"})
		}
	}
	return out
}

func verifyItem(si SetInfo, m *Manifest, it Item, ids []age.Identity) (fc FileCheck) {
	fc = FileCheck{Host: si.Host, Set: si.Name, File: it.File, Size: it.Size, RawSize: it.RawSize}
	start := time.Now()
	defer func() { fc.Seconds = time.Since(start).Seconds() }()
	fail := func(err error) FileCheck {
		fc.Problem = strings.TrimPrefix(err.Error(), it.File+": ")
		return fc
	}
	if m.Encrypted && len(ids) == 0 {
		// Without a key only the stored bytes can be checked.
		if err := CheckStored(si.Path, it); err != nil {
			return fail(err)
		}
		fc.OK = true
		fc.Note = "encrypted: stored sha256 checked, content not (no identity given)"
		return fc
	}
	ir, err := OpenItem(si.Path, m, it, ids)
	if err != nil {
		return fail(err)
	}
	defer ir.Close()
	if it.Kind.IsTar() {
		n, err := walkTar(ir)
		if err != nil {
			return fail(fmt.Errorf("reading the tar: %w", err))
		}
		fc.Entries = n
		if n != it.Entries {
			return fail(fmt.Errorf("%d tar entries, the manifest says %d", n, it.Entries))
		}
	} else if _, err := copyDiscard(ir); err != nil {
		return fail(err)
	}
	if err := ir.Check(); err != nil {
		return fail(err)
	}
	fc.OK = true
	return fc
}

func copyDiscard(r io.Reader) (int64, error) {
	return io.CopyBuffer(discard{}, r, make([]byte, 256<<10))
}

// SetPath is "HOST/SET", how sets are named on the command line.
func (si SetInfo) SetPath() string { return filepath.Join(si.Host, si.Name) }
