# flotilla rootless probe: run as `sh -s -- USER` on a fleet host. It reads
# what rootless Docker needs for USER and prints key=value lines; it changes
# nothing and needs no privilege. flotilla parses the lines (tasks/rootless_probe.go).
u=$1
emit() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')"; }

emit probe_version 1
emit ssh_uid "$(id -u)"
emit ssh_user "$(id -un 2>/dev/null)"

pw=$(getent passwd "$u" 2>/dev/null) || pw=$(awk -F: -v u="$u" '$1 == u' /etc/passwd 2>/dev/null | head -n 1)
if [ -z "$pw" ]; then
	emit user_missing 1
	exit 0
fi
uid=$(printf '%s' "$pw" | cut -d: -f3)
home=$(printf '%s' "$pw" | cut -d: -f6)
xdg=/run/user/$uid
emit uid "$uid"
emit home "$home"
emit pid1 "$(cat /proc/1/comm 2>/dev/null)"
if [ -d /run/systemd/system ]; then emit systemd_booted 1; else emit systemd_booted 0; fi

# linger: loginctl when logind answers, else the file logind reads at boot.
if command -v loginctl >/dev/null 2>&1; then
	out=$(loginctl show-user "$u" -p Linger 2>&1)
	emit loginctl_rc $?
	emit loginctl_out "$out"
else
	emit loginctl_rc missing
fi
if [ -e "/var/lib/systemd/linger/$u" ]; then
	emit linger_file yes
elif [ -d /var/lib/systemd/linger ]; then
	emit linger_file no
else
	emit linger_file nodir
fi

# the engine's socket and process
if [ -d "$xdg" ]; then emit runtime_dir yes; else emit runtime_dir no; fi
if [ -S "$xdg/docker.sock" ]; then
	emit rootless_socket yes
elif [ -d "$xdg" ] && ! [ -x "$xdg" ]; then
	emit rootless_socket unknown
else
	emit rootless_socket no
fi
n=0
for d in /proc/[0-9]*; do
	c=
	{ read -r c <"$d/comm"; } 2>/dev/null
	[ "$c" = dockerd ] || continue
	[ "$(stat -c %u "$d" 2>/dev/null)" = "$uid" ] && n=$((n + 1))
done
emit dockerd_procs $n

# the user service: systemctl --user as the user itself, or for root through
# the user's manager (-M USER@); the unit files are the fallback.
if command -v systemctl >/dev/null 2>&1; then
	if [ "$(id -u)" = "$uid" ]; then
		emit svc_via self
		emit svc_enabled "$(XDG_RUNTIME_DIR=$xdg systemctl --user is-enabled docker 2>&1 | head -n 2)"
		emit svc_active "$(XDG_RUNTIME_DIR=$xdg systemctl --user is-active docker 2>&1 | head -n 2)"
	elif [ "$(id -u)" = 0 ]; then
		emit svc_via machine
		emit svc_enabled "$(systemctl --user -M "$u@" is-enabled docker 2>&1 | head -n 2)"
		emit svc_active "$(systemctl --user -M "$u@" is-active docker 2>&1 | head -n 2)"
	fi
else
	emit svc_via none
fi
if [ -x "$home" ]; then
	emit home_access 1
else
	emit home_access 0
fi
for f in "$home/.config/systemd/user/docker.service" /etc/systemd/user/docker.service \
	/usr/lib/systemd/user/docker.service /usr/local/lib/systemd/user/docker.service; do
	[ -f "$f" ] && emit unit_file "$f"
done
if [ -e "$home/.config/systemd/user/default.target.wants/docker.service" ]; then
	emit unit_wants yes
fi

# subordinate ids, by name or by uid; max_end helps pick a free range for the fix.
for f in subuid subgid; do
	if [ -r "/etc/$f" ]; then
		awk -F: -v u="$u" -v id="$uid" -v k="$f" '
			NF >= 3 && ($1 == u || $1 == id) { printf "%s=%s:%s\n", k, $2, $3 }
			NF >= 3 && $2 + $3 > m { m = $2 + $3 }
			END { printf "%s_max_end=%.0f\n", k, m }' "/etc/$f"
	else
		emit "${f}_file" missing
	fi
done

# newuidmap/newgidmap: setuid root or file capabilities.
for b in newuidmap newgidmap; do
	p=$(command -v "$b" 2>/dev/null)
	if [ -z "$p" ]; then
		for c in /usr/bin/$b /usr/sbin/$b /bin/$b /sbin/$b; do
			if [ -x "$c" ]; then
				p=$c
				break
			fi
		done
	fi
	if [ -z "$p" ]; then
		emit "${b}_path" ""
		continue
	fi
	emit "${b}_path" "$p"
	emit "${b}_stat" "$(stat -L -c '%a %u' "$p" 2>/dev/null)"
	for g in getcap /usr/sbin/getcap /sbin/getcap; do
		if command -v "$g" >/dev/null 2>&1; then
			emit "${b}_caps" "$("$g" "$p" 2>/dev/null)"
			break
		fi
	done
done

# kernel settings
# (cat, not read: sysctl files answer only a read at offset 0)
rd() {
	if [ -r "$2" ]; then emit "$1" "$(cat "$2" 2>/dev/null)"; fi
}
rd userns_clone /proc/sys/kernel/unprivileged_userns_clone
rd max_user_namespaces /proc/sys/user/max_user_namespaces
rd apparmor_restrict_userns /proc/sys/kernel/apparmor_restrict_unprivileged_userns
rd unprivileged_port_start /proc/sys/net/ipv4/ip_unprivileged_port_start

# where the user's docker CLI points: DOCKER_HOST in shell and environment.d
# files, or the current context in ~/.docker/config.json.
if [ -x "$home" ]; then
	for f in "$home/.bashrc" "$home/.bash_profile" "$home/.profile" "$home/.zshrc" "$home/.zprofile" \
		"$home"/.config/environment.d/*.conf; do
		[ -r "$f" ] || continue
		grep -h 'DOCKER_HOST=' "$f" 2>/dev/null | head -n 5 | while IFS= read -r l; do
			emit docker_host_line "${f#"$home"/}:$l"
		done
	done
	if [ -r "$home/.docker/config.json" ]; then
		emit docker_current_context "$(sed -n 's/.*"currentContext"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$home/.docker/config.json" | head -n 1)"
	fi
	for m in "$home"/.docker/contexts/meta/*/meta.json; do
		[ -r "$m" ] && emit docker_context "$(head -c 4096 "$m")"
	done
fi
emit probe_done 1
