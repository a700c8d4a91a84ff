# shellcheck shell=bash
# Shared by the lab tests (tests/lab/*.test, and tests/vm/lab.test inside the VM). Source it
# with LAB_PREFIX set: it checks what the lab needs (SKIP otherwise), and removes the lab on
# exit, showing the sites' logs first when the test failed.
set -euo pipefail

: "${SRCDIR:?run through tests/run}" "${NETD:?}" "${NETDCTL:?}" "${LAB_PREFIX:?}"
export NETD NETDCTL LAB_PREFIX
export LAB_DIR=/run/netd-lab-$LAB_PREFIX
LAB=$SRCDIR/scripts/lab
TABLE=51820
PROTO=200

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}

lab() { "$LAB" "$@"; }
# Straight to the namespaces and sockets scripts/lab makes: in the emulated VM every process
# started costs tens of milliseconds.
in_gw() { ip netns exec "$LAB_PREFIX-gw$1" "${@:2}"; }
in_host() { ip netns exec "$LAB_PREFIX-h$1" "${@:2}"; }
# A site's NAT router (LAB_NAT), which lab down removes with the rest.
in_nat() { ip netns exec "$LAB_PREFIX-nat$1" "${@:2}"; }
ctl() { "$NETDCTL" -s "$LAB_DIR/site$1.sock" "${@:2}"; }

