// Package backup is flotilla's backup store on the admin machine: the
// DIR/HOST/SET layout, MANIFEST.json, sets written under a ".partial" name
// and renamed only when complete, zstd compression, optional age
// encryption, verification, listing and pruning. It knows nothing about
// hosts or engines: tasks stream data into it and read it back.
package backup

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestName is the file in every complete set that describes it.
const ManifestName = "MANIFEST.json"

// ManifestVersion changes only when a reader of an older flotilla could
// misread a newer manifest; new fields do not change it.
const ManifestVersion = 1

// Kind is what an item was read from.
type Kind string

const (
	KindVolume Kind = "volume" // a Docker volume, as a tar
	KindDump   Kind = "dump"   // a command's stdout, as is
	KindPath   Kind = "path"   // host paths, as a tar
)

// IsTar reports whether the item's raw content is a tar archive.
func (k Kind) IsTar() bool { return k == KindVolume || k == KindPath }

// Manifest describes one set: what it holds and how to check it.
type Manifest struct {
	Version    int       `json:"version"`
	Host       string    `json:"host"`
	Set        string    `json:"set"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Engine     Engine    `json:"engine"`
	Encrypted  bool      `json:"encrypted"`
	Recipients []string  `json:"recipients,omitempty"` // age recipients (public keys)
	ZstdLevel  int       `json:"zstd_level"`
	Items      []Item    `json:"items"`
}

// Engine is the Docker engine the set was read from.
type Engine struct {
	Version    string `json:"version,omitempty"`
	APIVersion string `json:"api_version,omitempty"`
}

// Item is one file of a set.
type Item struct {
	File       string    `json:"file"` // name inside the set directory
	Kind       Kind      `json:"kind"`
	Name       string    `json:"name"`   // volume name, dump or path declaration name
	Source     Source    `json:"source"` // where the data came from
	SHA256     string    `json:"sha256"` // of the stored file, as on disk
	Size       int64     `json:"size"`   // stored bytes
	RawSHA256  string    `json:"raw_sha256"`
	RawSize    int64     `json:"raw_size"`          // bytes before compression
	Entries    int       `json:"entries,omitempty"` // tar entries (volumes and paths)
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
}

// Source says what an item was read from; only the fields of its kind are set.
type Source struct {
	Volume    string   `json:"volume,omitempty"`
	Container string   `json:"container,omitempty"` // dumps: the container the command ran in
	Command   []string `json:"command,omitempty"`   // dumps: argv, never a secret
	Paths     []string `json:"paths,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	// Stopped lists the containers stopped while a volume was read.
	Stopped []string `json:"stopped,omitempty"`
}

// Item returns the set's item of that kind and name.
func (m *Manifest) Item(kind Kind, name string) (Item, bool) {
	for _, it := range m.Items {
		if it.Kind == kind && it.Name == name {
			return it, true
		}
	}
	return Item{}, false
}

// ReadManifest reads the manifest of the set in dir.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	if m.Version < 1 || m.Version > ManifestVersion {
		return nil, fmt.Errorf("%s: manifest version %d, this flotilla reads up to %d",
			filepath.Join(dir, ManifestName), m.Version, ManifestVersion)
	}
	return &m, nil
}
