package hosts

import (
	"encoding/json"
	"testing"
)

func TestExampleInventoryLoads(t *testing.T) {
	inv, err := LoadWith("../inventory.example.toml", Options{Home: t.TempDir(), User: "me"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(inv.Hosts) != 4 || inv.Backup == nil || len(inv.Promote) != 1 {
		t.Fatalf("hosts %d, backup %v, promote %d", len(inv.Hosts), inv.Backup, len(inv.Promote))
	}
	if testing.Verbose() {
		b, _ := json.MarshalIndent(inv, "", "  ")
		t.Logf("%s", b)
	}
}