# The tunnels as WireGuard holds them, a line per peer, for a failed test's last lines:
# whether a handshake ever completed says whether the data plane or the control plane failed.
wg_summary() {
	local n k names=()
	for k in "$LAB_DIR"/site*.pub; do
		[ -e "$k" ] || continue
		n=${k##*/site}
		names+=("$(<"$k"),site${n%.pub}")
	done
	for n in $("$LAB" sites); do
		ip netns exec "$LAB_PREFIX-gw$n" wg show "wg-$LAB_PREFIX-$n" dump 2>/dev/null |
			awk -F'\t' -v me="site$n" -v now="$(date +%s)" -v map="${names[*]}" '
				BEGIN { split(map, kv, " "); for (i in kv) { split(kv[i], p, ","); name[p[1]] = p[2] } }
				NF == 8 { printf "%s -> %s: endpoint %s, handshake %s, rx %d B, tx %d B, allowed %s\n", me,
					($1 in name) ? name[$1] : substr($1, 1, 8), $3,
					$5 == 0 ? "never" : (now - $5) " s ago", $6, $7, $4 }'
	done
}

lab_cleanup() {
	local rc=$? f n reports stops=() tunnels= views= live
	# Whatever fails while cleaning up must not stop the cleanup (set -e is on).
	set +e
	if [ $rc -ne 0 ] && [ -d "$LAB_DIR" ]; then
		tunnels=$(wg_summary)
		views=$("$LAB" status 2>&1)
	fi
	if [ -d "$LAB_DIR" ]; then
		# Each netd stopped first: built with sanitizers, it reports leaks as it exits. (Only
		# these are waited for: a test may leave other jobs running, such as a ping.)
		for n in $("$LAB" sites); do
			"$LAB" stop "$n" >/dev/null 2>&1 &
			stops+=($!)
		done
		[ ${#stops[@]} -eq 0 ] || wait "${stops[@]}" || true
		reports=$(grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LAB_DIR"/site*.log || true)
		for f in $reports; do
			echo "FAIL: a sanitizer report in ${f##*/}:" >&2
			grep -m1 -A60 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2
			rc=1
		done
		# The logs of the sites still in the lab: a test that adds and removes sites leaves
		# those of the removed ones, which only bury the rest.
		if [ $rc -ne 0 ] && [ -z "$reports" ]; then
			live=$("$LAB" sites)
			for n in $live; do
				f=$LAB_DIR/site$n.log
				[ -e "$f" ] || continue
				echo "--- last lines of ${f##*/}" >&2
				tail -n 40 "$f" >&2
			done
		fi
	fi
	# Last, as a test runner shows the end of a failed test's output: what each netd holds
	# of the others, and what WireGuard holds.
	[ -z "$views" ] || printf -- '--- the sites at the failure\n%s\n' "$views" >&2
	[ -z "$tunnels" ] || printf -- '--- WireGuard at the failure\n%s\n' "$tunnels" >&2
	"$LAB" down >/dev/null 2>&1 || echo "lab down failed" >&2
	exit $rc
}

[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
for c in ip bridge ping wg jq pgrep setsid; do
	command -v "$c" >/dev/null || skip "needs $c"
done
for b in "$NETD" "$NETDCTL"; do
	[ -x "$b" ] || fail "$b is not built (make)"
done

# WireGuard: the kernel's, or wireguard-go where the kernel has none (what netd's "auto" does).
probe=$LAB_PREFIX-probe
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces"
if ip -n "$probe" link add wg0 type wireguard 2>/dev/null; then
	LAB_WG=kernel
else
	LAB_WG=userspace
fi
ip netns del "$probe"
if [ $LAB_WG = userspace ]; then
	command -v wireguard-go >/dev/null || skip "no WireGuard in this kernel and no wireguard-go"
	[ -c /dev/net/tun ] || skip "no WireGuard in this kernel and no /dev/net/tun for wireguard-go"
fi
echo "WireGuard: $LAB_WG, kernel $(uname -r)"

trap lab_cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	[ "$2" = "$3" ] && return 0
	printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3" >&2
	exit 1
}

# sorted_ips: lines "KEY ENDPOINT IP,IP..." with the list of IPs sorted, the lines sorted.
sorted_ips() {
	awk '{ n = split($3, a, ","); s = ""
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") a[i]
		print $1, $2, s }' | sort
}

# check_mesh: on every gateway, netd sees every other site alive with its tunnel, and what wg,
# ip and bridge print is the full mesh of the lab's sites: a WireGuard peer per other site (its key, underlay endpoint, overlay address and
# prefix), routes to those through the tunnel in netd's table, and the all-zero FDB entry
# towards each other site's VTEP on the segment.
check_mesh() {
	local n m wgif sites want got
	sites=$(lab sites)
	for n in $sites; do
		wgif=wg-$LAB_PREFIX-$n
		want=$(for m in $sites; do [ "$m" -eq "$n" ] || echo "site$m alive true"; done)
		got=$(ctl "$n" -j peers | jq -r '.result.peers[] | "\(.name) \(.state) \(.tunnel)"' | sort)
		expect_eq "site$n: netdctl peers (name, state, tunnel)" "$want" "$got"
		want=$(for m in $sites; do
			[ "$m" -eq "$n" ] ||
				printf '%s 198.51.100.%s:51820 10.255.0.%s/32,10.%s.0.0/16\n' "$(<"$LAB_DIR/site$m.pub")" "$m" "$m" "$m"
		done | sorted_ips)
		# Peers: key, endpoint, allowed-ips (handshakes and counters change by themselves).
		got=$(in_gw "$n" wg show "$wgif" dump | awk -F'\t' 'NR > 1 { print $1 " " $3 " " $4 }' | sorted_ips)
		expect_eq "site$n: wg show $wgif dump (peer, endpoint, allowed-ips)" "$want" "$got"

		want=$(for m in $sites; do
			[ "$m" -eq "$n" ] || printf '10.255.0.%s %s\n10.%s.0.0/16 %s\n' "$m" "$wgif" "$m" "$wgif"
		done | sort)
		got=$(in_gw "$n" ip -j route show table $TABLE proto $PROTO type unicast | jq -r '.[] | "\(.dst) \(.dev)"' | sort)
		expect_eq "site$n: ip route show table $TABLE proto $PROTO type unicast (destination, device)" "$want" "$got"

		want=$(for m in $sites; do
			[ "$m" -eq "$n" ] || echo "00:00:00:00:00:00 dst 10.255.0.$m"
		done | sort)
		got=$(in_gw "$n" bridge fdb show dev vxlan100 | awk '$1 == "00:00:00:00:00:00" { print $1, $2, $3 }' | sort)
		expect_eq "site$n: bridge fdb show dev vxlan100 (all-zero entries)" "$want" "$got"
	done
	echo "ok netd's peers, wg peers, routes in table $TABLE and the segment's FDB entries on every gateway"
}

# check_backend: every site's netd says which WireGuard it uses; with LAB_EXPECT_BACKEND set
# it must be that one.
check_backend() {
	local n active
	for n in $(lab sites); do
		active=$(ctl "$n" -j status | jq -r .result.backend.active)
		echo "site$n: WireGuard backend $active"
		if [ -n "${LAB_EXPECT_BACKEND:-}" ]; then
			expect_eq "site$n: WireGuard backend" "$LAB_EXPECT_BACKEND" "$active"
		fi
	done
}
