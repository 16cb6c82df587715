package hosts

import (
	"testing"
)

// testOpts keeps tests away from the real home directory and OS user.
func testOpts(t testing.TB) Options {
	return Options{Home: "/home/test", User: "osuser", NoSSHConfig: true}
}

// mustLoad loads src as an inventory named test.toml in /inv.
func mustLoad(t testing.TB, src string, o Options) *Inventory {
	t.Helper()
	inv, err := load("/inv/test.toml", []byte(src), o)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return inv
}

func hostNames(hs []*Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}
