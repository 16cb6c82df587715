package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one process the lab started. It is identified by its PID and the
// kernel's start time of that PID (field 22 of /proc/PID/stat), so a lab
// attached from a state file never signals a recycled PID.
type proc struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`

	// done is closed when the process has been reaped by this process; nil
	// for processes of an attached lab (their parent is gone, someone else
	// reaps them).
	done chan struct{}
}

// startProc runs name with args in its own session, stdin from /dev/null and
// stdout+stderr appended to logPath. Unless detach is set, the process gets
// pdeath when the calling process dies, so a killed test binary does not
// leave daemons behind.
func startProc(name string, args []string, logPath string, detach bool, pdeath syscall.Signal) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = "/"
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if !detach {
		cmd.SysProcAttr.Pdeathsig = pdeath
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{PID: cmd.Process.Pid, done: make(chan struct{})}
	p.Start, _ = procStartTime(p.PID)
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// procStat returns the state letter and start time of pid.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// comm may contain spaces and parentheses: fields start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); start time is field 22 -> f[19].
	if len(f) < 20 || len(f[0]) == 0 {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return f[0][0], start, err
}

func procStartTime(pid int) (uint64, error) {
	_, st, err := procStat(pid)
	return st, err
}

// procPPID returns the parent PID of pid.
func procPPID(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return strconv.Atoi(f[1])
}

// alive reports whether the process still runs (a zombie counts as gone).
func (p *proc) alive() bool {
	if p == nil || p.PID <= 0 {
		return false
	}
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
		}
	}
	state, start, err := procStat(p.PID)
	if err != nil || state == 'Z' || state == 'X' {
		return false
	}
	return p.Start == 0 || start == p.Start
}

// signal sends sig to the process if it is still the process we started.
func (p *proc) signal(sig syscall.Signal) error {
	if !p.alive() {
		return nil
	}
	err := syscall.Kill(p.PID, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// wait waits up to d for the process to be gone.
func (p *proc) wait(d time.Duration) bool {
	if p == nil {
		return true
	}
	if p.done != nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-p.done:
			return true
		case <-t.C:
			return false
		}
	}
	const step = 20 * time.Millisecond
	for i := 0; i <= int(d/step); i++ {
		if !p.alive() {
			return true
		}
		time.Sleep(step)
	}
	return !p.alive()
}

// stop sends sig (and SIGCONT, in case the process is frozen), waits up to
// grace, then SIGKILLs and waits up to 5s more.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) error {
	if p == nil || !p.alive() {
		return nil
	}
	_ = p.signal(sig)
	_ = p.signal(syscall.SIGCONT)
	if p.wait(grace) {
		return nil
	}
	_ = p.signal(syscall.SIGKILL)
	if p.wait(5 * time.Second) {
		return nil
	}
	return fmt.Errorf("pid %d did not exit after SIGKILL", p.PID)
}

// descendants returns the PIDs of all live processes below pid, children
// before grandchildren.
func descendants(pid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		pp, err := procPPID(c)
		if err != nil {
			continue
		}
		children[pp] = append(children[pp], c)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 100000 {
		cur := queue[0]
		queue = queue[1:]
		for _, c := range children[cur] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// labDaemons are the executables the lab starts, directly or through
// dockerd.
var labDaemons = map[string]bool{
	"dockerd": true, "containerd": true, "containerd-shim": true, "containerd-shim-runc-v1": true,
	"containerd-shim-runc-v2": true, "runc": true, "docker-proxy": true, "sshd": true, "docker-registry": true,
}

// procsUnder returns live lab daemons (see labDaemons) whose command line
// mentions dir, a path only this lab uses: helpers its daemons started,
// such as containerd and containerd-shim, which may outlive a killed
// dockerd. Other programs that name the directory (an ssh -F client, a
// tail of a log) are left alone.
func procsUnder(dir string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	needle := []byte(filepath.Clean(dir) + "/")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(b) == 0 {
			continue
		}
		if !strings.Contains(string(b), string(needle)) {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err != nil {
			continue
		}
		if labDaemons[filepath.Base(strings.TrimSuffix(exe, " (deleted)"))] {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}

// killPIDs SIGKILLs the given PIDs (each checked to be the same process by
// its start time between listing and killing) and waits up to 5s for them.
func killPIDs(pids []int) {
	var ps []*proc
	for _, pid := range pids {
		st, err := procStartTime(pid)
		if err != nil {
			continue
		}
		p := &proc{PID: pid, Start: st}
		_ = p.signal(syscall.SIGKILL)
		ps = append(ps, p)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range ps {
		p.wait(time.Until(deadline))
	}
}

// childEnv is this process's environment without proxy settings: lab
// daemons only talk to loopback addresses.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToLower(k) {
		case "http_proxy", "https_proxy", "all_proxy", "no_proxy", "docker_host", "docker_config":
			continue
		}
		env = append(env, kv)
	}
	return env
}
