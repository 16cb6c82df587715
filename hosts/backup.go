package hosts

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Backup is the [backup] table: where backup sets go, how many to keep, and
// what to back up on which hosts.
type Backup struct {
	Dir        string         `json:"dir"` // absolute
	Keep       int            `json:"keep"`
	ZstdLevel  int            `json:"zstd_level"`
	Recipients []string       `json:"recipients,omitempty"` // age recipients; none: not encrypted
	Volumes    []VolumeBackup `json:"volumes,omitempty"`
	Dumps      []DumpBackup   `json:"dumps,omitempty"`
	Paths      []PathBackup   `json:"paths,omitempty"`
}

// DefaultZstdLevel is the compression level when zstd_level is not set.
const DefaultZstdLevel = 3

// VolumeBackup is one [[backup.volume]]: Docker volumes, by glob.
type VolumeBackup struct {
	Name           string   `json:"name"`
	Pattern        string   `json:"pattern"` // hosts = "..." as written
	Hosts          []string `json:"hosts"`   // what Pattern selects, in file order
	Volumes        []string `json:"volumes"` // globs as written; a leading "!" excludes
	StopContainers bool     `json:"stop_containers"`
}

// DumpBackup is one [[backup.dump]]: a command's stdout, run in a container.
type DumpBackup struct {
	Name            string   `json:"name"`
	Pattern         string   `json:"pattern"`
	Hosts           []string `json:"hosts"`
	Service         string   `json:"service"` // a container name or a compose service
	Command         []string `json:"command"`
	StdinSecretEnv  string   `json:"stdin_secret_env,omitempty"`  // a local variable whose value goes to stdin
	StdinSecretFile string   `json:"stdin_secret_file,omitempty"` // a local file, absolute, whose content goes to stdin
	RestoreCommand  []string `json:"restore_command,omitempty"`
}

// PathBackup is one [[backup.path]]: directories on the host itself.
type PathBackup struct {
	Name    string   `json:"name"`
	Pattern string   `json:"pattern"`
	Hosts   []string `json:"hosts"`
	Paths   []string `json:"paths"`   // absolute, on the host
	Exclude []string `json:"exclude"` // as tar takes them
}

// Selects reports whether the volume named name is backed up: it matches a
// glob and no "!" glob. With only "!" globs, every other volume is.
func (v VolumeBackup) Selects(name string) bool {
	in, hasIn := false, false
	for _, g := range v.Volumes {
		if ex, ok := strings.CutPrefix(g, "!"); ok {
			if m, _ := path.Match(ex, name); m {
				return false
			}
			continue
		}
		hasIn = true
		if m, _ := path.Match(g, name); m {
			in = true
		}
	}
	return in || !hasIn
}

// AppliesTo reports whether host is one of the declaration's hosts.
func (v VolumeBackup) AppliesTo(host string) bool { return slices.Contains(v.Hosts, host) }

// AppliesTo reports whether host is one of the declaration's hosts.
func (d DumpBackup) AppliesTo(host string) bool { return slices.Contains(d.Hosts, host) }

// AppliesTo reports whether host is one of the declaration's hosts.
func (p PathBackup) AppliesTo(host string) bool { return slices.Contains(p.Hosts, host) }

var (
	backupKeys = []string{"dir", "keep", "zstd_level", "recipients", "volume", "dump", "path"}
	volumeKeys = []string{"name", "hosts", "volumes", "stop_containers"}
	dumpKeys   = []string{"name", "hosts", "service", "command", "stdin_secret_env", "stdin_secret_file", "restore_command"}
	pathKeys   = []string{"name", "hosts", "paths", "exclude"}

	backupHints = map[string]string{
		"volumes": "declare each in a [[backup.volume]] table",
		"dumps":   "declare each in a [[backup.dump]] table",
		"paths":   "declare each in a [[backup.path]] table",
	}
)

// backupDecl keeps what is needed to resolve host patterns once every host
// is known.
type backupDecl struct {
	b       *Backup
	volumes []*table
	dumps   []*table
	paths   []*table
}

