#!/bin/sh
# Makes sure a Go toolchain at least as new as go.mod's is on this machine.
# Without one, it fetches the official toolchain from the Go module proxy
# (the same zip `GOTOOLCHAIN` downloads) into /usr/local/go. Idempotent.
set -eu

want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$(dirname "$0")/../go.mod")
PATH=/usr/local/go/bin:$PATH
if command -v go >/dev/null 2>&1; then
	have=$(go env GOVERSION | sed 's/^go//')
	# sort -V puts the older first: if want is not newer than have, we are done.
	if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" = "$want" ]; then
		exit 0
	fi
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-go: Go $want is needed; run as root or install it from https://go.dev/dl" >&2
	exit 1
fi
command -v curl >/dev/null 2>&1 && command -v unzip >/dev/null 2>&1 || {
	apt-get update -qq </dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl unzip ca-certificates </dev/null
}
arch=$(dpkg --print-architecture)
proxy=${GOPROXY:-https://proxy.golang.org}
proxy=${proxy%%,*}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
curl -fsSL -o "$tmp/go.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$want.linux-$arch.zip"
unzip -q "$tmp/go.zip" -d "$tmp"
rm -rf /usr/local/go
mv "$tmp/golang.org/toolchain@v0.0.1-go$want.linux-$arch" /usr/local/go
chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/* 2>/dev/null || true
echo "install-go: installed Go $want in /usr/local/go"
