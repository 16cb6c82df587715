package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tarNames reads a tar stream and returns its member names.
func tarNames(t *testing.T, r io.Reader) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	tr := tar.NewReader(r)
	for i := 0; i < 100000; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names[h.Name] = true
	}
	t.Fatal("tar has too many entries")
	return nil
}
