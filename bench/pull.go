package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"flotilla/internal/lab"
)

const (
	targetPull   = 1.15 // within 1.15x of docker pull on the engine's own socket
	pullImageMiB = 50
	noAuth       = "e30=" // base64("{}"): the lab registry takes no auth
)

// PullCase is case 2: `flotilla pull` of a ~50 MiB image onto one host per
// engine (distinct engines, so every pull really transfers), the image
// removed before each run, against `docker pull` on each engine's local
// socket in parallel: the engine's own work, the floor.
func PullCase(ctx context.Context, e *Env) (Case, error) {
	n := len(e.Lab.Engines)
	c := Case{Group: "pull", Name: fmt.Sprintf("pull %d MiB N=%d", pullImageMiB, n), N: n, Forks: n}
	if !e.Available(ctx, "pull") {
		c.Unavailable = notAvailable
		return c, nil
	}
	if e.Lab.Registry == "" {
		return c, errors.New("pull case: the lab has no registry")
	}
	ref := e.Lab.Registry + "/bench/big:1"
	if err := pushBigImage(ctx, e, ref); err != nil {
		return c, fmt.Errorf("pull case: %w", err)
	}
	inv, err := e.Inventory(fmt.Sprintf("pull-%d", n), n, "") // hosts 1..n map onto engines 0..n-1
	if err != nil {
		return c, err
	}
	var sockets strings.Builder
	for _, en := range e.Lab.Engines {
		sockets.WriteString("unix://" + en.Socket + "\n")
	}
	remove := func(ctx context.Context) error { return removeImage(ctx, e, ref) }
	c.Subject = Variant{Tool: "flotilla", Prepare: remove,
		Cmd: Command{Argv: []string{e.Flotilla, "-i", inv, "-f", fmt.Sprint(n), "pull", ref}}}
	c.Refs = []Variant{{Tool: "docker pull (local)", Prepare: remove, Target: targetPull, Cmd: Command{
		Argv:  []string{"xargs", "-P", fmt.Sprint(n), "-I{}", e.Docker, "-H", "{}", "pull", "-q", ref},
		Stdin: sockets.String(), Env: e.refEnv()}}}
	return c, nil
}

// pushBigImage imports an image whose one layer is pullImageMiB of random
// bytes (incompressible: the registry transfer is the real size) on engine 0,
// pushes it, and leaves it nowhere else.
func pushBigImage(ctx context.Context, e *Env, ref string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := make([]byte, pullImageMiB<<20)
	rng := rand.NewChaCha8([32]byte{'f', 'l', 'o', 't', 'i', 'l', 'l', 'a'})
	_, _ = rng.Read(data)
	if err := tw.WriteHeader(&tar.Header{Name: "blob", Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	c, err := e.Lab.Engines[0].Client()
	if err != nil {
		return err
	}
	defer c.Close()
	rc, err := c.ImageImport(ctx, client.ImageImportSource{Source: &buf, SourceName: "-"}, ref, client.ImageImportOptions{})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	err = lab.JSONStreamError(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	push, err := c.ImagePush(ctx, ref, client.ImagePushOptions{RegistryAuth: noAuth})
	if err == nil {
		err = push.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return removeImage(ctx, e, ref)
}

// removeImage removes ref from every engine (absent is fine).
func removeImage(ctx context.Context, e *Env, ref string) error {
	for _, en := range e.Lab.Engines {
		c, err := en.Client()
		if err != nil {
			return err
		}
		_, err = c.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
		c.Close()
		if err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("engine %s: remove %s: %w", en.Name, ref, err)
		}
	}
	return nil
}
