package main

import (
	"os"
	"strings"
	"testing"
)

func TestPromoteInputErrors(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	inv := deadInventory(t)
	_, errOut, code := flotilla(t, "-i", inv, "promote", "--dry-run")
	if code != ExitUsage || !strings.Contains(errOut, "no [[promote]] entries") || !strings.Contains(errOut, "hint: add one") {
		t.Errorf("no entries: exit %d\n%s", code, errOut)
	}
	f, _ := os.OpenFile(inv, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("[[promote]]\nfrom = \"127.0.0.1:1/app:7\"\nto = \"127.0.0.1:2/app\"\ntags = [\"1\"]\n")
	f.Close()
	_, errOut, code = flotilla(t, "-i", inv, "promote", "--dry-run")
	if code != ExitUsage || !strings.Contains(errOut, `from "127.0.0.1:1/app:7" tag "1"`) {
		t.Errorf("tagged from: exit %d\n%s", code, errOut)
	}
}
