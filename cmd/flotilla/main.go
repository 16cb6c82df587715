// Command flotilla manages a fleet of Docker hosts over SSH, installing nothing on them.
package main

import "os"

func main() {
	os.Exit(Main(os.Stdin, os.Stdout, os.Stderr, os.Args[1:]))
}
