#!/usr/bin/env bash
# usage: wg-tunnel.sh userspace|kernel   (run by tests/kernel/wg-userspace.test on the host and
# by tests/vm/wg-kernel.test inside the VM; needs SRCDIR and BUILD)
#
# WireGuard driven by netd's own helpers in two network namespaces joined by a veth pair.
# khtool (the library) creates the device on each side (userspace: starts wireguard-go;
# kernel: a "wireguard" link) and sets keys, ports, peers and allowed-ips; ping crosses the
# tunnel; `wg show dump` must print exactly what was configured and the library must read
# back the same; creating again adopts (userspace) or is refused (kernel) without disturbing
# anything; one-peer deltas change only that peer; 20,000 peers and a peer with 5,000
# allowed-ips go in and come back; deleting the device removes it. `wg genkey`, `ip addr/route`
# and `wg show` only make keys and addresses, and check.
set -euo pipefail

: "${SRCDIR:?run through tests/run}" "${BUILD:?run through tests/run}"
BACKEND=${1:?usage: wg-tunnel.sh userspace|kernel}
TOOL=$BUILD/khtool
A=ndt-wg-a-$$
B=ndt-wg-b-$$
WA=ndt-wg$$a # wireguard-go's socket directory is shared by every namespace: unique names
WB=ndt-wg$$b
WC=ndt-wg$$c
SOCKDIR=/var/run/wireguard
TMP=$(mktemp -d /tmp/ndt-wg.XXXXXX)

# wireguard-go processes of this test's interfaces (the daemon runs as "wireguard-go IFACE").
wg_pids() { pgrep -f "wireguard-go $1\$" || true; }

cleanup() {
	local rc=$? w
	# A process with sockets in a namespace keeps it alive: end wireguard-go explicitly.
	for w in "$WA" "$WB" "$WC"; do
		# shellcheck disable=SC2046
		kill -TERM $(wg_pids "$w") 2>/dev/null || true
	done
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	sleep 0.2
	for w in "$WA" "$WB" "$WC"; do
		# shellcheck disable=SC2046
		kill -KILL $(wg_pids "$w") 2>/dev/null || true
		rm -f "$SOCKDIR/$w.sock"
	done
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}

case $BACKEND in userspace | kernel) ;; *) fail "unknown backend $BACKEND" ;; esac
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
for c in ip ping wg pgrep; do
	command -v "$c" >/dev/null || skip "needs $c"
done
[ -x "$TOOL" ] || fail "$TOOL is not built (make tests)"
if [ "$BACKEND" = userspace ]; then
	command -v wireguard-go >/dev/null || skip "needs wireguard-go"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun for wireguard-go"
else
	"$TOOL" wg-kernel || skip "this kernel has no WireGuard"
fi
ip netns add "$A" || skip "cannot create network namespaces"
ip netns add "$B"
echo "backend $BACKEND, kernel $(uname -r)"

in_a() { ip netns exec "$A" "$@"; }
in_b() { ip netns exec "$B" "$@"; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] && return 0
	printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3" >&2
	exit 1
}

# expect_fail WHAT PATTERN COMMAND...: COMMAND must fail with a message matching PATTERN.
expect_fail() {
	local what=$1 pattern=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		fail "$what: succeeded"
	fi
	# shellcheck disable=SC2254
	case $out in $pattern) ;; *) fail "$what: unexpected message: $out" ;; esac
}

# create NS-RUNNER NAME: a new device through the library, by this test's backend.
create() {
	if [ "$BACKEND" = userspace ]; then
		expect_eq "first start of $2" started "$("$1" "$TOOL" wg-start "$2")"
	else
		"$1" "$TOOL" wg-add "$2" kernel || fail "creating $2"
	fi
}

# wait_deleted NS-RUNNER NAME: until the device and (userspace) its process are gone.
wait_deleted() {
	for _ in $(seq 50); do
		if ! "$1" ip link show "$2" >/dev/null 2>&1 && [ -z "$(wg_pids "$2")" ]; then
			[ ! -e "$SOCKDIR/$2.sock" ] || fail "socket of $2 left behind"
			return 0
		fi
		sleep 0.1
	done
	fail "$2 still exists (or its wireguard-go still runs)"
}

# The static columns of `wg show dump` (keys, endpoint, allowed-ips, keepalive), one peer
# per line with its allowed-ips sorted, peers sorted: the order is the implementation's.
static_dump() {
	awk -F'\t' 'NR == 1 { print; next }
		{ n = split($4, a, ","); s = ""
		  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		  for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") a[i]
		  print $1 "\t" $2 "\t" $3 "\t" s "\t" $8 }' | { IFS= read -r first; echo "$first"; sort; }
}

ip link add v0 netns "$A" type veth peer name v0 netns "$B"
in_a ip addr add 192.0.2.1/24 dev v0
in_b ip addr add 192.0.2.2/24 dev v0
for ns in "$A" "$B"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set v0 up
done

