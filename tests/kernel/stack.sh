#!/usr/bin/env bash
# usage: stack.sh userspace|kernel   (run by tests/kernel/stack.test on the host and by
# tests/vm/stack.test inside the VM; needs SRCDIR and BUILD)
#
# netd's whole data plane between two sites, built by kernel-helpers alone (khstack):
# two gateway namespaces joined by an underlay veth, each with a host namespace on its site
# LAN behind it. On each gateway: WireGuard (userspace wireguard-go started by the library, or
# the kernel's), a VXLAN segment (VNI 100) carried inside the tunnel and bridged, the all-zero
# FDB entry towards the other VTEP, the other site's prefix routed through the tunnel in table
# 51820 with protocol 200 and a policy rule. Pings cross the tunnel, the L2 segment (full-size
# frames with DF set) and both sites; wg, ip and bridge must print exactly what was asked; a
# route of another owner is reported and left alone. `ip` only creates namespaces and veths.
set -euo pipefail

: "${SRCDIR:?run through tests/run}" "${BUILD:?run through tests/run}"
BACKEND=${1:?usage: stack.sh userspace|kernel}
TOOL=$BUILD/khstack
TABLE=51820
PROTO=200
A=ndt-st-a-$$ # gateways
B=ndt-st-b-$$
HA=ndt-st-ha-$$ # a host on each site's LAN
HB=ndt-st-hb-$$
WA=ndt-st$$a # wireguard-go's socket directory is shared by every namespace: unique names
WB=ndt-st$$b
VX=ndt-stvx
BR=ndt-stbr
SOCKDIR=/var/run/wireguard
TMP=$(mktemp -d /tmp/ndt-st.XXXXXX)

# wireguard-go processes of this test's interfaces (it runs as "wireguard-go IFACE").
wg_pids() { pgrep -f "wireguard-go $1\$" || true; }

cleanup() {
	local rc=$? w ns
	# A process with sockets in a namespace keeps it alive: end wireguard-go explicitly.
	for w in "$WA" "$WB"; do
		# shellcheck disable=SC2046
		kill -TERM $(wg_pids "$w") 2>/dev/null || true
	done
	for ns in "$A" "$B" "$HA" "$HB"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	sleep 0.2
	for w in "$WA" "$WB"; do
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

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] && return 0
	printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3" >&2
	exit 1
}

# expect_match WHAT EXTENDED-REGEX TEXT
expect_match() {
	grep -Eq -- "$2" <<<"$3" && return 0
	printf 'FAIL: %s: no match for /%s/ in\n%s\n' "$1" "$2" "$3" >&2
	exit 1
}

case $BACKEND in userspace | kernel) ;; *) fail "unknown backend $BACKEND" ;; esac
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
for c in ip bridge ping wg pgrep sysctl; do
	command -v "$c" >/dev/null || skip "needs $c"
done
[ -x "$TOOL" ] || fail "$TOOL is not built (make tests)"
[ -x "$BUILD/khtool" ] || fail "$BUILD/khtool is not built (make tests)"
if [ "$BACKEND" = userspace ]; then
	command -v wireguard-go >/dev/null || skip "needs wireguard-go"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun for wireguard-go"
else
	"$BUILD/khtool" wg-kernel || skip "this kernel has no WireGuard"
fi
ip netns add "$A" || skip "cannot create network namespaces"
for ns in "$B" "$HA" "$HB"; do
	ip netns add "$ns"
done
echo "backend $BACKEND, kernel $(uname -r)"

in_a() { ip netns exec "$A" "$@"; }
in_b() { ip netns exec "$B" "$@"; }
in_ha() { ip netns exec "$HA" "$@"; }
in_hb() { ip netns exec "$HB" "$@"; }

# Lines without the trailing blanks ip(8) leaves on some.
trimmed() { sed 's/[[:space:]]*$//'; }

# The static columns of `wg show dump` (keys, port, fwmark; peer keys, endpoint, allowed-ips
# sorted, keepalive): handshake time and counters change by themselves.
static_dump() {
	awk -F'\t' 'NR == 1 { print; next }
		{ n = split($4, a, ","); s = ""
		  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		  for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") a[i]
		  print $1 "\t" $2 "\t" $3 "\t" s "\t" $8 }'
}

# frag_creates NS-RUNNER: IPv4 fragments the namespace has made (/proc/net/snmp, Ip: lines).
frag_creates() {
	# shellcheck disable=SC2016
	"$1" awk '$1 == "Ip:" && !h { for (i = 2; i <= NF; i++) if ($i == "FragCreates") c = i; h = 1; next }
		$1 == "Ip:" { print $c }' /proc/net/snmp
}

