package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"flotilla/registry"
)

// Three hosts nothing listens for: a run that gets as far as connecting
// reports them unreachable (exit 4); a refusal before that exits 2.
func deadInventory(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&b, "[[host]]\nname = \"h%d\"\naddress = \"127.0.0.1\"\nport = 1\n\n", i)
	}
	p := filepath.Join(t.TempDir(), "inv.toml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPullRefusesBeyondHubAllowance(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	asked := 0
	old := hubAllowance
	hubAllowance = func(ctx context.Context, rc *registry.Client, ref registry.Ref) (registry.Allowance, error) {
		asked++
		if ref.String() != "docker.io/library/busybox:latest" {
			t.Errorf("asked about %s", ref)
		}
		return registry.Allowance{Known: true, Limit: 100, Remaining: 2}, nil
	}
	defer func() { hubAllowance = old }()
	inv := deadInventory(t)

	_, errOut, code := flotilla(t, "-i", inv, "pull", "busybox")
	if code != ExitUsage || !strings.Contains(errOut, "docker hub allows 2 more pulls") || !strings.Contains(errOut, "hint: use --relay") {
		t.Errorf("3 hosts, 2 pulls left: exit %d\n%s", code, errOut)
	}
	// --relay spends one pull; --force ignores the allowance: both go on to the (dead) hosts.
	for _, args := range [][]string{{"--relay"}, {"--force"}} {
		_, errOut, code = flotilla(t, append([]string{"-i", inv, "pull", "busybox"}, args...)...)
		if code != ExitUnreachable {
			t.Errorf("%v: exit %d, want %d (past the check, hosts down)\n%s", args, code, ExitUnreachable, errOut)
		}
	}
	// Images from other registries never ask Docker Hub.
	before := asked
	flotilla(t, "-i", inv, "pull", "127.0.0.1:5000/lab/app:1")
	if asked != before+0 || asked != 2 {
		t.Errorf("docker hub asked %d times, want 2 (plain and --relay runs only)", asked)
	}
}

func TestPullInputErrors(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	inv := deadInventory(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pull"}, "pull needs at least one IMAGE"},
		{[]string{"pull", "Busybox"}, "repository names must be lowercase"},
		{[]string{"pull", "--platform", "linux", "busybox"}, `invalid --platform "linux"`},
	} {
		_, errOut, code := flotilla(t, append([]string{"-i", inv}, c.args...)...)
		if code != ExitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "config.json"), []byte("{"), 0o600)
	t.Setenv("DOCKER_CONFIG", bad)
	_, errOut, code := flotilla(t, "-i", inv, "pull", "127.0.0.1:5000/x:1")
	if code != ExitUsage || !strings.Contains(errOut, "config.json") || !strings.Contains(errOut, "hint:") {
		t.Errorf("malformed docker config: exit %d, stderr %q", code, errOut)
	}
}
