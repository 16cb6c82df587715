package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/moby/client"
)

const (
	targetBackup    = 1 / 0.9 // at least 0.9x the pipeline's throughput
	targetBackupRSS = 200.0   // MiB
	backupFileMiB   = 8
)

// BackupCase is case 3: `flotilla backup` of one volume of sizeMiB (half
// compressible text, half random) on host1, against `ssh HOST tar -C DIR
// -cf - . | zstd -T0 -3 > FILE`. Both outputs are removed before each run.
func BackupCase(ctx context.Context, e *Env, sizeMiB int) (Case, error) {
	name := "bench" + strconv.Itoa(sizeMiB)
	c := Case{Group: "backup", Name: fmt.Sprintf("backup %d MiB", sizeMiB), N: 1, Forks: 1}
	if !e.Available(ctx, "backup") {
		c.Unavailable = notAvailable
		return c, nil
	}
	h := e.Lab.Hosts[0]
	mount, err := fillVolume(ctx, e, name, sizeMiB)
	if err != nil {
		return c, fmt.Errorf("backup case: %w", err)
	}
	outDir := filepath.Join(e.Dir, "backups-"+name)
	inv, err := e.Inventory("backup-"+name, 1, fmt.Sprintf(
		"\n[backup]\ndir = %q\nkeep = 1\nzstd_level = 3\n\n[[backup.volume]]\nhosts = %q\nvolumes = [%q]\n",
		outDir, h.Name, name))
	if err != nil {
		return c, err
	}
	refOut := filepath.Join(e.Dir, "ref-"+name+".tar.zst")
	c.Subject = Variant{Tool: "flotilla",
		Prepare: func(context.Context) error { return os.RemoveAll(outDir) },
		Cmd:     Command{Argv: []string{e.Flotilla, "-i", inv, "backup"}}}
	pipeline := fmt.Sprintf("ssh -F %s %s tar -C %s -cf - . | zstd -T0 -3 -q -f -o %s", e.Lab.SSHConfig, h.Name, mount, refOut)
	c.Refs = []Variant{{Tool: "ssh|tar|zstd", Target: targetBackup,
		Prepare: func(context.Context) error { return removeIfExists(refOut) },
		Cmd:     Command{Argv: []string{"bash", "-o", "pipefail", "-c", pipeline}}}}
	c.Metrics = func(r *CaseResult) []Metric {
		mbps := func(wallMS float64) float64 {
			if wallMS <= 0 {
				return 0
			}
			return float64(sizeMiB) * (1 << 20) / 1e6 / (wallMS / 1000)
		}
		return []Metric{
			{Name: "flotilla throughput", Value: mbps(r.Subject.WallMS), Unit: "MB/s"},
			{Name: "ssh|tar|zstd throughput", Value: mbps(r.Refs[0].WallMS), Unit: "MB/s"},
			{Name: "flotilla peak rss", Value: r.Subject.MaxRSSMiB, Unit: "MiB",
				Target: "< 200", Met: Bool(r.Subject.MaxRSSMiB < targetBackupRSS)},
		}
	}
	return c, nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// fillVolume creates volume name on host1's engine and writes sizeMiB of
// files into its mount point (the lab runs on this machine): alternately a
// file of repetitive text (compresses well) and one of random bytes.
// Returns the mount point, which the tar reference reads.
func fillVolume(ctx context.Context, e *Env, name string, sizeMiB int) (string, error) {
	c, err := e.Lab.Hosts[0].Engine.Client()
	if err != nil {
		return "", err
	}
	defer c.Close()
	v, err := c.VolumeCreate(ctx, client.VolumeCreateOptions{Name: name})
	if err != nil {
		return "", fmt.Errorf("volume create: %w", err)
	}
	mount := v.Volume.Mountpoint
	rng := rand.New(rand.NewPCG(1, uint64(sizeMiB)))
	words := []string{"fleet ", "docker ", "engine ", "backup ", "volume ", "host ", "ssh ", "image ", "layer ", "zstd\n"}
	buf := make([]byte, 1<<20)
	for i := 0; i < sizeMiB/backupFileMiB; i++ {
		f, err := os.Create(filepath.Join(mount, fmt.Sprintf("f%04d", i)))
		if err != nil {
			return "", err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for mib := 0; mib < backupFileMiB; mib++ {
			if i%2 == 0 {
				for j := 0; j < len(buf); {
					j += copy(buf[j:], words[rng.IntN(len(words))])
				}
			} else {
				for j := 0; j+8 <= len(buf); j += 8 {
					x := rng.Uint64()
					for k := 0; k < 8; k++ {
						buf[j+k] = byte(x >> (8 * k))
					}
				}
			}
			if _, err := w.Write(buf); err != nil {
				f.Close()
				return "", err
			}
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
	}
	return mount, nil
}