# --- namespaces and veths (kernel-helpers makes no veths); everything else through khstack ---
ip link add ul netns "$A" type veth peer name ul netns "$B"
ip link add lan netns "$A" type veth peer name lan netns "$HA"
ip link add lan netns "$B" type veth peer name lan netns "$HB"
in_a "$TOOL" iface ul address 192.0.2.1/24
in_b "$TOOL" iface ul address 192.0.2.2/24
in_a "$TOOL" iface lan address 10.201.0.1/24
in_b "$TOOL" iface lan address 10.202.0.1/24
in_ha "$TOOL" iface lan address 10.201.0.2/24 gateway 10.201.0.1
in_hb "$TOOL" iface lan address 10.202.0.2/24 gateway 10.202.0.1
in_a sysctl -qw net.ipv4.ip_forward=1
in_b sysctl -qw net.ipv4.ip_forward=1
UMTU=$(in_a cat /sys/class/net/ul/mtu)
WMTU=$((UMTU - 80))
VMTU=$((WMTU - 50))

(umask 077 && wg genkey >"$TMP/a.key" && wg genkey >"$TMP/b.key")
KA=$(cat "$TMP/a.key") KB=$(cat "$TMP/b.key")
PA=$(wg pubkey <"$TMP/a.key") PB=$(wg pubkey <"$TMP/b.key")

# --- WireGuard on both sides before anything is sent into either tunnel: a handshake that
# reaches a side not yet listening is retried only after WireGuard's 5 s rekey timeout ---
[ "$BACKEND" = userspace ] && how=started || how=created
expect_eq "WireGuard on A" "$how mtu $WMTU" "$(in_a "$TOOL" wireguard "$WA" "$BACKEND" \
	underlay ul key "$TMP/a.key" port 51820 address 10.99.0.1/24 \
	peer "$PB" endpoint 192.0.2.2:51821 allowed-ips 10.99.0.2/32,10.202.0.0/24)"
expect_eq "WireGuard on B" "$how mtu $WMTU" "$(in_b "$TOOL" wireguard "$WB" "$BACKEND" \
	underlay ul key "$TMP/b.key" port 51821 address 10.99.0.2/24 \
	peer "$PA" endpoint 192.0.2.1:51820 allowed-ips 10.99.0.1/32,10.201.0.0/24)"

# --- the segment over the tunnel, then the routes to the other site ---
expect_eq "segment on A" "mtu $VMTU" "$(in_a "$TOOL" segment "$VX" over "$WA" vni 100 \
	local 10.99.0.1 port 4789 bridge "$BR" address 10.100.0.1/24 remote 10.99.0.2)"
expect_eq "segment on B" "mtu $VMTU" "$(in_b "$TOOL" segment "$VX" over "$WB" vni 100 \
	local 10.99.0.2 port 4789 bridge "$BR" address 10.100.0.2/24 remote 10.99.0.1)"
expect_eq "routes on A" "installed 10.202.0.0/24" \
	"$(in_a "$TOOL" routes "$WA" table $TABLE proto $PROTO metric 10 rule 1000 10.202.0.0/24)"
expect_eq "routes on B" "installed 10.201.0.0/24" \
	"$(in_b "$TOOL" routes "$WB" table $TABLE proto $PROTO metric 10 rule 1000 10.201.0.0/24)"

# --- traffic: the first packet waits for the handshake (a deadline, not a count) ---
in_a ping -c 1 -w 20 10.99.0.2 >/dev/null || fail "no ping across WireGuard (overlay to overlay)"
in_b ping -c 3 -i 0.2 -W 2 10.99.0.1 >/dev/null || fail "no ping across WireGuard from B"
echo "ok ping over the tunnel"
in_a ping -c 1 -w 10 10.100.0.2 >/dev/null || fail "no ping across the VXLAN segment"
in_b ping -c 3 -i 0.2 -W 2 10.100.0.1 >/dev/null || fail "no ping across the segment from B"
echo "ok ping over the L2 segment (VXLAN inside WireGuard)"
# Host to host: only table 51820 knows the other site on either gateway.
expect_eq "A's main table towards B's site" "" "$(in_a ip route show table main 10.202.0.0/24)"
expect_match "A's route to B's site" "^10\.202\.0\.2 dev $WA table $TABLE " \
	"$(in_a ip route get 10.202.0.2)"
expect_match "B's route to A's site" "^10\.201\.0\.2 dev $WB table $TABLE " \
	"$(in_b ip route get 10.201.0.2)"
in_ha ping -c 1 -w 10 10.202.0.2 >/dev/null || fail "no ping from site A's host to site B's"
in_hb ping -c 3 -i 0.2 -W 2 10.201.0.2 >/dev/null || fail "no ping from site B's host to site A's"
echo "ok ping between the sites through table $TABLE"

# --- MTUs: a full-size frame with DF set crosses the segment, unfragmented on the way ---
expect_match "MTU of $WA" " mtu $WMTU " "$(in_a ip link show "$WA")"
frags_a=$(frag_creates in_a)
in_a ping -c 3 -i 0.2 -W 2 -M "do" -s $((VMTU - 28)) 10.100.0.2 >"$TMP/ping.out" ||
	{ cat "$TMP/ping.out" >&2; fail "no full-size ping ($VMTU bytes, DF) across the segment"; }
in_b ping -c 1 -W 2 -M "do" -s $((VMTU - 28)) 10.100.0.1 >/dev/null ||
	fail "no full-size ping across the segment from B"
