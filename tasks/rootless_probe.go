package tasks

import (
	_ "embed"
	"encoding/json"
	"strconv"
	"strings"
)

// rootlessProbeScript runs on the host as `sh -s -- USER`: one round trip
// reads everything the rootless checks need, as key=value lines.
//
//go:embed rootless_probe.sh
var rootlessProbeScript string

// probe is the parsed output of rootlessProbeScript. Keys may repeat (one
// line per subuid range, per DOCKER_HOST line, per context).
type probe map[string][]string

// parseProbe reads key=value lines; lines without '=' are ignored, so stray
// shell noise does not break the parse.
func parseProbe(out string) probe {
	p := probe{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		p[k] = append(p[k], strings.TrimSpace(v))
	}
	return p
}

// get returns the first value of key, or "".
func (p probe) get(key string) string {
	if v := p[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (p probe) has(key string) bool { return len(p[key]) > 0 }

// int returns key as an integer; ok is false when it is absent or not a number.
func (p probe) int(key string) (int64, bool) {
	v, err := strconv.ParseInt(p.get(key), 10, 64)
	return v, err == nil && p.has(key)
}

// complete reports whether the script ran to its end (a cut-off run must not
// look like "nothing configured").
func (p probe) complete() bool { return p.get("probe_done") == "1" || p.get("user_missing") == "1" }

// idRange is one line of /etc/subuid or /etc/subgid.
type idRange struct {
	Start, Count int64
}

// ranges returns the user's ranges under key ("subuid" or "subgid").
func (p probe) ranges(key string) []idRange {
	var out []idRange
	for _, v := range p[key] {
		a, b, ok := strings.Cut(v, ":")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseInt(a, 10, 64)
		count, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil && count > 0 {
			out = append(out, idRange{start, count})
		}
	}
	return out
}

// dockerContext is the part of ~/.docker/contexts/meta/*/meta.json we read.
type dockerContext struct {
	Name      string `json:"Name"`
	Endpoints struct {
		Docker struct {
			Host string `json:"Host"`
		} `json:"docker"`
	} `json:"Endpoints"`
}

// contexts parses the docker CLI contexts the probe found; broken ones are skipped.
func (p probe) contexts() []dockerContext {
	var out []dockerContext
	for _, v := range p["docker_context"] {
		var c dockerContext
		if json.Unmarshal([]byte(v), &c) == nil && c.Name != "" {
			out = append(out, c)
		}
	}
	return out
}

// dockerHostLine is one DOCKER_HOST assignment found in the user's files.
type dockerHostLine struct {
	File  string // relative to the home directory
	Value string // the assigned value, quotes removed; may hold $XDG_RUNTIME_DIR or $(id -u)
}

// dockerHostLines parses "FILE:LINE" values; commented-out lines are skipped.
func (p probe) dockerHostLines() []dockerHostLine {
	var out []dockerHostLine
	for _, v := range p["docker_host_line"] {
		file, line, ok := strings.Cut(v, ":")
		if !ok {
			continue
		}
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		_, val, ok := strings.Cut(line, "DOCKER_HOST=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		if val != "" && (val[0] == '"' || val[0] == '\'') {
			if end := strings.IndexByte(val[1:], val[0]); end >= 0 {
				val = val[1 : 1+end]
			} else {
				val = val[1:]
			}
		} else if i := strings.IndexAny(val, " \t;#"); i >= 0 {
			val = val[:i]
		}
		out = append(out, dockerHostLine{File: file, Value: val})
	}
	return out
}
