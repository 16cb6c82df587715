package tasks

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// slowReader reads in small steps with a pause, like a target engine that
// takes the stream slower than the others.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.Read(p[:min(len(p), 4096)])
}

func TestFanoutSlowAndFailingConsumers(t *testing.T) {
	data := make([]byte, 3<<20+123) // not a multiple of the chunk size
	rand.Read(data)
	want := sha256.Sum256(data)

	f := NewFanout([]string{"fast", "slow", "dies", "absent"}, 64<<10, 4)
	f.Leave("absent") // e.g. its host was unreachable: it must not hold the others
	var wg sync.WaitGroup
	got := map[string][32]byte{}
	var mu sync.Mutex
	for _, name := range []string{"fast", "slow", "dies"} {
		rc, err := f.Join(name)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer rc.Close()
			var r io.Reader = rc
			switch name {
			case "slow":
				r = slowReader{rc}
			case "dies": // reads a little, then its engine fails
				io.CopyN(io.Discard, rc, 100<<10)
				return
			}
			h := sha256.New()
			if _, err := io.Copy(h, r); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			mu.Lock()
			got[name] = sum
			mu.Unlock()
		}()
	}
	n, err := f.Run(context.Background(), bytes.NewReader(data))
	wg.Wait()
	if err != nil || n != int64(len(data)) {
		t.Fatalf("run: %d bytes, %v", n, err)
	}
	for _, name := range []string{"fast", "slow"} {
		if got[name] != want {
			t.Errorf("%s got different bytes", name)
		}
	}
	if _, err := f.Join("fast"); err == nil {
		t.Error("joining twice should fail")
	}
}

func TestFanoutSourceErrorReachesConsumers(t *testing.T) {
	f := NewFanout([]string{"a", "b"}, 1024, 2)
	boom := errors.New("source engine went away")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"a", "b"} {
		rc, _ := f.Join(name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = io.Copy(io.Discard, rc)
		}()
	}
	src := io.MultiReader(bytes.NewReader(make([]byte, 10000)), iotestErrReader{boom})
	if _, err := f.Run(context.Background(), src); !errors.Is(err, boom) {
		t.Errorf("run: %v, want the source's error", err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Errorf("consumer %d: %v, want the source's error rather than a clean end", i, err)
		}
	}
}

func TestFanoutCancelUnblocks(t *testing.T) {
	f := NewFanout([]string{"stuck"}, 1024, 1)
	if _, err := f.Join("stuck"); err != nil { // joins, never reads
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := f.Run(ctx, bytes.NewReader(make([]byte, 1<<20)))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled relay must say so, got %v", err)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }
