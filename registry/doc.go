// Package registry talks to container registries from the admin machine:
// it parses image references, resolves the admin's Docker credentials for a
// registry, asks registries for a tag's current digest and image config
// without pulling layers, reads Docker Hub's pull allowance, and copies
// images between registries. It never talks to a fleet host.
package registry
