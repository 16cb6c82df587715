package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// Options say how a set's files are stored.
type Options struct {
	ZstdLevel  int             // 1..19, mapped to the nearest klauspost level
	Recipients []age.Recipient // none: not encrypted
	// RecipientKeys are the recipients as written, recorded in the manifest.
	RecipientKeys []string
}

// SetWriter writes one set under its partial name. Nothing it writes looks
// complete until Commit renames the directory; Abort removes it.
type SetWriter struct {
	opts    Options
	host    string
	name    string
	partial string
	final   string

	mu       sync.Mutex
	manifest Manifest
	closed   bool
}

// Begin reserves a new partial set for host.
func (s *Store) Begin(host string, opts Options, engine Engine, now time.Time) (*SetWriter, error) {
	name, partial, err := s.newSetDir(host, now)
	if err != nil {
		return nil, fmt.Errorf("creating backup set: %w", err)
	}
	return &SetWriter{
		opts: opts, host: host, name: name, partial: partial,
		final: filepath.Join(s.Dir, host, name),
		manifest: Manifest{
			Version: ManifestVersion, Host: host, Set: name, Started: now.UTC(), Engine: engine,
			Encrypted: len(opts.Recipients) > 0, Recipients: opts.RecipientKeys,
			ZstdLevel: opts.ZstdLevel, Items: []Item{},
		},
	}, nil
}

// Name is the set's final name (its timestamp).
func (w *SetWriter) Name() string { return w.name }

// Path is where the set will be once committed.
func (w *SetWriter) Path() string { return w.final }

// FileName is the name of an item's file in the set.
func FileName(kind Kind, name string, encrypted bool) string {
	f := string(kind) + "-" + name
	if kind.IsTar() {
		f += ".tar"
	}
	f += ".zst"
	if encrypted {
		f += ".age"
	}
	return f
}

// ItemWriter receives one item's raw bytes. Close finishes and records it;
// Abort discards it. Exactly one of them must be called.
type ItemWriter struct {
	set   *SetWriter
	item  Item
	start time.Time
	tmp   string
	final string

	file   *os.File
	stored *countingHash // the bytes on disk
	crypt  io.WriteCloser
	zw     *zstd.Encoder
	raw    *countingHash // the bytes before compression

	// Tar items are walked while they stream: raw bytes go through a pipe
	// to a tar reader, which counts entries and rejects a broken archive.
	pw      *io.PipeWriter
	walkErr chan error
	entries int

	in   io.Writer // where Write sends bytes
	done bool
}

// Create starts an item. The file is written as NAME.tmp inside the partial
// set and renamed to NAME once complete and fsynced.
func (w *SetWriter) Create(kind Kind, name string, src Source) (*ItemWriter, error) {
	file := FileName(kind, name, w.manifest.Encrypted)
	iw := &ItemWriter{
		set:   w,
		item:  Item{File: file, Kind: kind, Name: name, Source: src},
		start: time.Now(),
		final: filepath.Join(w.partial, file),
	}
	iw.tmp = iw.final + ".tmp"
	f, err := os.OpenFile(iw.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	iw.file = f
	iw.stored = newCountingHash(f)
	var compressedDst io.Writer = iw.stored
	if len(w.opts.Recipients) > 0 {
		iw.crypt, err = age.Encrypt(iw.stored, w.opts.Recipients...)
		if err != nil {
			iw.cleanup()
			return nil, fmt.Errorf("age: %w", err)
		}
		compressedDst = iw.crypt
	}
	iw.zw, err = zstd.NewWriter(compressedDst,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(w.opts.ZstdLevel)),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)),
		zstd.WithEncoderCRC(true))
	if err != nil {
		iw.cleanup()
		return nil, err
	}
	iw.raw = newCountingHash(iw.zw)
	iw.in = iw.raw
	if kind.IsTar() {
		pr, pw := io.Pipe()
		iw.pw, iw.walkErr, iw.in = pw, make(chan error, 1), pw
		go func() {
			n, err := walkTar(io.TeeReader(pr, iw.raw))
			iw.entries = n
			pr.CloseWithError(err) // unblocks the producer when the walk failed
			iw.walkErr <- err
		}()
	}
	return iw, nil
}

// Write passes raw bytes on to compression.
func (iw *ItemWriter) Write(p []byte) (int, error) { return iw.in.Write(p) }

// RawBytes is how many raw bytes were written so far.
func (iw *ItemWriter) RawBytes() int64 { return iw.raw.n }

