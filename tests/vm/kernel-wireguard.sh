#!/usr/bin/env bash
# Run inside the VM by kernel-wireguard.test (or on any host whose kernel has WireGuard):
# two sites in namespaces, joined by a veth underlay, a kernel WireGuard tunnel, and a VXLAN
# segment bridged over that tunnel to a tenant namespace on each side. Prints "ok ..." per check.
# Every process start costs a tenth of a second or more under TCG, so `ip` runs in batches.
set -euo pipefail

p=kwg$$
A=$p-a B=$p-b HA=$p-ha HB=$p-hb
work=$(mktemp -d)
out=${VM_OUT:-$work}

cleanup() {
	local ns
	for ns in "$A" "$B" "$HA" "$HB"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
ok() { echo "ok $*"; }

echo "kernel $(uname -r)"

# Keys first: wg set reads them from files.
for s in a b; do
	(umask 077 && wg genkey >"$work/$s.key")
	wg pubkey <"$work/$s.key" >"$work/$s.pub"
done
pub_a=$(cat "$work/a.pub") pub_b=$(cat "$work/b.pub")
cp "$work/a.pub" "$work/b.pub" "$out/"

# Namespaces and the links between them. WireGuard opens its UDP socket in the namespace
# that creates the link, so site() creates wg0 from inside each site's namespace.
ip -batch - <<EOF
netns add $A
netns add $B
netns add $HA
netns add $HB
link add u0 netns $A type veth peer name u0 netns $B
link add t0 netns $A type veth peer name eth0 netns $HA
link add t0 netns $B type veth peer name eth0 netns $HB
EOF

site() { # NS UNDERLAY SUFFIX6 LOCAL REMOTE KEY PEER-PUB PEER-UNDERLAY PEER-SUFFIX6
	ip -n "$1" -batch - <<EOF
link set lo up
address add $2/24 dev u0
link set u0 up
link add wg0 type wireguard
address add $4/24 dev wg0
address add 2001:db8:1::$3/64 dev wg0 nodad
link add vx42 type vxlan id 42 local $4 remote $5 dstport 4789 dev wg0
link add br42 type bridge
link set vx42 master br42
link set t0 master br42
link set t0 mtu 1370
link set br42 up
link set t0 up
EOF
	ip netns exec "$1" wg set wg0 private-key "$work/$6.key" listen-port 51820 \
		peer "$7" endpoint "$8:51820" allowed-ips "$5/32,2001:db8:1::$9/128"
	ip -n "$1" link set wg0 up
}
tenant() { # NS ADDR
	# MTU 1370 leaves room for VXLAN (50) inside WireGuard's 1420, so full frames cross.
	ip -n "$1" -batch - <<EOF
link set lo up
link set eth0 mtu 1370
address add $2/24 dev eth0
link set eth0 up
EOF
}

site "$A" 198.51.100.1 1 192.0.2.1 192.0.2.2 a "$pub_b" 198.51.100.2 2
site "$B" 198.51.100.2 2 192.0.2.2 192.0.2.1 b "$pub_a" 198.51.100.1 1
# VXLAN traffic starts the handshake. Had it started before the far end's wg0 was up, the
# initiation would be lost and WireGuard would retry only after its 5 s rekey timeout.
ip -n "$A" link set vx42 up
ip -n "$B" link set vx42 up
tenant "$HA" 10.42.0.1
tenant "$HB" 10.42.0.2

links=$(ip -n "$A" -o -d link show)
grep -q '^[0-9]*: wg0: .* wireguard ' <<<"$links" || fail "wg0 is not a kernel WireGuard link: $links"
grep -q '^[0-9]*: vx42: .* vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dev wg0 ' <<<"$links" ||
	fail "vx42 is not VXLAN 42 over wg0: $links"
grep -q '^[0-9]*: vx42: .* master br42 ' <<<"$links" || fail "vx42 is not in br42: $links"
ok "kernel wireguard, vxlan and bridge links created"

ping_ok() { # NS ARGS...: at least three echo replies within the deadline
	local ns=$1 res n
	shift
	# A deadline rather than a count of probes: the first probes wait for the handshake,
	# which under TCG on a busy host can take seconds.
	res=$(ip netns exec "$ns" ping -q -c 3 -i 0.3 -w 30 "$@" 2>&1) || fail "ping $* from $ns: $res"
	n=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$res")
	[ "${n:-0}" -ge 3 ] || fail "ping $* from $ns: $res"
	grep 'received' <<<"$res"
}

ping_ok "$A" 192.0.2.2
ok "ping over wireguard (ipv4)"
ping_ok "$A" -6 2001:db8:1::2
ok "ping over wireguard (ipv6)"

# The tunnel is real only if both ends completed a handshake and moved bytes through it.
ip netns exec "$A" wg show wg0 dump >"$out/wg-a.dump"
peer=$(awk -v k="$pub_b" 'NR > 1 && $1 == k' "$out/wg-a.dump")
[ -n "$peer" ] || fail "site a has no peer b: $(cat "$out/wg-a.dump")"
read -r _ _ endpoint _ handshake rx tx _ <<<"$peer"
[ "$endpoint" = 198.51.100.2:51820 ] || fail "peer endpoint is $endpoint"
[ "$handshake" -gt 0 ] || fail "no handshake with peer b"
{ [ "$rx" -gt 0 ] && [ "$tx" -gt 0 ]; } || fail "peer b moved no bytes (rx $rx tx $tx)"
ok "wg show: handshake done, rx $rx tx $tx bytes"

ping_ok "$HA" 10.42.0.2
ping_ok "$HA" -M "do" -s 1342 10.42.0.2
ok "ping across the bridged vxlan segment, full-size frames included"

# The far tenant's MAC was learned on the VXLAN port, behind the far site's overlay address.
mac_b=$(ip -n "$HB" -br link show eth0 | awk '{ print $3 }')
fdb=$(bridge -n "$A" fdb show br br42)
grep -q "^$mac_b dev vx42 master br42" <<<"$fdb" || fail "bridge did not learn $mac_b on vx42: $fdb"
grep -q "^$mac_b dev vx42 dst 192.0.2.2 " <<<"$fdb" || fail "no vxlan entry for $mac_b: $fdb"
ok "bridge learned $mac_b on vx42 via 192.0.2.2"

if [ -n "${NETD:-}" ]; then
	[ -x "$NETD" ] || fail "NETD=$NETD is not an executable"
	"$NETD" -V >"$out/netd-version"
	ok "host-built $NETD runs: $(cat "$out/netd-version")"
fi
echo "all checks passed"
