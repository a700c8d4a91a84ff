# Shared helpers for netd's shell tests. Source it; it sets a cleanup trap on EXIT.
# Each test gets its own temp dir ($T) and network namespace ($NS: netd builds its
# WireGuard interface and listens for gossip there, never in the machine's own namespace),
# and stops every netd it started and everything netd left there, also on failure.
set -euo pipefail

: "${SRCDIR:?run through tests/run or make check}" "${NETD:?}" "${NETDCTL:?}"
T=$(mktemp -d /tmp/netd-test.XXXXXX)
NETD_PIDS=()
NS=netd-t$$
ip netns add "$NS"
ip -n "$NS" link set lo up

cleanup() {
	local rc=$?
	for pid in "${NETD_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${NETD_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	# Stopping netd keeps its data plane, a userspace WireGuard included.
	for pid in $(ip netns pids "$NS" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for key in "$T"/*.key; do
		[ -e "$key" ] || continue
		rm -f "/var/run/wireguard/wg-$(basename "$key" .key).sock"
	done
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

# new_key FILE: a private key readable by its owner only.
new_key() {
	(umask 077 && "$NETD" genkey >"$1")
}

# write_config FILE SITE [EXTRA...]: a minimal valid config for one site, with its key and
# status socket inside $T. Extra lines are appended verbatim.
write_config() {
	local file=$1 site=$2
	shift 2
	[ -f "$T/$site.key" ] || new_key "$T/$site.key"
	{
		echo "site = { name = \"$site\"; log_level = \"debug\"; };"
		echo "wireguard = { interface = \"wg-$site\"; private_key_file = \"$T/$site.key\"; };"
		echo "control = { socket = \"$T/$site.sock\"; };"
		echo "gossip = { bind = \"127.0.0.1:7946\"; state_file = \"$T/$site.state\"; };"
		for line in "$@"; do echo "$line"; done
	} >"$file"
}

# start_netd CONF SOCKET [WRAPPER...]: start netd in the background (optionally under a
# wrapper such as valgrind) and wait until its status socket answers.
start_netd() {
	local conf=$1 sock=$2
	shift 2
	ip netns exec "$NS" "$@" "$NETD" -f "$conf" >>"$T/netd.log" 2>&1 &
	NETD_PIDS+=($!)
	LAST_PID=$!
	for _ in $(seq 600); do
		if "$NETDCTL" -s "$sock" status >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$LAST_PID" 2>/dev/null || { cat "$T/netd.log" >&2; fail "netd exited at start"; }
		sleep 0.1
	done
	cat "$T/netd.log" >&2
	fail "netd did not answer on $sock"
}

# stop_netd PID: SIGTERM and wait; returns netd's exit status.
stop_netd() {
	local pid=$1 rc=0
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	return $rc
}

# json_get JSON JQ-FILTER
json_get() { jq -er "$2" <<<"$1"; }