func (l *loader) readBackup(root *table) *backupDecl {
	t, ok := l.sub(root, "backup")
	if !ok {
		return nil
	}
	d := &backupDecl{b: &Backup{ZstdLevel: DefaultZstdLevel}}
	b := d.b
	if s, ok := l.str(t, "dir"); ok {
		b.Dir, _ = l.path(t, "dir", s, false)
	} else if !t.has("dir") {
		l.problemAt(t, "", `missing key "dir" (where backup sets are written)`)
	}
	if n, ok := l.integer(t, "keep"); ok {
		if n < 1 {
			l.problemAt(t, "keep", "must be 1 or more, got %d", n)
		}
		b.Keep = n
	} else if !t.has("keep") {
		l.problemAt(t, "", `missing key "keep" (how many backup sets to keep per host, e.g. 7)`)
	}
	if n, ok := l.integer(t, "zstd_level"); ok {
		if n < 1 || n > 19 {
			l.problemAt(t, "zstd_level", "must be 1..19, got %d", n)
		}
		b.ZstdLevel = n
	}
	if rs, ok := l.strs(t, "recipients"); ok {
		for i, r := range rs {
			if !isAgeRecipient(r) {
				l.add(l.pos.line(t.locOf("recipients", strconv.Itoa(i))), t.keyPath("recipients"),
					fmt.Sprintf(`%q is not an age recipient (expected "age1..." or an ssh public key)`, short(r)))
			}
		}
		b.Recipients = rs
	}

	if items, ok := l.items(t, "volume", "backup.volume", "name"); ok {
		d.volumes = items
		for _, it := range items {
			b.Volumes = append(b.Volumes, l.readVolume(it))
		}
	}
	if items, ok := l.items(t, "dump", "backup.dump", "name"); ok {
		d.dumps = items
		for _, it := range items {
			b.Dumps = append(b.Dumps, l.readDump(it))
		}
	}
	if items, ok := l.items(t, "path", "backup.path", "name"); ok {
		d.paths = items
		for _, it := range items {
			b.Paths = append(b.Paths, l.readPath(it))
		}
	}
	l.unknown(t, backupKeys, backupHints)

	l.uniqueNames(d.volumes, func(i int) string { return b.Volumes[i].Name }, "volume")
	l.uniqueNames(d.dumps, func(i int) string { return b.Dumps[i].Name }, "dump")
	l.uniqueNames(d.paths, func(i int) string { return b.Paths[i].Name }, "path")
	return d
}

