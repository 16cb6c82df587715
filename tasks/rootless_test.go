package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// baseProbe is a host where everything but the engine is ready, as the
// probe script prints it for user "ann" (uid 1000) connected as herself.
const baseProbe = `probe_version=1
ssh_uid=1000
ssh_user=ann
uid=1000
home=/home/ann
pid1=systemd
systemd_booted=1
loginctl_rc=0
loginctl_out=Linger=yes
linger_file=yes
runtime_dir=yes
rootless_socket=yes
dockerd_procs=1
svc_via=self
svc_enabled=enabled
svc_active=active
home_access=1
unit_file=/home/ann/.config/systemd/user/docker.service
unit_wants=yes
subuid=100000:65536
subuid_max_end=165536
subgid=100000:65536
subgid_max_end=165536
newuidmap_path=/usr/bin/newuidmap
newuidmap_stat=4755 0
newuidmap_caps=
newgidmap_path=/usr/bin/newgidmap
newgidmap_stat=4755 0
newgidmap_caps=
max_user_namespaces=63260
unprivileged_port_start=1024
docker_host_line=.bashrc:export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock
probe_done=1
`

var rootlessEngineFacts = engineFacts{Socket: "/run/user/1000/docker.sock", Queried: true, Version: "27.1.1", Rootless: true}

// with returns baseProbe with some keys replaced (value "" deletes the key)
// and extra lines appended.
func with(replace map[string]string, extra ...string) probe {
	p := parseProbe(baseProbe)
	for k, v := range replace {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = []string{v}
		}
	}
	for _, e := range extra {
		k, v, _ := strings.Cut(e, "=")
		p[k] = append(p[k], v)
	}
	return p
}

func findCheck(checks []RootlessCheck, name string) RootlessCheck {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return RootlessCheck{Name: "missing " + name}
}

func TestParseProbe(t *testing.T) {
	p := parseProbe("a=1\nnoise without equals\nb=x=y\r\na=2\nbad key=3\n=empty\n")
	if got := p["a"]; len(got) != 2 || got[0] != "1" || got[1] != "2" {
		t.Errorf("a = %v, want [1 2]", got)
	}
	if p.get("b") != "x=y" {
		t.Errorf("b = %q, want the value after the first '=' with \\r trimmed", p.get("b"))
	}
	if p.has("bad key") || p.has("") || p.has("noise without equals") {
		t.Errorf("malformed lines were kept: %v", p)
	}
	if parseProbe("uid=1\n").complete() {
		t.Error("a probe without probe_done counts as complete")
	}
	if !parseProbe(baseProbe).complete() {
		t.Error("baseProbe is not complete")
	}
}

func TestEvaluateReadyHost(t *testing.T) {
	checks := evaluate(parseProbe(baseProbe), rootlessEngineFacts, "ann")
	var names []string
	for _, c := range checks {
		names = append(names, c.Name)
		if c.Status != CheckOK || c.Fix != "" {
			t.Errorf("%s: %s %q fix %q, want ok", c.Name, c.Status, c.Found, c.Fix)
		}
	}
	want := "engine linger user-service subuid subgid uidmap userns low-ports cli-env"
	if strings.Join(names, " ") != want {
		t.Errorf("checks %v, want %s", names, want)
	}
}

