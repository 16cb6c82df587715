package backup

import (
	"archive/tar"
	"crypto/rand"
	"io"
	"testing"
	"time"
)

// BenchmarkWriteTar measures the store alone: a tar of random data through
// the tar walk, zstd and sha256 to disk.
func BenchmarkWriteTar(b *testing.B) {
	data := make([]byte, 64<<20)
	rand.Read(data)
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
		tw.Close()
		pw.Close()
	}()
	buf, _ := io.ReadAll(pr)
	b.SetBytes(int64(len(buf)))
	s := &Store{Dir: b.TempDir()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, _ := s.Begin("h", Options{ZstdLevel: 3}, Engine{}, time.Unix(int64(1700000000+i), 0))
		iw, _ := w.Create(KindVolume, "v", Source{})
		for p := buf; len(p) > 0; {
			n := min(len(p), 32<<10)
			iw.Write(p[:n])
			p = p[n:]
		}
		if _, err := iw.Close(); err != nil {
			b.Fatal(err)
		}
		w.Abort()
	}
}
