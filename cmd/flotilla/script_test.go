package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets tests run the real flotilla main in a child process: as
// "flotilla" in testscript scripts, or as the test binary itself with
// FLOTILLA_TEST_MAIN=1 (a lock holder a test can SIGKILL).
func TestMain(m *testing.M) {
	if os.Getenv("FLOTILLA_TEST_MAIN") == "1" {
		os.Exit(Main(os.Stdin, os.Stdout, os.Stderr, os.Args[1:]))
	}
	testscript.Main(m, map[string]func(){
		"flotilla": func() { os.Exit(Main(os.Stdin, os.Stdout, os.Stderr, os.Args[1:])) },
	})
}

// TestScripts runs testdata/script/*.txtar: the CLI's behaviour and exit
// statuses for inputs that need no lab (usage and inventory errors).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir) // no ~/.ssh/config of the machine's
			return nil
		},
	})
}
