package backup

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
)

// ParseRecipients reads age recipients: "age1..." keys and ssh public keys.
func ParseRecipients(keys []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, k := range keys {
		var (
			r   age.Recipient
			err error
		)
		if strings.HasPrefix(k, "ssh-") {
			r, err = agessh.ParseRecipient(k)
		} else {
			r, err = age.ParseX25519Recipient(k)
		}
		if err != nil {
			return nil, fmt.Errorf("age recipient %q: %w", shorten(k), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ReadIdentities reads an age identity file ("AGE-SECRET-KEY-1..." lines)
// or an unencrypted ssh private key.
func ReadIdentities(path string) ([]age.Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte("PRIVATE KEY-----")) {
		id, err := agessh.ParseIdentity(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []age.Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ids, nil
}

func shorten(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}