func TestEvaluateChecks(t *testing.T) {
	rootful := engineFacts{Socket: "/var/run/docker.sock", Queried: true, Version: "20.10.24"}
	tests := []struct {
		name   string
		p      probe
		e      engineFacts
		check  string
		status CheckStatus
		found  string // substring
		fix    string // substring; "-" means no fix
	}{
		{"rootful engine, rootless socket exists", with(nil), rootful, CheckEngine, CheckWarn, "reaches the rootful engine", `set socket = "/run/user/1000/docker.sock"`},
		{"rootful engine only", with(map[string]string{"rootless_socket": "no"}), rootful, CheckEngine, CheckWarn, "only a rootful engine", "dockerd-rootless-setuptool.sh install"},
		{"another user's socket exists", with(nil), engineFacts{Socket: "/var/run/docker.sock"}, CheckEngine, CheckOK, "socket /run/user/1000/docker.sock exists, dockerd runs as ann", "-"},
		{"another user's runtime dir is closed", with(map[string]string{"rootless_socket": "unknown"}), engineFacts{}, CheckEngine, CheckNA, "cannot look into /run/user/1000", "-"},
		{"no engine at all", with(map[string]string{"rootless_socket": "no"}), engineFacts{Socket: "/var/run/docker.sock", Err: "no engine answers on /var/run/docker.sock"}, CheckEngine, CheckWarn, "no engine answers", "install"},

		{"loginctl Linger=no", with(map[string]string{"loginctl_out": "Linger=no"}), rootlessEngineFacts, CheckLinger, CheckFail, "Linger=no", "sudo loginctl enable-linger ann"},
		{"logind knows no such session", with(map[string]string{"loginctl_rc": "1", "loginctl_out": "Failed to get user: User ID 1000 is not logged in or lingering", "linger_file": "yes"}), rootlessEngineFacts, CheckLinger, CheckFail, "Linger=no", "loginctl enable-linger"},
		{"no systemd: file present", with(map[string]string{"loginctl_rc": "1", "loginctl_out": "System has not been booted with systemd as init system (PID 1). Can't operate. Failed to connect to bus: Host is down"}), rootlessEngineFacts, CheckLinger, CheckOK, "/var/lib/systemd/linger/ann exists (no systemd as PID 1)", "-"},
		{"no loginctl: file absent", with(map[string]string{"loginctl_rc": "missing", "loginctl_out": "", "linger_file": "nodir"}), rootlessEngineFacts, CheckLinger, CheckFail, "loginctl not installed", "sudo mkdir -p /var/lib/systemd/linger && sudo touch /var/lib/systemd/linger/ann"},

		{"service enabled, inactive", with(map[string]string{"svc_active": "inactive"}), rootlessEngineFacts, CheckService, CheckFail, "enabled", "systemctl --user start docker"},
		{"service active, not enabled", with(map[string]string{"svc_enabled": "disabled"}), rootlessEngineFacts, CheckService, CheckWarn, "disabled", "systemctl --user enable docker"},
		{"service neither", with(map[string]string{"svc_enabled": "disabled", "svc_active": "inactive"}), rootlessEngineFacts, CheckService, CheckFail, "disabled", "enable --now docker"},
		{"service unit missing", with(map[string]string{"svc_enabled": "Failed to get unit file state for docker.service: No such file or directory", "svc_active": "inactive", "unit_file": ""}), rootlessEngineFacts, CheckService, CheckFail, "no docker.service", "dockerd-rootless-setuptool.sh install"},
		{"no bus: unit files and a dockerd", with(map[string]string{"svc_via": "machine", "svc_enabled": "Failed to connect to bus", "svc_active": "Failed to connect to bus", "systemd_booted": "0", "pid1": "init"}), rootlessEngineFacts, CheckService, CheckOK, "docker.service enabled (unit files), dockerd runs as ann", "-"},
		{"no bus: unit without wants link", with(map[string]string{"svc_via": "none", "svc_enabled": "", "svc_active": "", "unit_wants": "", "dockerd_procs": "0", "rootless_socket": "no"}), rootlessEngineFacts, CheckService, CheckFail, "disabled (unit files)", "enable --now docker"},
		{"no bus, home closed", with(map[string]string{"svc_via": "", "svc_enabled": "", "svc_active": "", "home_access": "0", "unit_file": "", "unit_wants": ""}), rootlessEngineFacts, CheckService, CheckNA, "cannot read ann's unit files", "-"},

		{"no subuid range", with(map[string]string{"subuid": ""}), rootlessEngineFacts, CheckSubUID, CheckFail, "no range for ann", "sudo usermod --add-subuids 196608-262143 ann"},
		{"small subgid range", with(map[string]string{"subgid": "100000:1000", "subgid_max_end": "101000"}), rootlessEngineFacts, CheckSubGID, CheckFail, "only 1000 ids", "--add-subgids 131072-196607 ann"},
		{"two subuid ranges add up", with(map[string]string{"subuid": "100000:32768"}, "subuid=200000:32768"), rootlessEngineFacts, CheckSubUID, CheckOK, "65536 ids", "-"},
		{"no /etc/subgid", with(map[string]string{"subgid": "", "subgid_max_end": "", "subgid_file": "missing"}), rootlessEngineFacts, CheckSubGID, CheckFail, "missing", "--add-subgids 131072-196607 ann"},

		{"newuidmap missing", with(map[string]string{"newuidmap_path": " "}), rootlessEngineFacts, CheckUIDMap, CheckFail, "newuidmap not installed", "sudo apt-get install uidmap"},
		{"newgidmap without privilege", with(map[string]string{"newgidmap_stat": "755 0"}), rootlessEngineFacts, CheckUIDMap, CheckFail, "mode 755", "sudo chmod u+s /usr/bin/newgidmap"},
		{"file capabilities suffice", with(map[string]string{"newuidmap_stat": "755 0", "newuidmap_caps": "/usr/bin/newuidmap cap_setuid=ep", "newgidmap_stat": "755 0", "newgidmap_caps": "/usr/bin/newgidmap cap_setgid+ep"}), rootlessEngineFacts, CheckUIDMap, CheckOK, "file capability cap_setuid", "-"},
		{"setuid but not root-owned", with(map[string]string{"newuidmap_stat": "4755 1000"}), rootlessEngineFacts, CheckUIDMap, CheckFail, "newuidmap", "chmod u+s"},

		{"userns clone off", with(map[string]string{"userns_clone": "0"}), rootlessEngineFacts, CheckUserNS, CheckFail, "unprivileged_userns_clone=0", "sysctl -w kernel.unprivileged_userns_clone=1"},
		{"no user namespaces", with(map[string]string{"max_user_namespaces": "0"}), rootlessEngineFacts, CheckUserNS, CheckFail, "max_user_namespaces=0", "user.max_user_namespaces=28633"},
		{"apparmor restricts", with(map[string]string{"apparmor_restrict_userns": "1"}), rootlessEngineFacts, CheckUserNS, CheckWarn, "AppArmor", "AppArmor"},
		{"userns unknown", with(map[string]string{"max_user_namespaces": ""}), rootlessEngineFacts, CheckUserNS, CheckNA, "unreadable", "-"},

		{"port 80 published", with(nil), engineFacts{Queried: true, Rootless: true, Ports: []int{8080, 443, 80}}, CheckLowPorts, CheckFail, "containers publish 443, 80", "net.ipv4.ip_unprivileged_port_start=80 "},
		{"port 80 allowed", with(map[string]string{"unprivileged_port_start": "80"}), engineFacts{Queried: true, Rootless: true, Ports: []int{80}}, CheckLowPorts, CheckOK, "start=80; no published port below it", "-"},
		{"old kernel without the sysctl", with(map[string]string{"unprivileged_port_start": ""}), engineFacts{Queried: true, Rootless: true, Ports: []int{443}}, CheckLowPorts, CheckFail, "publish 443", "setcap cap_net_bind_service"},
		{"ports unknown on a rootful engine", with(nil), rootful, CheckLowPorts, CheckNA, "no rootless engine", "-"},

		{"DOCKER_HOST elsewhere", with(map[string]string{"docker_host_line": ".profile:DOCKER_HOST=unix:///var/run/docker.sock"}), rootlessEngineFacts, CheckCLIEnv, CheckWarn, ".profile sets DOCKER_HOST=unix:///var/run/docker.sock", "export DOCKER_HOST=unix:///run/user/1000/docker.sock"},
		{"DOCKER_HOST with $(id -u), quoted", with(map[string]string{"docker_host_line": `.bashrc:export DOCKER_HOST="unix:///run/user/$(id -u)/docker.sock" # rootless`}), rootlessEngineFacts, CheckCLIEnv, CheckOK, "in .bashrc", "-"},
		{"commented DOCKER_HOST ignored", with(map[string]string{"docker_host_line": "# .bashrc:x"}, "docker_host_line=.bashrc:#export DOCKER_HOST=unix:///run/user/1000/docker.sock"), rootlessEngineFacts, CheckCLIEnv, CheckWarn, "no DOCKER_HOST", "export DOCKER_HOST"},
		{"docker context", with(map[string]string{"docker_host_line": "", "docker_current_context": "rootless"}, `docker_context={"Name":"rootless","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/user/1000/docker.sock","SkipTLSVerify":false}}}`), rootlessEngineFacts, CheckCLIEnv, CheckOK, `docker context "rootless"`, "-"},
		{"docker context elsewhere", with(map[string]string{"docker_host_line": "", "docker_current_context": "prod"}, `docker_context={"Name":"prod","Endpoints":{"docker":{"Host":"ssh://prod"}}}`), rootlessEngineFacts, CheckCLIEnv, CheckWarn, "points at ssh://prod", "DOCKER_HOST"},
		{"context not defined", with(map[string]string{"docker_host_line": "", "docker_current_context": "gone"}), rootlessEngineFacts, CheckCLIEnv, CheckWarn, `"gone" is not defined`, "DOCKER_HOST"},
		{"home closed", with(map[string]string{"home_access": "0"}), rootlessEngineFacts, CheckCLIEnv, CheckNA, "cannot read ann's home as ann", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := findCheck(evaluate(tt.p, tt.e, "ann"), tt.check)
			if c.Status != tt.status || !strings.Contains(c.Found, tt.found) {
				t.Errorf("%s: %s %q, want %s containing %q", tt.check, c.Status, c.Found, tt.status, tt.found)
			}
			if tt.fix == "-" && c.Fix != "" || tt.fix != "-" && !strings.Contains(c.Fix, tt.fix) {
				t.Errorf("%s: fix %q, want %q", tt.check, c.Fix, tt.fix)
			}
		})
	}
}

