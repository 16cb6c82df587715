package tasks

import (
	"context"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"flotilla/connect"
)

// Check reports what an admin needs to trust a host: how it was reached
// (transport, user, socket and whether the socket was discovered), the
// engine behind the connection, its API version, platform, rootless or
// not, and how long reaching it takes.
type Check struct{}

// CheckResult is one host's check.
type CheckResult struct {
	User          string        `json:"user"`
	Socket        string        `json:"socket"`
	EngineVersion string        `json:"engine_version"`
	APIVersion    string        `json:"api_version"`
	OS            string        `json:"os"`
	Arch          string        `json:"arch"`
	OperatingSys  string        `json:"operating_system"`
	Rootless      bool          `json:"rootless"`
	Handshake     time.Duration `json:"-"`
	RoundTrip     time.Duration `json:"-"`
	HandshakeMS   float64       `json:"ssh_handshake_ms"`
	RoundTripMS   float64       `json:"api_round_trip_ms"`

	// Added later: the JSON only grows.
	Transport        string `json:"transport"`         // "ssh" or "openssh"
	SocketDiscovered bool   `json:"socket_discovered"` // found on the host, not set in the inventory
}

type infoReader interface {
	Info(ctx context.Context, options client.InfoOptions) (client.SystemInfoResult, error)
}

func (Check) Name() string { return "check" }

func (Check) Run(ctx context.Context, c *connect.Conn) (any, error) {
	return runCheck(ctx, c.Engine, c)
}

func runCheck(ctx context.Context, engine infoReader, c *connect.Conn) (*CheckResult, error) {
	start := time.Now()
	info, err := engine.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, err
	}
	rtt := time.Since(start)
	res := &CheckResult{
		User:          c.Host.User,
		Socket:        c.Socket,
		EngineVersion: info.Info.ServerVersion,
		APIVersion:    c.APIVersion,
		OS:            info.Info.OSType,
		Arch:          info.Info.Architecture,
		OperatingSys:  info.Info.OperatingSystem,
		Handshake:     c.Handshake,
		RoundTrip:     rtt,
		HandshakeMS:   ms(c.Handshake),
		RoundTripMS:   ms(rtt),

		Transport:        c.Transport,
		SocketDiscovered: c.SocketDiscovered,
	}
	for _, opt := range info.Info.SecurityOptions {
		if strings.Contains(opt, "name=rootless") {
			res.Rootless = true
		}
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
