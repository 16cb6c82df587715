package backup

import (
	"fmt"
	"os"
	"time"
)

// PrunePlan is what pruning one host removes and keeps.
type PrunePlan struct {
	Host     string    `json:"host"`
	Keep     []SetInfo `json:"keep"`
	Remove   []SetInfo `json:"remove"`
	Partials []SetInfo `json:"partials,omitempty"` // partial sets left alone
}

// PlanPrune keeps the newest keep complete sets of host (at least one: the
// newest complete set is never removed). Partial sets are not counted;
// with stalePartials > 0 those untouched for that long are removed too.
func (s *Store) PlanPrune(host string, keep int, stalePartials time.Duration, now time.Time) (PrunePlan, error) {
	if keep < 1 {
		return PrunePlan{}, fmt.Errorf("keep must be 1 or more, got %d", keep)
	}
	sets, err := s.Sets(host)
	if err != nil {
		return PrunePlan{}, err
	}
	p := PrunePlan{Host: host, Keep: []SetInfo{}, Remove: []SetInfo{}}
	complete := Complete(sets)
	cut := max(len(complete)-keep, 0)
	p.Remove = append(p.Remove, complete[:cut]...)
	p.Keep = append(p.Keep, complete[cut:]...)
	for _, si := range sets {
		if !si.Partial {
			continue
		}
		if stalePartials > 0 && now.Sub(si.Modified) >= stalePartials {
			p.Remove = append(p.Remove, si)
		} else {
			p.Partials = append(p.Partials, si)
		}
	}
	return p, nil
}

// Remove deletes a set. A complete set is first renamed to its partial
// name, so a removal cut short never leaves a set that looks complete.
func (s *Store) Remove(si SetInfo) error {
	path := si.Path
	if !si.Partial {
		tmp := path + PartialSuffix
		if err := os.Rename(path, tmp); err != nil {
			return err
		}
		path = tmp
	}
	return os.RemoveAll(path)
}
