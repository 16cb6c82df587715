package hosts

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

var (
	transports    = []string{"ssh", "openssh"}
	hostKeyChecks = []string{"strict", "accept-new"}
)

// nameChars is what a host, group or label key may be made of: enough for
// DNS names, and nothing a pattern gives a meaning to.
func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// checkName checks a host, group or label key name.
func checkName(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return fmt.Errorf("invalid character %s in %q (use letters, digits, '.', '_' and '-')", quoteByte(s[i]), s)
		}
	}
	if s[0] == '-' {
		return fmt.Errorf("%q starts with '-' (it would read as a flag)", s)
	}
	return nil
}

// checkHostOrGroupName adds what patterns reserve to checkName.
func checkHostOrGroupName(s string) error {
	if err := checkName(s); err != nil {
		return err
	}
	if s == "all" {
		return errors.New(`"all" is reserved (the pattern "all" selects every host)`)
	}
	return nil
}

// checkFileName checks a name that becomes part of a backup file name.
func checkFileName(s string) error {
	if err := checkName(s); err != nil {
		return err
	}
	if s[0] == '.' {
		return fmt.Errorf("%q starts with '.'", s)
	}
	return nil
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf("0x%02x", c)
}

func checkPort(n int) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("must be 1..65535, got %d", n)
	}
	return nil
}

func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`invalid duration %q (expected e.g. "10s", "1m")`, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive, got %q", s)
	}
	return d, nil
}

// checkOneOf checks s against the allowed values of a setting.
func checkOneOf(what, s string, allowed []string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	exp := strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	return fmt.Errorf("unknown %s %q (expected %s)", what, s, exp)
}

// checkSocket checks a remote socket path; "unix://" is accepted and dropped
// since that is how DOCKER_HOST spells it.
func checkSocket(s string) (string, error) {
	p := strings.TrimPrefix(s, "unix://")
	if p == "" {
		return "", nil
	}
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("expected an absolute path on the host, got %q", s)
	}
	return p, nil
}

// checkLabelValue keeps label values selectable: the separators of a pattern
// would cut a value in two.
func checkLabelValue(v string) error {
	if i := strings.IndexAny(v, ",:&"); i >= 0 {
		return fmt.Errorf("value %q holds %s, which patterns use as a separator", v, quoteByte(v[i]))
	}
	if strings.TrimSpace(v) != v {
		return fmt.Errorf("value %q starts or ends with a space", v)
	}
	return nil
}

// checkEnvName checks the name of an environment variable.
func checkEnvName(s string) error {
	if s == "" {
		return errors.New("empty variable name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("%q is not a valid environment variable name", s)
		}
	}
	return nil
}
