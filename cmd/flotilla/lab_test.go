package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"flotilla/internal/lab"
)

type imagesDoc struct {
	Hosts []struct {
		Host   string `json:"host"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   []struct {
			Ref    string `json:"ref"`
			ID     string `json:"id"`
			Digest string `json:"digest"`
		} `json:"data"`
	} `json:"hosts"`
	Summary struct {
		OK, Failed, Unreachable, Total int
	} `json:"summary"`
}

// TestLabFleet runs the CLI against a real three-host lab: sshd per host,
// a dockerd per host, a registry. Subtests run in order; the ones that break
// a host come last.
func TestLabFleet(t *testing.T) {
	l := lab.New(t, lab.Config{Hosts: 3})
	inv := l.Inventory
	ctx := context.Background()

	t.Run("images match each engine exactly", func(t *testing.T) {
		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "images")
		if code != ExitOK {
			t.Fatalf("exit %d, stderr:\n%s", code, errOut)
		}
		var doc imagesDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("json output does not parse: %v\n%s", err, out)
		}
		if len(doc.Hosts) != 3 || doc.Summary.OK != 3 {
			t.Fatalf("want 3 ok hosts, got %+v", doc.Summary)
		}
		for i, h := range doc.Hosts {
			want, err := l.Hosts[i].Engine.Images(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, im := range h.Data {
				got = append(got, im.Ref)
				if !strings.HasPrefix(im.ID, "sha256:") || !strings.Contains(im.Digest, "@sha256:") {
					t.Errorf("%s: %s: id %q digest %q, want full id and repo digest", h.Host, im.Ref, im.ID, im.Digest)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: flotilla lists %v, engine holds %v", h.Host, got, want)
			}
		}
		// The lab gives hosts different images: the check above must have been able to fail.
		if slices.Equal(refs(doc, 0), refs(doc, 1)) {
			t.Errorf("lab hosts 1 and 2 hold the same images %v; the lab should make them differ", refs(doc, 0))
		}
	})

	t.Run("table carries the same rows as json", func(t *testing.T) {
		jsonOut, _, _ := flotilla(t, "-i", inv, "-o", "json", "images")
		tableOut, _, code := flotilla(t, "-i", inv, "images")
		if code != ExitOK {
			t.Fatalf("exit %d", code)
		}
		var doc imagesDoc
		json.Unmarshal([]byte(jsonOut), &doc)
		for _, h := range doc.Hosts {
			for _, im := range h.Data {
				id := shortID(im.ID)
				found := false
				for _, line := range strings.Split(tableOut, "\n") {
					f := strings.Fields(line)
					if len(f) >= 3 && f[0] == h.Host && f[1] == im.Ref && f[2] == id {
						found = true
					}
				}
				if !found {
					t.Errorf("table lacks %s %s %s:\n%s", h.Host, im.Ref, id, tableOut)
				}
			}
		}
	})

	t.Run("one ssh connection per host per run", func(t *testing.T) {
		before := accepted(t, l)
		if _, errOut, code := flotilla(t, "-i", inv, "images"); code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		after := accepted(t, l)
		for i := range before {
			if n := after[i] - before[i]; n != 1 {
				t.Errorf("%s: images opened %d ssh connections, want 1", l.Hosts[i].Name, n)
			}
		}
	})

	t.Run("check reports engine and api", func(t *testing.T) {
		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "check")
		if code != ExitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, want := range []string{`"engine_version": "20.10`, `"api_version": "1.41"`, `"os": "linux"`} {
			if !strings.Contains(out, want) {
				t.Errorf("check output lacks %s:\n%s", want, out)
			}
		}
	})

	t.Run("bad inventory connects nowhere and exits 2", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.toml")
		data, _ := os.ReadFile(inv)
		os.WriteFile(bad, []byte(strings.Replace(string(data), "address =", "adress =", 1)), 0o644)
		before := accepted(t, l)
		_, errOut, code := flotilla(t, "-i", bad, "images")
		if code != ExitUsage || !strings.Contains(errOut, `"adress"`) {
			t.Errorf("exit %d, stderr %q; want 2 naming the unknown key", code, errOut)
		}
		_, errOut, code = flotilla(t, "-i", filepath.Join(t.TempDir(), "missing.toml"), "images")
		if code != ExitUsage || !strings.Contains(errOut, "missing.toml") {
			t.Errorf("exit %d, stderr %q; want 2 naming the missing file", code, errOut)
		}
		if after := accepted(t, l); !slices.Equal(before, after) {
			t.Errorf("a bad inventory still connected: accepted before %v after %v", before, after)
		}
	})

	t.Run("stopped sshd is unreachable, others succeed, exit 4", func(t *testing.T) {
		if err := l.Hosts[1].Stop(); err != nil {
			t.Fatal(err)
		}
		defer l.Hosts[1].Start()
		out, errOut, code := flotilla(t, "-i", inv, "-o", "json", "images")
		if code != ExitUnreachable {
			t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitUnreachable, errOut)
		}
		var doc imagesDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		for _, h := range doc.Hosts {
			switch h.Host {
			case l.Hosts[1].Name:
				if h.Status != "unreachable" || !strings.Contains(h.Error, "connection refused") {
					t.Errorf("%s: status %s error %q, want unreachable: connection refused", h.Host, h.Status, h.Error)
				}
			default:
				if h.Status != "ok" || len(h.Data) == 0 {
					t.Errorf("%s: status %s with %d images, want ok", h.Host, h.Status, len(h.Data))
				}
			}
		}
	})

	t.Run("changed host key is refused with its fingerprint", func(t *testing.T) {
		h := l.Hosts[2]
		if err := h.ChangeHostKey(); err != nil {
			t.Fatal(err)
		}
		out, _, code := flotilla(t, "-i", inv, "-l", h.Name, "check")
		if code != ExitUnreachable {
			t.Errorf("exit %d, want %d", code, ExitUnreachable)
		}
		if !strings.Contains(out, "host key changed") || strings.Count(out, "SHA256:") < 2 {
			t.Errorf("want both fingerprints in the reason:\n%s", out)
		}
	})
}

func refs(doc imagesDoc, i int) []string {
	var r []string
	for _, im := range doc.Hosts[i].Data {
		r = append(r, im.Ref)
	}
	return r
}

func accepted(t *testing.T, l *lab.Lab) []int {
	t.Helper()
	var counts []int
	for _, h := range l.Hosts {
		n, err := h.AcceptedConnections()
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, n)
	}
	return counts
}
