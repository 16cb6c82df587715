package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"flotilla/backup"
	"flotilla/internal/lab"
)

// backupDoc is -o json of backup and restore.
type backupDoc struct {
	Hosts []struct {
		Host   string `json:"host"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Set   string `json:"set"`
			Items []struct {
				Kind        string   `json:"kind"`
				Name        string   `json:"name"`
				File        string   `json:"file"`
				RawBytes    int64    `json:"raw_bytes"`
				StoredBytes int64    `json:"stored_bytes"`
				Entries     int      `json:"entries"`
				Seconds     float64  `json:"seconds"`
				MBPerSecond float64  `json:"mb_per_second"`
				Stopped     []string `json:"stopped"`
				Restarted   []string `json:"restarted"`
			} `json:"items"`
			Pruned []string `json:"pruned"`
		} `json:"data"`
	} `json:"hosts"`
}

func parseBackupDoc(t *testing.T, out string) backupDoc {
	t.Helper()
	var doc backupDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json output does not parse: %v\n%s", err, out)
	}
	return doc
}

// backupInventory writes the lab's inventory plus a [backup] table with
// dir and the given declarations.
func backupInventory(t *testing.T, l *lab.Lab, dir string, keep int, decls string) string {
	t.Helper()
	base, err := os.ReadFile(l.Inventory)
	if err != nil {
		t.Fatal(err)
	}
	inv := fmt.Sprintf("%s\n[backup]\ndir = %q\nkeep = %d\nzstd_level = 3\n\n%s\n", base, dir, keep, decls)
	path := filepath.Join(t.TempDir(), "inventory.toml")
	if err := os.WriteFile(path, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fingerprintScript prints every path of the volume at /v with its mode,
// type, owner, link target or content sha256: equal output, equal trees.
const fingerprintScript = `cd /v && busybox find . | busybox sort | while read -r f; do
  busybox stat -c '%n %a %F %u:%g' "$f"
  if [ -L "$f" ]; then echo "-> $(busybox readlink "$f")"; elif [ -f "$f" ]; then sha256sum "$f" | busybox cut -d' ' -f1; fi
done`

func fingerprint(t *testing.T, l *lab.Lab, e *lab.Engine, volume string) string {
	t.Helper()
	out, err := l.RunScript(context.Background(), e, map[string]string{volume: "/v"}, fingerprintScript)
	if err != nil {
		t.Fatalf("fingerprint of %s: %v", volume, err)
	}
	return out
}

// noHelpers fails when a flotilla helper container was left behind.
func noHelpers(t *testing.T, e *lab.Engine) {
	t.Helper()
	names, err := e.Containers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "flotilla-") {
			t.Errorf("helper container %s left on engine %s", n, e.Name)
		}
	}
}

// finalNames lists what in a host's store directory is neither a complete
// set nor named partial, and the complete sets.
func storeState(t *testing.T, dir, host string) (complete []string, partial []string) {
	t.Helper()
	sets, err := (&backup.Store{Dir: dir}).Sets(host)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if s.Partial {
			partial = append(partial, s.Name)
		} else {
			complete = append(complete, s.Name)
		}
	}
	return complete, partial
}

// TestLabBackup runs backups and restores through the CLI against a real
// two-host lab. Subtests run in order; the one that kills sshd comes last.
func TestLabBackup(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 2})
	ctx := context.Background()
	h1, h2 := l.Hosts[0], l.Hosts[1]
	e1 := h1.Engine

	t.Run("volume round trip: dirs, modes, symlink, empty and 110 MiB files", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		inv := backupInventory(t, l, store, 5, `
[[backup.volume]]
name = "data"
hosts = "host1"
volumes = ["data*", "!data-restored"]
`)
		if err := e1.CreateVolume(ctx, "data1"); err != nil {
			t.Fatal(err)
		}
		_, err := l.RunScript(ctx, e1, map[string]string{"data1": "/v"}, `set -e
cd /v
mkdir -p a/b/c "name with space"
echo hello > a/b/c/deep.txt
echo private > a/mode600 && busybox chmod 0600 a/mode600
echo run > a/tool && busybox chmod 0750 a/tool
busybox chmod 0711 a/b
busybox chmod 1777 a/b/c
busybox ln -s b/c/deep.txt a/link
busybox ln -s /nowhere dangling
: > empty
echo x > "name with space/f"
busybox chown 1234:4321 a/tool
dd if=/dev/urandom of=big bs=1M count=110 2>/dev/null
`)
		if err != nil {
			t.Fatal(err)
		}
		before := fingerprint(t, l, e1, "data1")
		if !strings.Contains(before, "./a/link 777 symbolic link") || !strings.Contains(before, "./a/mode600 600") {
			t.Fatalf("the fill script did not make the tree the test expects:\n%s", before)
		}

		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "backup")
		if code != ExitOK {
			t.Fatalf("backup: exit %d\n%s\n%s", code, errOut, out)
		}
		doc := parseBackupDoc(t, out)
		if len(doc.Hosts) != 1 || doc.Hosts[0].Host != "host1" || len(doc.Hosts[0].Data.Items) != 1 {
			t.Fatalf("want one host with one item, got %+v", doc.Hosts)
		}
		it := doc.Hosts[0].Data.Items[0]
		if it.Name != "data1" || it.RawBytes < 110<<20 || it.Entries < 12 || it.File != "volume-data1.tar.zst" {
			t.Fatalf("item %+v", it)
		}
		t.Logf("backup of a %d MiB volume: %.1f MB/s raw (%.2fs), stored %d bytes", it.RawBytes>>20, it.MBPerSecond, it.Seconds, it.StoredBytes)
		noHelpers(t, e1)

		if out, errOut, code := flotilla(t, "-i", inv, "backup", "verify"); code != ExitOK {
			t.Fatalf("verify of a fresh set: exit %d\n%s\n%s", code, out, errOut)
		}
		out, errOut, code = flotilla(t, "-i", inv, "-o", "json", "restore", "volume", "host1", "latest", "data1", "--to", "data-restored")
		if code != ExitOK {
			t.Fatalf("restore: exit %d\n%s\n%s", code, errOut, out)
		}
		if !strings.Contains(out, `"created": true`) {
			t.Errorf("restore into a new volume does not say it created it:\n%s", out)
		}
		after := fingerprint(t, l, e1, "data-restored")
		if after != before {
			t.Fatalf("restored volume differs from the original\noriginal:\n%s\nrestored:\n%s", before, after)
		}
		noHelpers(t, e1)

		// The original is not empty: refused without --force, nothing changed.
		_, errOut, code = flotilla(t, "-i", inv, "restore", "volume", "host1", "latest", "data1")
		if code != ExitFailed || !strings.Contains(errOut, "not empty") || !strings.Contains(errOut, "--force") {
			t.Fatalf("restore over a non-empty volume: exit %d, want 1 with a --force hint\n%s", code, errOut)
		}
		if out, errOut, code := flotilla(t, "-i", inv, "restore", "volume", "host1", "latest", "data1", "--force"); code != ExitOK {
			t.Fatalf("restore --force: exit %d\n%s\n%s", code, out, errOut)
		}
		if got := fingerprint(t, l, e1, "data1"); got != before {
			t.Fatalf("volume after restore --force differs:\n%s", got)
		}

		// One flipped byte: verify names the file, restore refuses the set.
		sets, _ := storeState(t, store, "host1")
		file := filepath.Join(store, "host1", sets[0], "volume-data1.tar.zst")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/3] ^= 0x40
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code = flotilla(t, "-i", inv, "backup", "verify", "host1/"+sets[0])
		if code != ExitFailed || !strings.Contains(errOut, "volume-data1.tar.zst") || !strings.Contains(out, "DAMAGED") {
			t.Fatalf("verify of a flipped byte: exit %d (want 1 naming the file)\n%s\n%s", code, out, errOut)
		}
		_, errOut, code = flotilla(t, "-i", inv, "restore", "volume", "host1", sets[0], "data1", "--to", "data-from-damaged")
		if code != ExitFailed || !strings.Contains(errOut, "damaged") {
			t.Fatalf("restore of a damaged file: exit %d\n%s", code, errOut)
		}
	})

	t.Run("dump through exec: password on stdin only, payload exact, failures carry stderr", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		const password = "pw-7f3a9c1e-never-in-argv"
		if err := e1.CreateVolume(ctx, "dbdata"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.StartContainer(ctx, e1, lab.ContainerSpec{
			Name: "db-1", Cmd: []string{"sleep", "3600"}, Env: []string{"EXPECTED=" + password},
			Labels:  map[string]string{"com.docker.compose.service": "db"},
			Volumes: map[string]string{"dbdata": "/data"},
		}); err != nil {
			t.Fatal(err)
		}
		inv := backupInventory(t, l, store, 5, `
[[backup.dump]]
name = "db"
hosts = "host1"
service = "db"
command = ["sh", "-c", "read -r pw; if [ \"$pw\" = \"$EXPECTED\" ]; then i=0; while [ $i -lt 20000 ]; do echo \"row $i of the payload\"; i=$((i+1)); done; else echo 'auth failed for user backup' >&2; exit 3; fi"]
stdin_secret_env = "FLOTILLA_TEST_DB_PASSWORD"
restore_command = ["sh", "-c", "cat > /data/restored"]
`)
		var payload bytes.Buffer
		for i := range 20000 {
			fmt.Fprintf(&payload, "row %d of the payload\n", i)
		}

		// Watch every process's argv while backups run.
		var seenIn atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				if where := argvContaining(password); where != "" {
					seenIn.Store(where)
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()

		t.Setenv("FLOTILLA_TEST_DB_PASSWORD", password)
		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "backup")
		if code != ExitOK {
			t.Fatalf("dump backup: exit %d\n%s\n%s", code, errOut, out)
		}
		doc := parseBackupDoc(t, out)
		set := doc.Hosts[0].Data.Set
		dir := filepath.Join(store, "host1", set)
		m, err := backup.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		item, ok := m.Item(backup.KindDump, "db")
		if !ok || item.File != "dump-db.zst" || item.Source.Container != "db-1" {
			t.Fatalf("manifest items %+v", m.Items)
		}
		ir, err := backup.OpenItem(dir, m, item, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(ir)
		ir.Close()
		if err != nil || !bytes.Equal(got, payload.Bytes()) {
			t.Fatalf("stored dump decompresses to %d bytes (err %v), want the %d-byte payload", len(got), err, payload.Len())
		}

		// The restore command gets the dump on stdin.
		if out, errOut, code := flotilla(t, "-i", inv, "restore", "dump", "host1", set, "db"); code != ExitOK {
			t.Fatalf("restore dump: exit %d\n%s\n%s", code, out, errOut)
		}
		sum, err := l.RunScript(ctx, e1, map[string]string{"dbdata": "/d"}, "sha256sum < /d/restored")
		if err != nil {
			t.Fatal(err)
		}
		if want := sha256Hex(payload.Bytes()); !strings.HasPrefix(sum, want) {
			t.Fatalf("restored dump sha256 %s, want %s", sum, want)
		}

		// A wrong password: the command's stderr is the error, no set is written.
		t.Setenv("FLOTILLA_TEST_DB_PASSWORD", "wrong-"+password)
		out2, errOut2, code := flotilla(t, "-i", inv, "backup")
		if code != ExitFailed || !strings.Contains(out2+errOut2, "auth failed for user backup") || !strings.Contains(out2+errOut2, "status 3") {
			t.Fatalf("wrong password: exit %d, want 1 with the command's stderr\n%s\n%s", code, out2, errOut2)
		}
		complete, partial := storeState(t, store, "host1")
		if len(complete) != 1 || len(partial) != 0 {
			t.Fatalf("after a failed dump: complete %v partial %v, want only the first set", complete, partial)
		}
		close(stop)
		wg.Wait()

		if where, _ := seenIn.Load().(string); where != "" {
			t.Errorf("the password was in the argv of %s", where)
		}
		manifest, _ := os.ReadFile(filepath.Join(dir, backup.ManifestName))
		for name, text := range map[string]string{"stdout": out + out2, "stderr": errOut + errOut2, "manifest": string(manifest)} {
			if strings.Contains(text, password) {
				t.Errorf("the password appears in %s", name)
			}
		}
		if logs := grepDir(t, l.Dir, password); logs != "" {
			t.Errorf("the password appears in lab files: %s", logs)
		}
	})

	t.Run("stop_containers restarts them, also when the backup fails on a full disk", func(t *testing.T) {
		if err := e1.CreateVolume(ctx, "appdata"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RunScript(ctx, e1, map[string]string{"appdata": "/v"},
			"dd if=/dev/urandom of=/v/blob bs=1M count=16 2>/dev/null"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.StartContainer(ctx, e1, lab.ContainerSpec{Name: "app", Cmd: []string{"sleep", "3600"},
			Volumes: map[string]string{"appdata": "/srv"}}); err != nil {
			t.Fatal(err)
		}
		decl := `
[[backup.volume]]
name = "app"
hosts = "host1"
volumes = ["appdata"]
stop_containers = true
`
		store := filepath.Join(t.TempDir(), "store")
		out, errOut, code := flotilla(t, "-i", backupInventory(t, l, store, 5, decl), "-o", "json", "backup")
		if code != ExitOK {
			t.Fatalf("backup: exit %d\n%s\n%s", code, errOut, out)
		}
		it := parseBackupDoc(t, out).Hosts[0].Data.Items[0]
		if strings.Join(it.Stopped, ",") != "app" || strings.Join(it.Restarted, ",") != "app" {
			t.Fatalf("stopped %v restarted %v, want app and app", it.Stopped, it.Restarted)
		}
		if running, err := e1.ContainerRunning(ctx, "app"); err != nil || !running {
			t.Fatalf("app is not running after the backup (err %v)", err)
		}

		// A 4 MiB tmpfs cannot hold 16 MiB of random data.
		small := filepath.Join(t.TempDir(), "small")
		if err := os.MkdirAll(small, 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small).CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Cleanup(func() { _ = syscall.Unmount(small, syscall.MNT_DETACH) })
		out, errOut, code = flotilla(t, "-i", backupInventory(t, l, small, 5, decl), "backup")
		if code != ExitFailed || !strings.Contains(out+errOut, "no space left on device") {
			t.Fatalf("full disk: exit %d, want 1 saying no space left\n%s\n%s", code, out, errOut)
		}
		if !strings.Contains(out+errOut, "stopped app; started again: app") {
			t.Errorf("the failure does not report the stop and the restart:\n%s%s", out, errOut)
		}
		if running, err := e1.ContainerRunning(ctx, "app"); err != nil || !running {
			t.Fatalf("app is not running after the failed backup (err %v)", err)
		}
		var left []string
		filepath.Walk(small, func(p string, fi os.FileInfo, err error) error {
			if err == nil && p != small {
				left = append(left, strings.TrimPrefix(p, small+"/"))
			}
			return nil
		})
		if len(left) > 1 || len(left) == 1 && left[0] != "host1" {
			t.Fatalf("a failed backup left %v on the full disk", left)
		}
		noHelpers(t, e1)
	})

	t.Run("keep and prune count complete sets per host, never partials", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		src := filepath.Join(t.TempDir(), "appdir")
		os.MkdirAll(filepath.Join(src, "skip"), 0o755)
		os.WriteFile(filepath.Join(src, "keep.txt"), []byte("kept\n"), 0o644)
		os.WriteFile(filepath.Join(src, "skip", "junk"), []byte("junk\n"), 0o644)
		inv := backupInventory(t, l, store, 2, fmt.Sprintf(`
[[backup.path]]
name = "app"
hosts = "all"
paths = [%q]
exclude = [%q]
`, src, filepath.Join(src, "skip")))
		stale := filepath.Join(store, "host1", "20200101T000000Z.partial")
		if err := os.MkdirAll(stale, 0o700); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			if out, errOut, code := flotilla(t, "-i", inv, "backup"); code != ExitOK {
				t.Fatalf("run %d: exit %d\n%s\n%s", i, code, out, errOut)
			}
		}
		for _, h := range []string{"host1", "host2"} {
			complete, partial := storeState(t, store, h)
			if len(complete) != 2 {
				t.Errorf("%s: %d complete sets after 4 runs with keep 2: %v", h, len(complete), complete)
			}
			if h == "host1" && len(partial) != 1 {
				t.Errorf("%s: partial sets %v, want the stale one left alone", h, partial)
			}
		}
		// Excludes hold.
		complete, _ := storeState(t, store, "host1")
		dir := filepath.Join(store, "host1", complete[1])
		m, _ := backup.ReadManifest(dir)
		ir, err := backup.OpenItem(dir, m, m.Items[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		names := tarNames(t, ir)
		ir.Close()
		rel := strings.TrimPrefix(src, "/")
		if !names[rel+"/keep.txt"] || names[rel+"/skip/junk"] || names[rel+"/skip/"] {
			t.Errorf("path archive holds %v: want keep.txt, not skip/", names)
		}

		out, _, code := flotilla(t, "-i", inv, "backup", "prune", "--keep", "1", "--dry-run")
		if code != ExitOK || strings.Count(out, "would remove") != 2 {
			t.Fatalf("dry run: exit %d, want 2 would-remove rows\n%s", code, out)
		}
		if c, _ := storeState(t, store, "host1"); len(c) != 2 {
			t.Fatalf("--dry-run removed sets")
		}
		if out, errOut, code := flotilla(t, "-i", inv, "backup", "prune", "--keep", "1"); code != ExitOK {
			t.Fatalf("prune: exit %d\n%s\n%s", code, out, errOut)
		}
		for _, h := range []string{"host1", "host2"} {
			complete, _ := storeState(t, store, h)
			if len(complete) != 1 {
				t.Errorf("%s: %d complete sets after prune --keep 1", h, len(complete))
			}
		}
		if _, err := os.Stat(stale); err != nil {
			t.Fatalf("prune without --partials-older-than removed a partial set: %v", err)
		}
		old := time.Now().Add(-48 * time.Hour)
		os.Chtimes(stale, old, old)
		if out, errOut, code := flotilla(t, "-i", inv, "backup", "prune", "--keep", "1", "--partials-older-than", "24h"); code != ExitOK {
			t.Fatalf("prune stale partials: exit %d\n%s\n%s", code, out, errOut)
		}
		if _, err := os.Stat(stale); err == nil {
			t.Fatalf("a stale partial set survived --partials-older-than 24h")
		}
		if _, _, code := flotilla(t, "-i", inv, "backup", "prune", "--keep", "0"); code != ExitUsage {
			t.Fatalf("--keep 0: exit %d, want 2", code)
		}
		out, _, _ = flotilla(t, "-i", inv, "backup", "list")
		if strings.Count(out, "complete") != 2 {
			t.Errorf("backup list after prune:\n%s", out)
		}
	})

	t.Run("age: encrypted to recipients, verified and restored with the identity", func(t *testing.T) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		idFile := filepath.Join(t.TempDir(), "key.txt")
		if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := e1.CreateVolume(ctx, "plain"); err != nil {
			t.Fatal(err)
		}
		const marker = "clear-text-marker-5d1e"
		if _, err := l.RunScript(ctx, e1, map[string]string{"plain": "/v"}, "mkdir /v/d && echo "+marker+" > /v/d/f"); err != nil {
			t.Fatal(err)
		}
		store := filepath.Join(t.TempDir(), "store")
		inv := backupInventory(t, l, store, 5, fmt.Sprintf(`recipients = [%q]

[[backup.volume]]
name = "enc"
hosts = "host1"
volumes = ["plain"]
`, id.Recipient().String()))
		// (decls follow [backup]'s own keys, so recipients lands in [backup].)
		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "backup")
		if code != ExitOK {
			t.Fatalf("encrypted backup: exit %d\n%s\n%s", code, errOut, out)
		}
		doc := parseBackupDoc(t, out)
		file := filepath.Join(store, "host1", doc.Hosts[0].Data.Set, "volume-plain.tar.zst.age")
		stored, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(stored, []byte("age-encryption.org/v1")) || bytes.Contains(stored, []byte(marker)) {
			t.Fatalf("%s is not an age file, or holds the clear text", file)
		}
		_, errOut, code = flotilla(t, "-i", inv, "backup", "verify")
		if code != ExitOK || !strings.Contains(errOut, "--identity") {
			t.Fatalf("verify without identity: exit %d, want 0 with a hint\n%s", code, errOut)
		}
		if out, errOut, code := flotilla(t, "-i", inv, "backup", "verify", "--identity", idFile); code != ExitOK || strings.Contains(errOut, "hint") {
			t.Fatalf("verify with identity: exit %d\n%s\n%s", code, out, errOut)
		}
		if _, errOut, code := flotilla(t, "-i", inv, "restore", "volume", "host1", "latest", "plain", "--to", "plain2"); code != ExitUsage || !strings.Contains(errOut, "encrypted") {
			t.Fatalf("restore of an encrypted set without identity: exit %d, want 2\n%s", code, errOut)
		}
		t.Setenv(identityEnv, idFile)
		if out, errOut, code := flotilla(t, "-i", inv, "restore", "volume", "host1", "latest", "plain", "--to", "plain2"); code != ExitOK {
			t.Fatalf("restore with identity: exit %d\n%s\n%s", code, out, errOut)
		}
		if a, b := fingerprint(t, l, e1, "plain"), fingerprint(t, l, e1, "plain2"); a != b {
			t.Fatalf("restored encrypted volume differs:\n%s\n%s", a, b)
		}
	})

	t.Run("ssh connection killed mid-stream: no complete-looking set, next run works", func(t *testing.T) {
		e2 := h2.Engine
		if err := e2.CreateVolume(ctx, "ctl"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RunScript(ctx, e2, map[string]string{"ctl": "/ctl"}, ": > /ctl/slow"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.StartContainer(ctx, e2, lab.ContainerSpec{Name: "slow", Cmd: []string{"sleep", "3600"},
			Volumes: map[string]string{"ctl": "/ctl"}}); err != nil {
			t.Fatal(err)
		}
		store := filepath.Join(t.TempDir(), "store")
		src := filepath.Join(t.TempDir(), "small")
		os.MkdirAll(src, 0o755)
		os.WriteFile(filepath.Join(src, "f"), []byte("f\n"), 0o644)
		inv := backupInventory(t, l, store, 5, fmt.Sprintf(`
[[backup.path]]
name = "small"
hosts = "all"
paths = [%q]

[[backup.dump]]
name = "slow"
hosts = "host2"
service = "slow"
command = ["sh", "-c", "if [ -e /ctl/slow ]; then head -c 8388608 /dev/urandom; sleep 600; else echo done; fi"]
`, src))
		// Ctrl-C while the dump streams: exit 130, nothing left behind.
		cctx, cancel := context.WithCancel(ctx)
		done := startBackup(t, cctx, inv)
		waitStreaming(t, store)
		cancel()
		r := <-done
		if r.code != ExitInterrupted {
			t.Fatalf("interrupted backup: exit %d, want 130\n%s\n%s", r.code, r.out, r.errOut)
		}
		if complete, partial := storeState(t, store, "host2"); len(complete)+len(partial) != 0 {
			t.Fatalf("an interrupted backup left complete %v, partial %v", complete, partial)
		}

		done = startBackup(t, ctx, inv)
		waitStreaming(t, store)
		if err := h2.Stop(); err != nil {
			t.Fatal(err)
		}
		select {
		case r = <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("backup did not return after its ssh connection was killed")
		}
		if r.code != ExitFailed {
			t.Fatalf("killed connection: exit %d, want 1\n%s\n%s", r.code, r.out, r.errOut)
		}
		doc := parseBackupDoc(t, r.out)
		for _, h := range doc.Hosts {
			if h.Host == "host1" && h.Status != "ok" {
				t.Errorf("host1 did not finish while host2 failed: %s %s", h.Status, h.Error)
			}
		}
		complete, partial := storeState(t, store, "host2")
		if len(complete) != 0 {
			t.Fatalf("host2 has complete-looking sets %v after its connection died", complete)
		}
		for _, p := range partial {
			if !strings.HasSuffix(p, backup.PartialSuffix) {
				t.Fatalf("a set without a manifest under a final name: %s", p)
			}
		}

		if err := h2.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RunScript(ctx, e2, map[string]string{"ctl": "/ctl"}, "rm /ctl/slow"); err != nil {
			t.Fatal(err)
		}
		if out, errOut, code := flotilla(t, "-i", inv, "backup"); code != ExitOK {
			t.Fatalf("the next run: exit %d\n%s\n%s", code, out, errOut)
		}
		if complete, _ := storeState(t, store, "host2"); len(complete) != 1 {
			t.Fatalf("host2: complete sets %v after the next run", complete)
		}
		if out, errOut, code := flotilla(t, "-i", inv, "backup", "verify"); code != ExitOK {
			t.Fatalf("verify: exit %d\n%s\n%s", code, out, errOut)
		}
	})
}

type cliResult struct {
	out, errOut string
	code        int
}

// startBackup runs "backup -o json" in the background until ctx is cancelled.
func startBackup(t *testing.T, ctx context.Context, inv string) <-chan cliResult {
	done := make(chan cliResult, 1)
	go func() {
		var out, errOut bytes.Buffer
		io := &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, TermWidth: 80}
		code := run(ctx, io, []string{"-i", inv, "-o", "json", "backup"})
		done <- cliResult{out.String(), errOut.String(), code}
	}()
	return done
}

// waitStreaming waits until host2's slow dump has put over 1 MiB into its
// partial set.
func waitStreaming(t *testing.T, store string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(store, "host2", "*.partial", "dump-slow.zst.tmp"))
		if len(files) == 1 {
			if fi, err := os.Stat(files[0]); err == nil && fi.Size() > 1<<20 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the dump never started streaming")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// argvContaining returns "pid N: argv" of a process whose command line
// holds s, or "".
func argvContaining(s string) string {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			return fmt.Sprintf("pid %d: %q", pid, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		}
	}
	return ""
}

// grepDir lists the log files under dir (dockerd, sshd, registry) that
// hold s. Engine state is not searched: the test itself gave the db
// container the expected password in its environment.
func grepDir(t *testing.T, dir, s string) string {
	t.Helper()
	var hits []string
	logs := 0
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() || !strings.HasSuffix(p, ".log") {
			return nil
		}
		logs++
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	if logs == 0 {
		t.Errorf("no log files under %s: the search could not fail", dir)
	}
	return strings.Join(hits, ", ")
}
