package tasks

import (
	"fmt"
	"regexp"
	"strings"
)

// MatchRef reports whether an image reference (repository:tag) matches a
// glob: '*' matches any run of characters, slashes included, '?' one
// character. A pattern without a registry also matches references that have
// one, so "lab/app:*" matches "127.0.0.1:5000/lab/app:2".
func MatchRef(pattern, ref string) bool {
	re := globRegexp(pattern)
	if re.MatchString(ref) {
		return true
	}
	if _, rest, ok := cutRegistry(ref); ok {
		return re.MatchString(rest)
	}
	return false
}

// CheckRefGlob rejects patterns that cannot match a reference.
func CheckRefGlob(pattern string) error {
	if strings.TrimSpace(pattern) == "" {
		return fmt.Errorf("empty image filter")
	}
	if strings.ContainsAny(pattern, " \t\n") {
		return fmt.Errorf("image filter %q contains white space, which no image reference has", pattern)
	}
	return nil
}

func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// cutRegistry splits "registry/rest" when the first component names a
// registry (it has a dot or a port, or is localhost), as Docker decides.
func cutRegistry(ref string) (registry, rest string, ok bool) {
	first, rest, found := strings.Cut(ref, "/")
	if !found {
		return "", ref, false
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return first, rest, true
	}
	return "", ref, false
}