expect_eq "IPv4 fragments made on A" "$frags_a" "$(frag_creates in_a)"
if in_a ping -c 1 -W 2 -M "do" -s $((VMTU - 27)) 10.100.0.2 >"$TMP/big.out" 2>&1; then
	fail "a frame one byte over the segment's MTU went through"
fi
grep -q "mtu=$VMTU" "$TMP/big.out" || fail "one byte over the MTU: $(cat "$TMP/big.out")"
echo "ok full-size ping ($VMTU bytes, DF) over the segment, WireGuard MTU $WMTU"

# --- what wg, ip and bridge print is exactly what was asked ---
expect_eq "wg show $WA dump" \
	"$(printf '%s\t%s\t51820\toff\n%s\t(none)\t192.0.2.2:51821\t10.202.0.0/24,10.99.0.2/32\toff' "$KA" "$PA" "$PB")" \
	"$(in_a wg show "$WA" dump | static_dump)"
expect_eq "wg show $WB dump" \
	"$(printf '%s\t%s\t51821\toff\n%s\t(none)\t192.0.2.1:51820\t10.201.0.0/24,10.99.0.1/32\toff' "$KB" "$PB" "$PA")" \
	"$(in_b wg show "$WB" dump | static_dump)"
in_a wg show "$WA" dump | awk -F'\t' -v pb="$PB" '$1 == pb { f = $5 > 0 && $6 > 0 && $7 > 0 } END { exit !f }' ||
	fail "no handshake or traffic counted for B on A"
expect_eq "ip route show table $TABLE proto $PROTO on A" \
	"10.202.0.0/24 dev $WA scope link metric 10" \
	"$(in_a ip route show table $TABLE proto $PROTO | trimmed)"
expect_eq "ip route show table $TABLE proto $PROTO on B" \
	"10.201.0.0/24 dev $WB scope link metric 10" \
	"$(in_b ip route show table $TABLE proto $PROTO | trimmed)"
expect_eq "ip rule on A (table $TABLE)" \
	"1000:	from all to 10.202.0.0/24 lookup $TABLE proto $PROTO" \
	"$(in_a ip rule | grep "lookup $TABLE")"
for side in a b; do
	if [ $side = a ]; then run=in_a local_ip=10.99.0.1 remote_ip=10.99.0.2; else
		run=in_b local_ip=10.99.0.2 remote_ip=10.99.0.1; fi
	vx=$($run ip -d link show "$VX")
	expect_match "ip -d link show $VX ($side)" " mtu $VMTU .* master $BR state" "$vx"
	expect_match "ip -d link show $VX ($side)" \
		"^ +vxlan id 100 local $local_ip srcport 0 0 dstport 4789 nolearning " "$vx"
	grep -q " dev " <<<"$vx" && fail "$VX ($side) is bound to an underlay device: $vx"
	br=$($run ip -d link show "$BR")
	expect_match "ip -d link show $BR ($side)" " mtu $VMTU .* state UP" "$br"
	expect_match "ip -d link show $BR ($side)" "^ +bridge forward_delay " "$br"
	expect_eq "bridge fdb show dev $VX ($side), netd's entries" \
		"00:00:00:00:00:00 dst $remote_ip self permanent" \
		"$($run bridge fdb show dev "$VX" | grep -v ' master ')"
done
expect_match "address of $BR on A" "inet 10\.100\.0\.1/24 " "$(in_a ip -o addr show dev "$BR")"
echo "ok wg, ip and bridge show what was asked"

# --- another owner's routes in netd's table: reported, and left as they are ---
in_a ip route add 10.202.0.128/25 dev "$WA" table $TABLE proto static
in_a ip route add 10.203.0.0/24 dev "$WA" table $TABLE proto static
expect_eq "routes on A again, with another owner's" \
	"collision 10.202.0.0/24: more-specific 10.202.0.128/25 table $TABLE proto 4
installed 10.202.0.0/24
collision 10.203.0.0/24: same 10.203.0.0/24 table $TABLE proto 4
kept 10.203.0.0/24: another owner's" \
	"$(in_a "$TOOL" routes "$WA" table $TABLE proto $PROTO metric 10 rule 1000 10.202.0.0/24 10.203.0.0/24)"
expect_eq "the other owner's routes" \
	"10.202.0.128/25 dev $WA scope link
10.203.0.0/24 dev $WA scope link" \
	"$(in_a ip route show table $TABLE proto static | trimmed)"
expect_eq "netd's routes after the collision" "10.202.0.0/24 dev $WA scope link metric 10" \
	"$(in_a ip route show table $TABLE proto $PROTO | trimmed)"
expect_eq "netd's rules after the collision" \
	"1000:	from all to 10.202.0.0/24 lookup $TABLE proto $PROTO" \
	"$(in_a ip rule | grep "lookup $TABLE")"
in_ha ping -c 1 -W 2 10.202.0.2 >/dev/null || fail "no ping between the sites after the collision"
echo "ok another owner's routes reported and kept"
echo "all checks passed"
