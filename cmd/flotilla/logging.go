package main

import (
	"log/slog"
)

// newLogger logs to stderr (above the progress line, when one is shown).
// Text logs are for people: warnings only, everything with -v. JSON logs are
// for journald and log shippers: a record per host and per run, and debug
// records with -v.
func newLogger(io *IOStreams, opts *globalOptions) *slog.Logger {
	level := slog.LevelWarn
	if opts.LogFormat == "json" {
		level = slog.LevelInfo
	}
	if opts.Verbose {
		level = slog.LevelDebug
	}
	ho := &slog.HandlerOptions{Level: level}
	if opts.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(io.Err(), ho))
	}
	return slog.New(slog.NewTextHandler(io.Err(), ho))
}
