#!/bin/sh
# Installs the Debian packages flotilla's lab, tests and demo need. Idempotent: a
# machine that has them all returns at once. Package services are not started:
# the lab starts its own engines, sshds and registry with its own flags.
set -eu

need=""
have() { command -v "$1" >/dev/null 2>&1; }
have dockerd || need="$need docker.io"
# The openssh transport runs `docker system dial-stdio` on the (lab) host.
have docker || [ -x /usr/bin/docker ] || need="$need docker.io"
# Lab users without access to the engine socket (internal/lab/faults.go).
have useradd || [ -x /usr/sbin/useradd ] || need="$need passwd"
have sshd || [ -x /usr/sbin/sshd ] || need="$need openssh-server openssh-client"
have docker-registry || [ -x /usr/bin/docker-registry ] || need="$need docker-registry"
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx wget && ldd /bin/busybox 2>&1 | grep -q 'not a dynamic' || need="$need busybox-static"
have zstd || need="$need zstd"
[ -x /usr/bin/time ] || need="$need time"
have ssh-agent || need="$need openssh-client"
have ip || need="$need iproute2"
have setfacl || need="$need acl"
have git || need="$need git"
have make || need="$need make"
# flotilla rootless tests: a real rootless engine run as a lab user, and sudo for --fix.
have rootlesskit || need="$need rootlesskit"
have newuidmap || [ -x /usr/bin/newuidmap ] || need="$need uidmap"
have slirp4netns || need="$need slirp4netns"
have sudo || need="$need sudo"

[ -z "$need" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$need; run as root or install them with apt-get" >&2
	exit 1
fi

# Keep package scripts from starting the system's dockerd (it would create
# docker0 and iptables rules) or sshd; only the lab's own processes run.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends $need </dev/null
