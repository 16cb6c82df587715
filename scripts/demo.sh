#!/bin/bash
# make demo: start a 3-host lab fleet (or reuse a running one) and show
# flotilla's main commands against it.
set -euo pipefail
state=$1 hosts=${2:-3}
cd "$(dirname "$0")/.."

if ! bin/flotilla-lab status --state "$state" >/dev/null 2>&1; then
	echo "== starting a lab fleet of $hosts hosts (sshd on 127.0.1.x, own dockerd each)"
	bin/flotilla-lab up --state "$state" --hosts "$hosts"
fi
inv=$(bin/flotilla-lab status --state "$state" | awk '$1 == "inventory" {print $2}')

show() {
	echo
	echo "\$ flotilla -i $inv $*"
	bin/flotilla -i "$inv" "$@" || echo "(exit status $?)"
}
show hosts
show check
show images
show -l 'host1' images -o json

echo
echo "The lab keeps running: try more commands with FLOTILLA_INVENTORY=$inv bin/flotilla ..."
echo "Stop it with: make lab-down"
