// Package hosts reads a flotilla inventory (TOML): hosts, groups, labels,
// defaults, backup and promote declarations; and it selects hosts by
// pattern. It imports nothing else of flotilla's and does no I/O beyond
// reading the inventory and the user's ~/.ssh/config.
//
// # Precedence
//
// A host's connection settings come from these levels, lowest first:
//
//  1. built-in defaults: port 22, transport "ssh", host_key_check "strict",
//     connect_timeout "10s", known_hosts ~/.ssh/known_hosts, the current
//     OS user, address = the host's name
//  2. [defaults]
//  3. the vars of each group the host belongs to, directly or through
//     children, applied in alphabetical order of group name: when two
//     groups set one key, the group whose name sorts last wins
//  4. the host's own keys in [[host]]
//  5. command-line flags, through Inventory.Apply
//
// ~/.ssh/config sits between 1 and 2, and only for what no level of the
// inventory sets (which Load tracks key by key): looked up with the host's
// name as the alias, with Host aliases and wildcards, HostName gives the
// address, and User, Port, IdentityFile, UserKnownHostsFile and ProxyJump
// give user, port, identity_file, known_hosts and jump (a ProxyJump that is
// not an inventory host's name is kept in Host.ProxyJump for the openssh
// transport).
//
// Paths in the inventory (identity_file, known_hosts, backup.dir,
// stdin_secret_file) are taken from the inventory's folder when relative,
// and "~/" is the home directory.
//
// # Patterns
//
// Inventory.Select takes what --limit and a backup's hosts key take: terms
// joined by "," or ":" (union), where "&TERM" intersects with what comes
// before and "!TERM" removes from it, read left to right ("@web,!web3",
// "@web:&@tokyo", "role=db&dc=tokyo"). A term is "all" or "*", a host
// name, a glob of host names (path.Match), "@group" or a bare group name,
// or a label "key=value" whose value may be a glob. An empty pattern is
// every host; a term that matches nothing is an error, so a typo never
// silently shrinks a run.
//
// # Errors
//
// Load reports every problem at once in a *LoadError, one per line as
// `FILE:LINE: KEY: problem`, for example
//
//	prod.toml:12: host "web-1": unknown key "adress" (did you mean "address"?)
//	prod.toml:30: groups.web.hosts: unknown host "web9" (did you mean "web1"?)
//
// Select's errors are *PatternError values wrapping ErrNoMatch or
// ErrPatternSyntax.
package hosts
