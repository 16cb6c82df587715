package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// state is the JSON form of a lab, so another process can attach to it.
type state struct {
	Version      int           `json:"version"`
	Dir          string        `json:"dir"`
	Inventory    string        `json:"inventory"`
	IdentityFile string        `json:"identity_file"`
	KnownHosts   string        `json:"known_hosts"`
	SSHConfig    string        `json:"ssh_config"`
	Registry     string        `json:"registry,omitempty"`
	RegistryProc *proc         `json:"registry_proc,omitempty"`
	Engines      []engineState `json:"engines"`
	Hosts        []hostState   `json:"hosts"`
}

type engineState struct {
	Name   string `json:"name"`
	Dir    string `json:"dir"`
	Socket string `json:"socket"`
	Proc   *proc  `json:"proc"`
}

type hostState struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	Engine  string `json:"engine"`
	Dir     string `json:"dir"`
	Log     string `json:"log"`
	Proc    *proc  `json:"proc"`
}

// WriteState writes the lab's directories, PIDs and addresses to path
// (atomically), for Attach.
func (l *Lab) WriteState(path string) error {
	l.mu.Lock()
	st := state{
		Version: 1, Dir: l.Dir, Inventory: l.Inventory, IdentityFile: l.IdentityFile,
		KnownHosts: l.KnownHosts, SSHConfig: l.SSHConfig, Registry: l.Registry, RegistryProc: l.reg,
	}
	l.mu.Unlock()
	for _, e := range l.Engines {
		st.Engines = append(st.Engines, engineState{Name: e.Name, Dir: e.Dir, Socket: e.Socket, Proc: e.p})
	}
	for _, h := range l.Hosts {
		h.mu.Lock()
		st.Hosts = append(st.Hosts, hostState{
			Name: h.Name, Address: h.Address, Port: h.Port, Engine: h.Engine.Name, Dir: h.dir, Log: h.Log, Proc: h.p,
		})
		h.mu.Unlock()
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// Attach loads a lab written by WriteState (possibly by another process).
// Its processes are identified by PID and start time, so Stop never signals
// a recycled PID. Host Start/Stop etc. work on an attached lab; the
// restarted processes are detached from the calling process.
func Attach(path string) (*Lab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Version != 1 || !strings.HasPrefix(filepath.Base(st.Dir), "flab-") || !filepath.IsAbs(st.Dir) {
		return nil, fmt.Errorf("%s: not a lab state file", path)
	}
	l := &Lab{
		Dir: st.Dir, Inventory: st.Inventory, IdentityFile: st.IdentityFile, KnownHosts: st.KnownHosts,
		SSHConfig: st.SSHConfig, Registry: st.Registry, reg: st.RegistryProc,
	}
	engines := map[string]*Engine{}
	for _, es := range st.Engines {
		e := &Engine{Name: es.Name, Dir: es.Dir, Socket: es.Socket, p: es.Proc, detach: true}
		if es.Proc != nil {
			e.PID = es.Proc.PID
		}
		engines[e.Name] = e
		l.Engines = append(l.Engines, e)
	}
	authorizedKeys := filepath.Join(st.Dir, "authorized_keys")
	for _, hs := range st.Hosts {
		e := engines[hs.Engine]
		if e == nil {
			return nil, fmt.Errorf("%s: host %s: unknown engine %q", path, hs.Name, hs.Engine)
		}
		h := &Host{
			Name: hs.Name, Address: hs.Address, Port: hs.Port, Engine: e, Log: hs.Log,
			dir: hs.Dir, authorizedKeys: authorizedKeys, detach: true, p: hs.Proc,
		}
		if hs.Proc != nil {
			h.PID = hs.Proc.PID
		}
		l.Hosts = append(l.Hosts, h)
	}
	if len(l.Engines) == 0 {
		return nil, errors.New(path + ": lab has no engines")
	}
	return l, nil
}

// RegistryRunning reports whether the registry process is alive (false
// without a registry).
func (l *Lab) RegistryRunning() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reg.alive()
}
