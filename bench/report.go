package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"
)

// Report is the JSON document a run writes under bench/results/.
type Report struct {
	Started  time.Time     `json:"started"`
	Duration float64       `json:"duration_s"`
	Machine  Machine       `json:"machine"`
	Warmup   int           `json:"warmup"`
	Runs     int           `json:"runs"`
	Command  string        `json:"command"`
	Results  []*CaseResult `json:"results"`
}

// Machine describes where the run happened (the numbers depend on it).
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	LoadAvg   string `json:"loadavg_at_start"`
	Docker    string `json:"docker_cli"`
}

// WriteReport writes r as DIR/YYYYMMDD-HHMMSS.json and returns the path.
func WriteReport(dir string, r *Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.Started.UTC().Format("20060102-150405")+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