// Close completes the item: compression and encryption flushed, the file
// fsynced, closed and renamed, the item added to the manifest.
func (iw *ItemWriter) Close() (Item, error) {
	if iw.done {
		return Item{}, errors.New("item already closed")
	}
	err := iw.finish()
	if err != nil {
		iw.zw.Close() // frees the encoder's goroutines; the file is removed anyway
		iw.cleanup()
		return Item{}, err
	}
	iw.done = true
	it := iw.item
	it.SHA256 = iw.stored.sum()
	it.Size = iw.stored.n
	it.RawSHA256 = iw.raw.sum()
	it.RawSize = iw.raw.n
	it.Entries = iw.entries
	it.Started = iw.start.UTC()
	it.DurationMS = float64(time.Since(iw.start).Microseconds()) / 1000
	iw.set.mu.Lock()
	iw.set.manifest.Items = append(iw.set.manifest.Items, it)
	iw.set.mu.Unlock()
	return it, nil
}

func (iw *ItemWriter) finish() error {
	if iw.pw != nil {
		iw.pw.Close()
		if err := <-iw.walkErr; err != nil {
			return fmt.Errorf("%s: not a valid tar stream: %w", iw.item.File, err)
		}
	}
	if err := iw.zw.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", iw.tmp, err)
	}
	if iw.crypt != nil {
		if err := iw.crypt.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", iw.tmp, err)
		}
	}
	if err := iw.file.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", iw.tmp, err)
	}
	err := iw.file.Close()
	iw.file = nil
	if err != nil {
		return fmt.Errorf("closing %s: %w", iw.tmp, err)
	}
	// The byte count is checked against what the file holds, as restic does.
	if fi, err := os.Stat(iw.tmp); err != nil {
		return err
	} else if fi.Size() != iw.stored.n {
		return fmt.Errorf("%s: wrote %d bytes but the file holds %d", iw.tmp, iw.stored.n, fi.Size())
	}
	return os.Rename(iw.tmp, iw.final)
}

// Abort discards the item; err, when not nil, is what made the producer
// stop and is passed to a waiting tar walk.
func (iw *ItemWriter) Abort(err error) {
	if iw.done {
		return
	}
	iw.done = true
	if err == nil {
		err = errors.New("aborted")
	}
	if iw.pw != nil {
		iw.pw.CloseWithError(err)
		<-iw.walkErr
	}
	iw.zw.Close() // frees the encoder's goroutines; the file is removed anyway
	iw.cleanup()
}

func (iw *ItemWriter) cleanup() {
	if iw.file != nil {
		iw.file.Close()
		iw.file = nil
	}
	os.Remove(iw.tmp)
}

// Commit writes the manifest and renames the set to its final name, with
// the fsyncs that make the rename the moment the set becomes complete.
func (w *SetWriter) Commit(now time.Time) (*Manifest, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errors.New("set already closed")
	}
	w.manifest.Finished = now.UTC()
	b, err := json.MarshalIndent(w.manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(w.partial, ManifestName), append(b, '\n')); err != nil {
		return nil, err
	}
	if err := syncDir(w.partial); err != nil {
		return nil, err
	}
	if err := os.Rename(w.partial, w.final); err != nil {
		return nil, err
	}
	w.closed = true
	if err := syncDir(filepath.Dir(w.final)); err != nil {
		return nil, err
	}
	m := w.manifest
	return &m, nil
}

// Abort removes the partial set. A set already committed is left alone.
func (w *SetWriter) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return os.RemoveAll(w.partial)
}

// writeFileSync writes a new file under a temporary name, fsyncs it and
// renames it into place.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// countingHash counts and hashes what passes through to w (w may be nil).
type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newCountingHash(w io.Writer) *countingHash { return &countingHash{w: w, h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	if c.w != nil {
		n, err := c.w.Write(p)
		c.h.Write(p[:n])
		c.n += int64(n)
		return n, err
	}
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

func (c *countingHash) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// walkTar reads a tar stream to its very end and counts its entries.
// Whatever follows the end-of-archive marker (record padding) is read too,
// so every byte reaches the tee.
func walkTar(r io.Reader) (int, error) {
	tr := tar.NewReader(r)
	buf := make([]byte, 256<<10) // large reads: fewer hand-offs through the pipe
	n := 0
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		n++
		if _, err := io.CopyBuffer(discard{}, tr, buf); err != nil {
			return n, err
		}
	}
	_, err := io.CopyBuffer(discard{}, r, buf)
	return n, err
}

// discard is io.Discard without ReadFrom, so io.CopyBuffer uses our buffer.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