(umask 077 && wg genkey >"$TMP/a.key" && wg genkey >"$TMP/b.key" && wg genpsk >"$TMP/psk")
KA=$(cat "$TMP/a.key") KB=$(cat "$TMP/b.key") PSK=$(cat "$TMP/psk")
PA=$(wg pubkey <"$TMP/a.key") PB=$(wg pubkey <"$TMP/b.key")
PX=$(wg genkey | wg pubkey) # a third peer that never answers
PY=$(wg genkey | wg pubkey)

# --- create: each side's library makes its own device ---
create in_a "$WA"
create in_b "$WB"
expect_eq "backend of A's device" "$BACKEND" "$(in_a "$TOOL" wg-backend "$WA")"
# Userspace sockets share one directory; each namespace lists only its own device.
expect_eq "devices listed in A" "$WA" "$(in_a "$TOOL" wg-list)"
expect_eq "devices listed in B" "$WB" "$(in_b "$TOOL" wg-list)"
if [ "$BACKEND" = userspace ]; then
	[ -S "$SOCKDIR/$WA.sock" ] || fail "no socket $SOCKDIR/$WA.sock"
	pid_a=$(wg_pids "$WA")
	[ "$(echo "$pid_a" | wc -w)" -eq 1 ] || fail "expected one wireguard-go for $WA: '$pid_a'"
	# It outlives its starter: not our child, in a session of its own, stdin on /dev/null.
	expect_eq "parent of wireguard-go" 1 "$(ps -o ppid= -p "$pid_a" | tr -d ' ')"
	[ "$(ps -o sid= -p "$pid_a" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ] ||
		fail "wireguard-go shares the test's session"
	expect_eq "stdin of wireguard-go" /dev/null "$(readlink "/proc/$pid_a/fd/0")"
fi

# Both links up before any peer exists: a handshake sent to a device that is still down is
# only retried after WireGuard's 5 s rekey timeout.
in_a ip addr add 10.77.1.1/24 dev "$WA"
in_a ip addr add fd77:1::1/64 dev "$WA" nodad
in_a ip link set "$WA" up
in_a ip route add 10.77.2.0/24 dev "$WA"
in_a ip route add fd77:2::/64 dev "$WA"
in_b ip addr add 10.77.2.1/24 dev "$WB"
in_b ip addr add fd77:2::1/64 dev "$WB" nodad
in_b ip link set "$WB" up
in_b ip route add 10.77.1.0/24 dev "$WB"
in_b ip route add fd77:1::/64 dev "$WB"

# --- configure through the library; B first: A's persistent keepalive starts a handshake ---
in_b "$TOOL" wg-set "$WB" private-key "$TMP/b.key" listen-port 51821 \
	peer "$PA" preshared-key "$TMP/psk" endpoint 192.0.2.1:51820 \
	allowed-ips 10.77.1.0/24,fd77:1::/64 || fail "configuring B"
in_a "$TOOL" wg-set "$WA" private-key "$TMP/a.key" listen-port 51820 fwmark 0x1234 \
	peer "$PB" preshared-key "$TMP/psk" endpoint 192.0.2.2:51821 persistent-keepalive 25 \
	allowed-ips 10.77.2.0/24,fd77:2::/64 \
	peer "$PX" endpoint "[2001:db8::9]:9999" allowed-ips 10.77.9.0/24,10.77.10.0/24,fd77:9::/48 ||
	fail "configuring A"

# The first packet waits for the handshake.
in_a ping -c 1 -W 5 10.77.2.1 >/dev/null || fail "no IPv4 ping through the tunnel"
in_a ping -c 3 -i 0.2 -W 2 10.77.2.1 >/dev/null || fail "no IPv4 ping through the tunnel"
in_a ping -6 -c 3 -i 0.2 -W 2 fd77:2::1 >/dev/null || fail "no IPv6 ping through the tunnel"
echo "ok ping across $BACKEND WireGuard"

# --- what wg(8) reads is exactly what was configured ---
want_a=$(printf '%s\t%s\t51820\t0x1234\n%s\t%s\t192.0.2.2:51821\t10.77.2.0/24,fd77:2::/64\t25\n%s\t(none)\t[2001:db8::9]:9999\t10.77.10.0/24,10.77.9.0/24,fd77:9::/48\toff\n' \
	"$KA" "$PA" "$PB" "$PSK" "$PX" | { IFS= read -r first; echo "$first"; sort; })
want_b=$(printf '%s\t%s\t51821\toff\n%s\t%s\t192.0.2.1:51820\t10.77.1.0/24,fd77:1::/64\toff\n' \
	"$KB" "$PB" "$PA" "$PSK")
expect_eq "wg show $WA dump" "$want_a" "$(in_a wg show "$WA" dump | static_dump)"
expect_eq "wg show $WB dump" "$want_b" "$(in_b wg show "$WB" dump | static_dump)"
# The library reads the device back as wg(8) does, counters and handshake included.
expect_eq "library's view of A" "$want_a" "$(in_a "$TOOL" wg-dump "$WA" | static_dump)"
in_a "$TOOL" wg-dump "$WA" | awk -F'\t' -v pb="$PB" '$1 == pb { f = $5 > 0 && $6 > 0 && $7 > 0 } END { exit !f }' ||
	fail "no handshake or traffic counted for B's peer on A"
echo "ok wg show dump and the library agree with the configuration"

# --- creating again disturbs nothing ---
if [ "$BACKEND" = userspace ]; then
	expect_eq "second start on A" adopted "$(in_a "$TOOL" wg-start "$WA")"
	expect_eq "wireguard-go for $WA after adoption" "$pid_a" "$(wg_pids "$WA")"
	# B's socket is in the shared directory, but B's device is not A's to adopt.
	expect_fail "A adopting B's device" "*another network namespace*" in_a "$TOOL" wg-start "$WB"
	expect_eq "wireguard-go processes for $WB" 1 "$(wg_pids "$WB" | wc -l)"
else
	expect_fail "adding A's device again" "*exists already*" in_a "$TOOL" wg-add "$WA" kernel
	# A userspace start must not shadow the kernel device of the same name.
	expect_fail "userspace start over a kernel device" "*exists*" in_a "$TOOL" wg-start "$WA"
	[ -z "$(wg_pids "$WA")" ] || fail "a wireguard-go was started for kernel device $WA"
fi
expect_eq "backend after creating again" "$BACKEND" "$(in_a "$TOOL" wg-backend "$WA")"
expect_eq "configuration after creating again" "$want_a" "$(in_a wg show "$WA" dump | static_dump)"
in_a ping -c 1 -W 2 10.77.2.1 >/dev/null || fail "no ping after creating again"
echo "ok creating again keeps the running device"

# --- sparse deltas ---
in_a "$TOOL" wg-set "$WA" peer "$PX" remove
in_a "$TOOL" wg-set "$WA" peer "$PY" update-only allowed-ips 10.77.11.0/24
expect_eq "peers after removing X and updating absent Y" "$PB" "$(in_a wg show "$WA" peers)"
in_a "$TOOL" wg-set "$WA" peer "$PB" replace-allowed-ips allowed-ips 10.77.2.0/25
expect_eq "B's allowed-ips replaced" "$(printf '%s\t10.77.2.0/25' "$PB")" \
	"$(in_a wg show "$WA" allowed-ips)"
expect_eq "B's endpoint untouched by the delta" "$(printf '%s\t192.0.2.2:51821' "$PB")" \
	"$(in_a wg show "$WA" endpoints)"
in_a ping -c 1 -W 2 10.77.2.1 >/dev/null || fail "ping to the remaining allowed range"
in_a "$TOOL" wg-set "$WA" replace-peers peer "$PB" allowed-ips 10.77.2.0/24
expect_eq "replace-peers keeps only B" "$PB" "$(in_a wg show "$WA" peers)"
echo "ok one-peer deltas"

# --- scale: many peers and one peer with many allowed-ips, split and merged as needed ---
create in_a "$WC"
in_a "$TOOL" wg-bulk "$WC" 20000 1 || fail "20,000 peers"
expect_eq "peers wg(8) counts" 20000 "$(in_a wg show "$WC" peers | wc -l)"
in_a "$TOOL" wg-bulk "$WC" 1 5000 || fail "a peer with 5,000 allowed-ips"
expect_eq "allowed-ips wg(8) counts" 5001 "$(in_a wg show "$WC" allowed-ips | wc -w)"
echo "ok 20,000 peers, and a peer with 5,000 allowed-ips"

# --- errors come back in words: a listen port another device in A holds ---
# (kernel WireGuard binds its port only while the link is up)
in_a ip link set "$WC" up
in_a "$TOOL" wg-set "$WC" listen-port 40999
if [ "$BACKEND" = userspace ]; then
	pattern="*$WA*errno=98*"
else
	pattern="*$WA*Address already in use*"
fi
expect_fail "a listen port taken by another device" "$pattern" \
	in_a "$TOOL" wg-set "$WA" listen-port 40999
in_a "$TOOL" wg-del "$WC"
wait_deleted in_a "$WC"
echo "ok errors name the device and say why"

# --- delete ---
in_a "$TOOL" wg-del "$WA"
wait_deleted in_a "$WA"
expect_fail "backend of a deleted device" "*no such WireGuard interface*" \
	in_a "$TOOL" wg-backend "$WA"
expect_eq "devices listed in A after delete" "" "$(in_a "$TOOL" wg-list)"
echo "ok delete removes the device"

# --- add without a backend picks the kernel where it has WireGuard ---
in_a "$TOOL" wg-add "$WA"
expect_eq "backend chosen by add" "$BACKEND" "$(in_a "$TOOL" wg-backend "$WA")"
expect_fail "adding an existing device" "*exists already*" in_a "$TOOL" wg-add "$WA"
in_a "$TOOL" wg-del "$WA"
wait_deleted in_a "$WA"
echo "ok add chooses the $BACKEND backend"
echo "all checks passed"
