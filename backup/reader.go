package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// ErrNoIdentity: the set is encrypted and no identity was given.
var ErrNoIdentity = errors.New("the set is encrypted and no age identity was given")

// ItemReader streams an item's raw content back: the stored file, decrypted
// when the set is encrypted, decompressed. Check after reading to the end
// tells whether every byte matched the manifest.
type ItemReader struct {
	item   Item
	path   string
	file   *os.File
	stored *countingHash
	raw    *countingHash
	zr     *zstd.Decoder
	r      io.Reader
}

// OpenItem opens an item of the set in dir for reading.
func OpenItem(dir string, m *Manifest, it Item, ids []age.Identity) (*ItemReader, error) {
	path := filepath.Join(dir, it.File)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ir := &ItemReader{item: it, path: path, file: f, stored: newCountingHash(nil), raw: newCountingHash(nil)}
	var compressed io.Reader = io.TeeReader(f, ir.stored)
	if m.Encrypted {
		if len(ids) == 0 {
			f.Close()
			return nil, ErrNoIdentity
		}
		compressed, err = age.Decrypt(compressed, ids...)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: decrypting: %w", it.File, err)
		}
	}
	ir.zr, err = zstd.NewReader(compressed, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", it.File, err)
	}
	ir.r = io.TeeReader(ir.zr, ir.raw)
	return ir, nil
}

// Read returns raw bytes.
func (ir *ItemReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", ir.item.File, err)
	}
	return n, err
}

// Check reads what is left of the stored file and compares sizes and
// checksums with the manifest. Call it after Read returned io.EOF.
func (ir *ItemReader) Check() error {
	if _, err := io.Copy(ir.stored, ir.file); err != nil {
		return fmt.Errorf("%s: %w", ir.item.File, err)
	}
	it := ir.item
	switch {
	case ir.stored.n != it.Size:
		return fmt.Errorf("%s: %d bytes stored, the manifest says %d", it.File, ir.stored.n, it.Size)
	case ir.stored.sum() != it.SHA256:
		return fmt.Errorf("%s: sha256 %s, the manifest says %s", it.File, ir.stored.sum(), it.SHA256)
	case ir.raw.n != it.RawSize:
		return fmt.Errorf("%s: %d bytes after decompression, the manifest says %d", it.File, ir.raw.n, it.RawSize)
	case it.RawSHA256 != "" && ir.raw.sum() != it.RawSHA256:
		return fmt.Errorf("%s: content sha256 %s, the manifest says %s", it.File, ir.raw.sum(), it.RawSHA256)
	}
	return nil
}

// Close releases the file and the decoder.
func (ir *ItemReader) Close() error {
	ir.zr.Close()
	return ir.file.Close()
}

// CheckStored hashes the stored file alone, without decrypting: it is what
// restore does before it sends anything to a host.
func CheckStored(dir string, it Item) error {
	f, err := os.Open(filepath.Join(dir, it.File))
	if err != nil {
		return err
	}
	defer f.Close()
	h := newCountingHash(nil)
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%s: %w", it.File, err)
	}
	if h.n != it.Size || h.sum() != it.SHA256 {
		return fmt.Errorf("%s: damaged: sha256 %s (%d bytes), the manifest says %s (%d bytes)", it.File, h.sum(), h.n, it.SHA256, it.Size)
	}
	return nil
}
