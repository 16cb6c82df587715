package hosts

import "time"

// Host is one fleet member with every connection setting resolved. See the
// package documentation for where each value comes from.
type Host struct {
	Name           string            `json:"name"`
	Address        string            `json:"address"`
	Port           int               `json:"port"`
	User           string            `json:"user"`
	Transport      string            `json:"transport"`               // "ssh" or "openssh"
	IdentityFile   string            `json:"identity_file,omitempty"` // absolute, ~ expanded
	KnownHosts     string            `json:"known_hosts,omitempty"`   // absolute, ~ expanded
	HostKeyCheck   string            `json:"host_key_check"`          // "strict" or "accept-new"
	ConnectTimeout time.Duration     `json:"connect_timeout"`         // dial + handshake
	Socket         string            `json:"socket,omitempty"`        // remote Engine socket; empty: discover
	Jump           string            `json:"jump,omitempty"`          // name of another host to hop through
	Labels         map[string]string `json:"labels,omitempty"`
	Groups         []string          `json:"groups,omitempty"` // every group holding the host, through children too; sorted

	// ProxyJump is ~/.ssh/config's ProxyJump for this host when it is not
	// the name of an inventory host (then it is Jump instead), e.g.
	// "admin@gw.example.com:2222". Both transports hop through it.
	ProxyJump string `json:"proxy_jump,omitempty"`
}

// Built-in defaults, the lowest level of precedence. The user defaults to
// the current OS user and known_hosts to ~/.ssh/known_hosts.
const (
	DefaultPort           = 22
	DefaultTransport      = "ssh"
	DefaultHostKeyCheck   = "strict"
	DefaultConnectTimeout = 10 * time.Second
)

// Vars are the connection settings [defaults] and group vars may set; nil
// means not set at that level.
type Vars struct {
	User           *string        `json:"user,omitempty"`
	Port           *int           `json:"port,omitempty"`
	Transport      *string        `json:"transport,omitempty"`
	IdentityFile   *string        `json:"identity_file,omitempty"` // absolute, ~ expanded; "" means none
	KnownHosts     *string        `json:"known_hosts,omitempty"`   // absolute, ~ expanded
	HostKeyCheck   *string        `json:"host_key_check,omitempty"`
	ConnectTimeout *time.Duration `json:"connect_timeout,omitempty"`
	Socket         *string        `json:"socket,omitempty"`
}

// over returns v with every value o sets taking the place of v's.
func (v Vars) over(o Vars) Vars {
	if o.User != nil {
		v.User = o.User
	}
	if o.Port != nil {
		v.Port = o.Port
	}
	if o.Transport != nil {
		v.Transport = o.Transport
	}
	if o.IdentityFile != nil {
		v.IdentityFile = o.IdentityFile
	}
	if o.KnownHosts != nil {
		v.KnownHosts = o.KnownHosts
	}
	if o.HostKeyCheck != nil {
		v.HostKeyCheck = o.HostKeyCheck
	}
	if o.ConnectTimeout != nil {
		v.ConnectTimeout = o.ConnectTimeout
	}
	if o.Socket != nil {
		v.Socket = o.Socket
	}
	return v
}

// Group is a named set of hosts.
type Group struct {
	Name     string   `json:"name"`
	Hosts    []string `json:"hosts"`              // every member, through children too, in file order
	Children []string `json:"children,omitempty"` // as declared
	Vars     Vars     `json:"vars"`
}