func TestSafeFixCommand(t *testing.T) {
	tests := []struct {
		name string
		p    probe
		want string
	}{
		{"loginctl, as a user", with(map[string]string{"loginctl_out": "Linger=no"}), "sudo -n loginctl enable-linger ann"},
		{"loginctl, as root", with(map[string]string{"ssh_uid": "0", "loginctl_out": "Linger=no"}), "loginctl enable-linger ann"},
		{"no logind", with(map[string]string{"loginctl_rc": "1", "loginctl_out": "System has not been booted with systemd as init system (PID 1)."}),
			"sudo -n mkdir -p /var/lib/systemd/linger && sudo -n touch /var/lib/systemd/linger/ann"},
		{"no loginctl, as root", with(map[string]string{"ssh_uid": "0", "loginctl_rc": "missing"}), "mkdir -p /var/lib/systemd/linger && touch /var/lib/systemd/linger/ann"},
	}
	for _, tt := range tests {
		if got := safeFixCommand(tt.p, CheckLinger, "ann"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if isSafeFix(CheckSubUID) || isSafeFix(CheckService) || !isSafeFix(CheckLinger) {
		t.Error("only linger may be fixed by --fix")
	}
}

func TestFixError(t *testing.T) {
	tests := []struct {
		status int
		msg    string
		want   string
	}{
		{1, "sudo: a password is required\n", "no sudo right: sudo: a password is required (give deploy a NOPASSWD"},
		{1, "Sorry, user deploy is not allowed to execute '/usr/bin/loginctl enable-linger x' as root on h.", "no sudo right: Sorry"},
		{127, "sh: 1: sudo: not found", "sudo is not installed"},
		{1, "touch: cannot touch 'x': Read-only file system", "exit status 1: touch: cannot touch"},
		{2, "", "exit status 2"},
	}
	for _, tt := range tests {
		if got := fixError(tt.status, tt.msg, "deploy").Error(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("fixError(%d, %q) = %q, want prefix %q", tt.status, tt.msg, got, tt.want)
		}
	}
}

func TestValidUserName(t *testing.T) {
	for _, ok := range []string{"deploy", "ucidm", "_svc", "a.b-c_d", "flab-3fa9c1-ready"} {
		if !ValidUserName(ok) {
			t.Errorf("%q rejected", ok)
		}
	}
	for _, bad := range []string{"", "a b", "-rf", "1x", "x;rm", "$(id)", "a'b", strings.Repeat("a", 33)} {
		if ValidUserName(bad) {
			t.Errorf("%q accepted: it would reach a shell command line", bad)
		}
	}
}

func TestFreeRangeStart(t *testing.T) {
	for _, tt := range []struct{ maxEnd, want int64 }{{0, 131072}, {165536, 196608}, {131072, 131072}, {1 << 20, 1 << 20}} {
		if got := freeRangeStart(tt.maxEnd); got != tt.want {
			t.Errorf("freeRangeStart(%d) = %d, want %d", tt.maxEnd, got, tt.want)
		}
	}
}

// fakeEngine answers the three Engine API calls the rootless checks make.
type fakeEngine struct {
	rootless   bool
	infoErr    error
	containers map[string]network.PortMap
	inspected  int
}

func (f *fakeEngine) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	if f.infoErr != nil {
		return client.SystemInfoResult{}, f.infoErr
	}
	opts := []string{"name=seccomp,profile=default"}
	if f.rootless {
		opts = append(opts, "name=rootless")
	}
	return client.SystemInfoResult{Info: system.Info{ServerVersion: "27.1.1", SecurityOptions: opts}}, nil
}

func (f *fakeEngine) ContainerList(context.Context, client.ContainerListOptions) (client.ContainerListResult, error) {
	var res client.ContainerListResult
	for id := range f.containers {
		res.Items = append(res.Items, container.Summary{ID: id})
	}
	return res, nil
}

func (f *fakeEngine) ContainerInspect(_ context.Context, id string, _ client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	f.inspected++
	pm, ok := f.containers[id]
	if !ok {
		return client.ContainerInspectResult{}, errors.New("no such container")
	}
	return client.ContainerInspectResult{Container: container.InspectResponse{HostConfig: &container.HostConfig{PortBindings: pm}}}, nil
}

func TestGatherEngine(t *testing.T) {
	p80, p443 := network.MustParsePort("80/tcp"), network.MustParsePort("443/tcp")
	e := &fakeEngine{rootless: true, containers: map[string]network.PortMap{
		"a": {p80: {{HostPort: "80"}, {HostPort: "80"}}},
		"b": {p443: {{HostPort: "8443-8444"}}, p80: {{HostPort: ""}}},
	}}
	f := gatherEngine(context.Background(), e, "/run/user/1000/docker.sock", true)
	if !f.Queried || !f.Rootless || f.Version != "27.1.1" {
		t.Errorf("facts %+v, want a queried rootless 27.1.1", f)
	}
	got := map[int]bool{}
	for _, p := range f.Ports {
		got[p] = true
	}
	if len(f.Ports) != 2 || !got[80] || !got[8443] {
		t.Errorf("ports %v, want 80 and 8443 once each (random ports skipped)", f.Ports)
	}

	rootful := &fakeEngine{containers: map[string]network.PortMap{"a": {p80: {{HostPort: "80"}}}}}
	if f := gatherEngine(context.Background(), rootful, "/var/run/docker.sock", true); f.Rootless || len(f.Ports) != 0 || rootful.inspected != 0 {
		t.Errorf("a rootful engine's containers were inspected: %+v", f)
	}
	if f := gatherEngine(context.Background(), e, "/var/run/docker.sock", false); f.Queried {
		t.Errorf("another user's engine was asked: %+v", f)
	}
	if f := gatherEngine(context.Background(), nil, "/var/run/docker.sock", true); f.Queried || !strings.Contains(f.Err, "no engine answers") {
		t.Errorf("no engine: %+v", f)
	}
	if f := gatherEngine(context.Background(), &fakeEngine{infoErr: errors.New("boom")}, "/s", true); f.Err != "boom" {
		t.Errorf("info error not kept: %+v", f)
	}
}
