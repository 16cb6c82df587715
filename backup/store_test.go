package backup

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func tarOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return buf.Bytes()
}

func writeSet(t *testing.T, s *Store, host string, opts Options, now time.Time, items map[string][]byte) *SetWriter {
	t.Helper()
	w, err := s.Begin(host, opts, Engine{Version: "test"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range items {
		kind := KindDump
		if strings.HasPrefix(name, "v") {
			kind = KindVolume
		}
		iw, err := w.Create(kind, name, Source{})
		if err != nil {
			t.Fatal(err)
		}
		// Small writes: the stream arrives in pieces.
		for p := data; len(p) > 0; {
			n := min(len(p), 1000)
			if _, err := iw.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if _, err := iw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func TestSetRoundTripVerifyAndDamage(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "age"}[encrypted], func(t *testing.T) {
			s := &Store{Dir: t.TempDir()}
			opts := Options{ZstdLevel: 3}
			var ids []age.Identity
			if encrypted {
				id, _ := age.GenerateX25519Identity()
				ids = []age.Identity{id}
				opts.Recipients = []age.Recipient{id.Recipient()}
				opts.RecipientKeys = []string{id.Recipient().String()}
			}
			payload := bytes.Repeat([]byte("dump line\n"), 5000)
			vol := tarOf(t, map[string]string{"a": "alpha", "b/c": strings.Repeat("x", 70000)})
			w := writeSet(t, s, "h1", opts, time.Unix(1700000000, 0), map[string][]byte{"db": payload, "vol1": vol})
			if _, err := os.Stat(w.Path()); err == nil {
				t.Fatal("set has its final name before Commit")
			}
			m, err := w.Commit(time.Unix(1700000001, 0))
			if err != nil {
				t.Fatal(err)
			}
			it, _ := m.Item(KindVolume, "vol1")
			if it.Entries != 2 || it.RawSize != int64(len(vol)) {
				t.Fatalf("volume item %+v: want 2 entries, %d raw bytes", it, len(vol))
			}
			sets, _ := s.Sets("h1")
			if len(sets) != 1 || sets[0].Partial || sets[0].Name != "20231114T221320Z" {
				t.Fatalf("sets %+v", sets)
			}
			for _, fc := range Verify(sets[0], ids) {
				if !fc.OK {
					t.Fatalf("fresh set fails verify: %+v", fc)
				}
			}
			// The dump reads back as exactly what went in.
			d, _ := m.Item(KindDump, "db")
			ir, err := OpenItem(sets[0].Path, m, d, ids)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(ir)
			if !bytes.Equal(got, payload) || ir.Check() != nil {
				t.Fatalf("dump reads back %d bytes, check %v", len(got), ir.Check())
			}
			ir.Close()

			// One flipped byte in the middle of the volume file.
			p := filepath.Join(sets[0].Path, it.File)
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 0x01
			os.WriteFile(p, b, 0o600)
			bad := 0
			for _, fc := range Verify(sets[0], ids) {
				if !fc.OK {
					bad++
					if fc.File != it.File {
						t.Errorf("damage reported in %s, the flipped byte is in %s", fc.File, it.File)
					}
				}
			}
			if bad != 1 {
				t.Fatalf("%d files reported damaged, want 1", bad)
			}
		})
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	w, err := s.Begin("h1", Options{ZstdLevel: 1}, Engine{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	iw, _ := w.Create(KindVolume, "v", Source{})
	iw.Write([]byte("not a tar header, clearly"))
	iw.Abort(nil)
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.Dir, "h1"))
	if len(ents) != 0 {
		t.Fatalf("abort left %v", ents)
	}
}

func TestBrokenTarIsAnError(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	w, _ := s.Begin("h1", Options{ZstdLevel: 1}, Engine{}, time.Now())
	iw, _ := w.Create(KindPath, "p", Source{})
	tr := tarOf(t, map[string]string{"f": strings.Repeat("y", 5000)})
	iw.Write(tr[:3000]) // cut inside the file's data
	if _, err := iw.Close(); err == nil {
		t.Fatal("a truncated tar was accepted")
	}
	w.Abort()
}

func TestPrunePlan(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	base := time.Unix(1700000000, 0)
	for i := range 5 {
		w := writeSet(t, s, "h1", Options{ZstdLevel: 1}, base.Add(time.Duration(i)*time.Hour), map[string][]byte{"d": []byte("x")})
		w.Commit(time.Now())
	}
	// Two sets in the same second, and two partials.
	for range 2 {
		w := writeSet(t, s, "h1", Options{ZstdLevel: 1}, base.Add(10*time.Hour), map[string][]byte{"d": []byte("x")})
		w.Commit(time.Now())
	}
	writeSet(t, s, "h1", Options{ZstdLevel: 1}, base.Add(11*time.Hour), nil)
	writeSet(t, s, "h1", Options{ZstdLevel: 1}, base.Add(-time.Hour), nil)
	p, err := s.PlanPrune("h1", 3, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, si := range p.Keep {
		keep = append(keep, si.Name)
	}
	want := []string{"20231115T021320Z", "20231115T081320Z", "20231115T081320Z-2"}
	if strings.Join(keep, " ") != strings.Join(want, " ") || len(p.Remove) != 4 || len(p.Partials) != 2 {
		t.Fatalf("keep %v (want %v), remove %d (want 4), partials %d (want 2)", keep, want, len(p.Remove), len(p.Partials))
	}
	for _, si := range p.Remove {
		if err := s.Remove(si); err != nil {
			t.Fatal(err)
		}
	}
	sets, _ := s.Sets("h1")
	if got := len(Complete(sets)); got != 3 {
		t.Fatalf("%d complete sets after prune, want 3", got)
	}
	if _, err := s.PlanPrune("h1", 0, 0, time.Now()); err == nil {
		t.Fatal("keep 0 accepted")
	}
	p, _ = s.PlanPrune("h1", 1, time.Nanosecond, time.Now().Add(time.Hour))
	if len(p.Remove) != 4 || len(p.Keep) != 1 {
		t.Fatalf("stale partials: remove %d (want 2 sets + 2 partials), keep %d", len(p.Remove), len(p.Keep))
	}
}
