package main

// Exit statuses, documented in the README. One place decides them.
const (
	ExitOK          = 0   // every host ok
	ExitFailed      = 1   // some host's task failed
	ExitUsage       = 2   // usage or inventory error: nothing ran
	ExitLocked      = 3   // another run holds the lock
	ExitUnreachable = 4   // nothing failed, but some host was unreachable
	ExitInterrupted = 130 // Ctrl-C or SIGTERM
)
