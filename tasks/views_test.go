package tasks

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestLooksSecret(t *testing.T) {
	cases := []struct {
		key, value string
		want       bool
	}{
		{"DB_PASSWORD", "x", true},
		{"POSTGRES_PASSWD", "x", true},
		{"API_KEY", "x", true},
		{"GITHUB_TOKEN", "x", true},
		{"aws_secret_access_key", "x", true},
		{"GOOGLE_APPLICATION_CREDENTIALS", "/x.json", true},
		{"DATABASE_URL", "postgres://app:hunter2@db/app", true},
		{"DATABASE_URL", "postgres://app@db/app", false},
		{"HOME", "/root", false},
		{"PWD", "/srv", false},
		{"APP_MODE", "prod", false},
		{"PATH", "/bin", false},
	}
	for _, c := range cases {
		if got := LooksSecret(c.key, c.value); got != c.want {
			t.Errorf("LooksSecret(%q, %q) = %v, want %v", c.key, c.value, got, c.want)
		}
	}
}

func TestEnvVarsMaskAndSelect(t *testing.T) {
	env := []string{"PATH=/bin", "DB_PASSWORD=hunter2", "EMPTY=", "EQ=a=b"}
	got := Env{}.vars(env)
	want := []EnvVar{{"PATH", "/bin", false}, {"DB_PASSWORD", Masked, true}, {"EMPTY", "", false}, {"EQ", "a=b", false}}
	if !slices.Equal(got, want) {
		t.Errorf("vars = %+v, want %+v", got, want)
	}
	if got := (Env{ShowSecrets: true}).vars(env); got[1].Value != "hunter2" || got[1].Masked {
		t.Errorf("with ShowSecrets: %+v", got[1])
	}
	if got := (Env{Var: "EQ"}).vars(env); len(got) != 1 || got[0].Value != "a=b" {
		t.Errorf("Var EQ: %+v", got)
	}
	if got := (Env{Var: "DB_PASSWORD"}).vars(env); len(got) != 1 || got[0].Value != Masked {
		t.Errorf("Var DB_PASSWORD must stay masked: %+v", got)
	}
}

func TestMatchRef(t *testing.T) {
	cases := []struct {
		pattern, ref string
		want         bool
	}{
		{"lab/app:*", "127.0.0.1:5000/lab/app:2", true},
		{"*/lab/app:*", "127.0.0.1:5000/lab/app:2", true},
		{"lab/app:1", "127.0.0.1:5000/lab/app:2", false},
		{"nginx:*", "nginx:1.25", true},
		{"nginx:*", "library/nginx-extra:1", false},
		{"*", "anything/at:all", true},
		{"app:?", "app:1", true},
		{"app:?", "app:10", false},
		{"a.b:*", "axb:1", false}, // dots are literal
		{"lab/*", "lab/app:1", true},
	}
	for _, c := range cases {
		if got := MatchRef(c.pattern, c.ref); got != c.want {
			t.Errorf("MatchRef(%q, %q) = %v, want %v", c.pattern, c.ref, got, c.want)
		}
	}
}

func TestSpreadImages(t *testing.T) {
	results := []Result{
		{Host: "a", Status: StatusOK, Data: []Image{{Ref: "x:1", ID: "sha256:1"}, {Ref: "y:1", ID: "sha256:2"}, {Ref: "<none>:<none>", ID: "sha256:9"}}},
		{Host: "b", Status: StatusOK, Data: []Image{{Ref: "x:1", ID: "sha256:1"}, {Ref: "y:1", ID: "sha256:3"}}},
		{Host: "c", Status: StatusUnreachable},
	}
	got := SpreadImages(results)
	if len(got) != 2 {
		t.Fatalf("want x:1 and y:1, got %+v", got)
	}
	if got[0].Ref != "x:1" || got[0].Drift || got[0].IDs != 1 || len(got[0].Hosts) != 2 {
		t.Errorf("x:1: %+v, want on a and b, one id, no drift", got[0])
	}
	if got[1].Ref != "y:1" || !got[1].Drift || got[1].IDs != 2 {
		t.Errorf("y:1: %+v, want two ids, drift", got[1])
	}
}

func TestContainerOf(t *testing.T) {
	s := container.Summary{
		ID:    "abc",
		Names: []string{"/other/alias", "/web"},
		Image: "nginx:1",
		Ports: []container.PortSummary{
			{PrivatePort: 443, Type: "tcp"},
			{IP: netip.MustParseAddr("127.0.0.1"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
			{IP: netip.MustParseAddr("::"), PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		},
		Labels:  map[string]string{ComposeProjectLabel: "shop", ComposeServiceLabel: "web"},
		State:   container.StateRunning,
		Status:  "Up 2 hours",
		Created: 1700000000,
	}
	c := containerOf(s)
	wantPorts := []string{"127.0.0.1:8080->80/tcp", "443/tcp", "[::]:8080->80/tcp"}
	if c.Name != "web" || c.Project != "shop" || c.Service != "web" || c.State != "running" ||
		!slices.Equal(c.Ports, wantPorts) || c.Created.Unix() != 1700000000 {
		t.Errorf("containerOf = %+v, want name web, compose shop/web, ports %v", c, wantPorts)
	}
}