func isAgeRecipient(s string) bool {
	return strings.HasPrefix(s, "age1") && len(s) > 10 && !strings.ContainsAny(s, " \t") ||
		strings.HasPrefix(s, "ssh-ed25519 ") || strings.HasPrefix(s, "ssh-rsa ")
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// pattern reads the required hosts key; it is resolved later.
func (l *loader) pattern(t *table) string {
	if raw, ok := t.get("hosts"); ok {
		s, ok := raw.(string)
		switch {
		case !ok:
			l.problemAt(t, "hosts", `expected a host pattern such as "@db" or "web1,web2", got %s`, describe(raw))
		case strings.TrimSpace(s) == "":
			l.problemAt(t, "hosts", `empty pattern (use "all" for every host)`)
			s = ""
		}
		return s
	}
	l.problemAt(t, "", `missing key "hosts" (a host pattern such as "@db"; "all" for every host)`)
	return ""
}

// fileName reads an optional name that becomes part of file names.
func (l *loader) fileName(t *table, def string) string {
	s, ok := l.str(t, "name")
	if !ok {
		return def
	}
	if err := checkFileName(s); err != nil {
		l.problemAt(t, "name", "%v", err)
	}
	return s
}

func (l *loader) readVolume(t *table) VolumeBackup {
	v := VolumeBackup{Name: l.fileName(t, "volumes"), Pattern: l.pattern(t), Volumes: []string{"*"}}
	if vs, ok := l.strs(t, "volumes"); ok {
		if len(vs) == 0 {
			l.problemAt(t, "volumes", `empty (leave the key out for every volume, or list globs such as "db-*")`)
		}
		for i, g := range vs {
			glob, _ := strings.CutPrefix(g, "!")
			var msg string
			if glob == "" {
				msg = fmt.Sprintf("empty glob %q", g)
			} else if _, err := path.Match(glob, ""); err != nil {
				msg = fmt.Sprintf("invalid glob %q", g)
			}
			if msg != "" {
				l.add(l.pos.line(t.locOf("volumes", strconv.Itoa(i))), t.keyPath("volumes"), msg)
			}
		}
		v.Volumes = vs
	}
	v.StopContainers, _ = l.boolean(t, "stop_containers")
	l.unknown(t, volumeKeys, nil)
	return v
}

func (l *loader) readDump(t *table) DumpBackup {
	var d DumpBackup
	if s, ok := l.str(t, "name"); ok {
		if err := checkFileName(s); err != nil {
			l.problemAt(t, "name", "%v", err)
		}
		d.Name = s
	} else if !t.has("name") {
		l.problemAt(t, "", `missing key "name" (names the dump's file)`)
	}
	d.Pattern = l.pattern(t)
	if s, ok := l.str(t, "service"); ok {
		if strings.TrimSpace(s) == "" {
			l.problemAt(t, "service", "empty")
		}
		d.Service = s
	} else if !t.has("service") {
		l.problemAt(t, "", `missing key "service" (the container or compose service to run the command in)`)
	}
	d.Command = l.argv(t, "command", true)
	if s, ok := l.str(t, "stdin_secret_env"); ok {
		if err := checkEnvName(s); err != nil {
			l.problemAt(t, "stdin_secret_env", "%v", err)
		}
		d.StdinSecretEnv = s
	}
	if s, ok := l.str(t, "stdin_secret_file"); ok {
		d.StdinSecretFile, _ = l.path(t, "stdin_secret_file", s, false)
	}
	if t.has("stdin_secret_env") && t.has("stdin_secret_file") {
		l.problemAt(t, "stdin_secret_file", "set stdin_secret_env or stdin_secret_file, not both")
	}
	d.RestoreCommand = l.argv(t, "restore_command", false)
	l.unknown(t, dumpKeys, nil)
	return d
}

// argv reads a command as an array of strings; a string would need a shell
// to split it, and a secret could end up on its command line.
func (l *loader) argv(t *table, k string, required bool) []string {
	raw, ok := t.get(k)
	if !ok {
		if required {
			l.problemAt(t, "", "missing key %q (the command and its arguments, as an array)", k)
		}
		return nil
	}
	if _, isStr := raw.(string); isStr {
		l.problemAt(t, k, `expected an array of strings such as ["pg_dumpall", "-U", "postgres"], got a string (nothing splits it into arguments)`)
		return nil
	}
	argv, ok := l.strsOf(t, k, raw)
	if ok && (len(argv) == 0 || argv[0] == "") {
		l.problemAt(t, k, "empty command")
	}
	return argv
}

func (l *loader) readPath(t *table) PathBackup {
	p := PathBackup{Pattern: l.pattern(t)}
	if ps, ok := l.strs(t, "paths"); ok {
		if len(ps) == 0 {
			l.problemAt(t, "paths", "empty")
		}
		for i, s := range ps {
			if !strings.HasPrefix(s, "/") {
				l.add(l.pos.line(t.locOf("paths", strconv.Itoa(i))), t.keyPath("paths"),
					fmt.Sprintf("%q is not an absolute path", s))
			}
		}
		p.Paths = ps
	} else if !t.has("paths") {
		l.problemAt(t, "", `missing key "paths" (absolute paths on the host)`)
	}
	p.Exclude, _ = l.strs(t, "exclude")
	def := "root"
	if len(p.Paths) > 0 {
		def = nameFromPath(p.Paths[0])
	}
	p.Name = l.fileName(t, def)
	l.unknown(t, pathKeys, nil)
	return p
}

// nameFromPath makes a file-name-safe name of a path: /srv/app/data -> srv-app-data.
func nameFromPath(p string) string {
	b := []byte(strings.Trim(p, "/"))
	for i, c := range b {
		if !isNameChar(c) || c == '.' && i == 0 {
			b[i] = '-'
		}
	}
	if s := strings.Trim(string(b), "-"); s != "" {
		return s
	}
	return "root"
}

// uniqueNames reports names two declarations of one kind share: their
// files would overwrite each other.
func (l *loader) uniqueNames(items []*table, name func(int) string, kind string) {
	first := map[string]int{}
	for i, t := range items {
		n := name(i)
		if n == "" {
			continue
		}
		if j, dup := first[n]; dup {
			l.add(l.pos.line(t.locOf("name")), t.label, fmt.Sprintf("duplicate name %q (backup.%s #%d has it too)", n, kind, j+1))
			continue
		}
		first[n] = i
	}
}

// resolveBackup resolves every declaration's host pattern.
func (l *loader) resolveBackup(inv *Inventory, d *backupDecl) *Backup {
	if d == nil {
		return nil
	}
	resolve := func(t *table, pattern string) []string {
		if pattern == "" { // missing or wrong, and reported
			return nil
		}
		hs, err := inv.Select(pattern)
		if err != nil {
			l.problemAt(t, "hosts", "%v", err)
			return nil
		}
		names := make([]string, len(hs))
		for i, h := range hs {
			names[i] = h.Name
		}
		return names
	}
	b := d.b
	for i := range b.Volumes {
		b.Volumes[i].Hosts = resolve(d.volumes[i], b.Volumes[i].Pattern)
	}
	for i := range b.Dumps {
		b.Dumps[i].Hosts = resolve(d.dumps[i], b.Dumps[i].Pattern)
	}
	for i := range b.Paths {
		b.Paths[i].Hosts = resolve(d.paths[i], b.Paths[i].Pattern)
	}
	return b
}
