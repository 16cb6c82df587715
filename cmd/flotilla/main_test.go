package main

import (
	"os"
	"testing"
)

// TestMain lets a test run the real flotilla in a child process: the test
// binary itself, with FLOTILLA_TEST_MAIN=1 and flotilla's arguments (a lock
// holder the test can SIGKILL).
func TestMain(m *testing.M) {
	if os.Getenv("FLOTILLA_TEST_MAIN") == "1" {
		os.Exit(Main(os.Stdin, os.Stdout, os.Stderr, os.Args[1:]))
	}
	os.Exit(m.Run())
}
