package hosts

import (
	"errors"
	"path/filepath"
	"strings"
)

// resolvePath makes a path from the inventory absolute: "~" and "~/" expand
// to home, and a relative path is taken from dir, the inventory's folder, so
// an inventory means the same thing whatever the current directory.
func resolvePath(p, dir, home string) (string, error) {
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		if home == "" {
			return "", errors.New("cannot expand \"~\": no home directory")
		}
		return filepath.Join(home, p[1:]), nil
	case strings.HasPrefix(p, "~"):
		return "", errors.New(`"~user" is not supported (use "~/" or an absolute path)`)
	case filepath.IsAbs(p):
		return filepath.Clean(p), nil
	}
	return filepath.Join(dir, p), nil
}
