package tasks

import (
	"strings"
	"testing"
)

func TestTarCommand(t *testing.T) {
	got := tarCommand([]string{"/srv/app data", "/etc"}, []string{"/srv/app data/tmp", "*.log", "it's"})
	want := `tar -C / -cf - '--exclude=srv/app data/tmp' '--exclude=*.log' '--exclude=it'\''s' -- 'srv/app data' etc`
	if got != want {
		t.Fatalf("tarCommand:\n got %s\nwant %s", got, want)
	}
	if got := tarCommand([]string{"/"}, nil); got != "tar -C / -cf - -- ." {
		t.Fatalf("tar of /: %s", got)
	}
}

func TestLimitedBufferMasksTheSecret(t *testing.T) {
	b := &limitedBuffer{max: 20}
	b.Write([]byte("bad password hunter2\n"))
	b.Write([]byte("more and more"))
	s := b.String([]byte("hunter2"))
	if strings.Contains(s, "hunter2") || !strings.Contains(s, "***") || !strings.Contains(s, "more bytes") {
		t.Fatalf("got %q", s)
	}
	if b.Len() != 34 {
		t.Fatalf("Len %d, want 34", b.Len())
	}
}

func TestContainerName(t *testing.T) {
	if n := containerName([]string{"/other/link", "/db-1"}, "0123456789abcdef"); n != "db-1" {
		t.Fatalf("got %q", n)
	}
	if n := containerName(nil, "0123456789abcdef"); n != "0123456789ab" {
		t.Fatalf("got %q", n)
	}
}
