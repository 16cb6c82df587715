package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Fanout copies one stream to several consumers at once, through the admin
// machine's memory only: each consumer gets a pipe fed by its own goroutine
// from a bounded queue of chunks, so the stream is never stored whole. The
// slowest live consumer sets the pace; a consumer that fails or leaves is
// dropped and never blocks the others.
type Fanout struct {
	names  []string
	chunk  int
	queue  int
	mu     sync.Mutex
	seats  map[string]*seat
	joined chan struct{} // closed when every name joined or left
	left   int
}

type seat struct {
	name   string
	ch     chan []byte
	pr     *io.PipeReader
	pw     *io.PipeWriter
	joined bool
	gone   chan struct{} // closed when the consumer stopped reading
	once   sync.Once
}

// NewFanout prepares a fan-out to the named consumers. Up to queue chunks of
// chunk bytes wait for each consumer.
func NewFanout(names []string, chunk, queue int) *Fanout {
	f := &Fanout{names: names, chunk: chunk, queue: queue, seats: map[string]*seat{}, joined: make(chan struct{})}
	for _, n := range names {
		pr, pw := io.Pipe()
		f.seats[n] = &seat{name: n, ch: make(chan []byte, queue), pr: pr, pw: pw, gone: make(chan struct{})}
	}
	if len(names) == 0 {
		close(f.joined)
	}
	return f
}

// Join returns the named consumer's stream. Closing it leaves the fan-out.
func (f *Fanout) Join(name string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.seats[name]
	if !ok || s.joined {
		return nil, fmt.Errorf("fan-out: %s cannot join", name)
	}
	s.joined = true
	f.arrived()
	return leaver{s}, nil
}

// Leave says a consumer will never join (its host could not be reached).
func (f *Fanout) Leave(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.seats[name]; ok && !s.joined {
		s.joined = true
		s.stop(errors.New("left before joining"))
		f.arrived()
	}
}

func (f *Fanout) arrived() {
	f.left++
	if f.left == len(f.names) {
		close(f.joined)
	}
}

type leaver struct{ s *seat }

func (l leaver) Read(p []byte) (int, error) { return l.s.pr.Read(p) }
func (l leaver) Close() error {
	l.s.stop(errors.New("consumer closed its stream"))
	return nil
}

func (s *seat) stop(err error) {
	s.once.Do(func() {
		s.pr.CloseWithError(err)
		close(s.gone)
	})
}

// Run waits until every consumer joined or left, then copies src to all of
// them and closes their streams: with EOF when src ended, with src's error
// otherwise. It returns the bytes read from src.
func (f *Fanout) Run(ctx context.Context, src io.Reader) (int64, error) {
	select {
	case <-f.joined:
	case <-ctx.Done():
		f.closeAll(ctx.Err())
		return 0, ctx.Err()
	}
	// Ctrl-C unblocks every pipe at once.
	stop := context.AfterFunc(ctx, func() {
		for _, s := range f.seats {
			s.stop(ctx.Err())
		}
	})
	defer stop()
	var wg sync.WaitGroup
	for _, s := range f.seats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range s.ch {
				if _, err := s.pw.Write(b); err != nil {
					s.stop(err)
					// Drain the queue so the reader loop never blocks on a dead consumer.
					for range s.ch {
					}
					return
				}
			}
		}()
	}
	var total int64
	var srcErr error
	for {
		buf := make([]byte, f.chunk) // shared read-only by every consumer: a fresh one per chunk
		n, err := io.ReadFull(src, buf)
		if n > 0 {
			total += int64(n)
			live := f.send(ctx, buf[:n])
			if live == 0 {
				srcErr = ctx.Err()
				if srcErr == nil {
					srcErr = errors.New("every target left the relay")
				}
				break
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			srcErr = err
			break
		}
		if ctx.Err() != nil {
			srcErr = ctx.Err()
			break
		}
	}
	for _, s := range f.seats {
		close(s.ch)
	}
	wg.Wait()
	f.closeAll(srcErr)
	return total, srcErr
}

// send queues b for every live consumer and returns how many are live.
func (f *Fanout) send(ctx context.Context, b []byte) int {
	live := 0
	for _, s := range f.seats {
		select {
		case <-s.gone:
			continue
		default:
		}
		select {
		case s.ch <- b:
			live++
		case <-s.gone:
		case <-ctx.Done():
			return 0
		}
	}
	return live
}

func (f *Fanout) closeAll(err error) {
	for _, s := range f.seats {
		if err == nil {
			s.pw.Close()
		} else {
			s.pw.CloseWithError(err)
		}
	}
}
