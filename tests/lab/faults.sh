# shellcheck shell=bash
# Fault injection and timing for the lab's fault tests: source it after tests/lab/lab.sh. Reads
# a gateway's kernel state directly (ip, wg, bridge in its namespace) so that polling every
# 50 ms measures netd and not the cost of starting scripts.

POLL=0.05

gw_ns() { echo "$LAB_PREFIX-gw$1"; }
wg_if() { echo "wg-$LAB_PREFIX-$1"; }
site_key() { echo "$(<"$LAB_DIR/site$1.pub")"; }

# ms_since T0: whole milliseconds from T0 (a `now`) to now.
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
# secs MS: milliseconds as seconds with two decimals.
secs() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1000 }'; }

# started_at PID: when the process started, as a `now`, to the clock tick: /proc/PID/stat
# gives it in ticks since boot, /proc/uptime how long ago that was.
started_at() {
	local up stat
	read -r up _ </proc/uptime
	stat=$(<"/proc/$1/stat")
	# Past the command name, which may hold spaces: field 22, starttime, is the 20th.
	stat=${stat##*) }
	awk -v now="$(now)" -v up="$up" -v hz="$(getconf CLK_TCK)" -v st="$stat" \
		'BEGIN { split(st, f, " "); printf "%.3f\n", now - up + f[20] / hz }'
}

# first_reply N ADDR T0 LIMIT_MS: ms from T0 until a ping from site N's host to ADDR is
# answered, or nothing once LIMIT_MS have passed. One ping at a time, every 50 ms: ping
# itself would give up at the first ICMP error of a gateway without the route yet.
first_reply() {
	while [ "$(ms_since "$3")" -le "$4" ]; do
		if in_host "$1" ping -n -q -c 1 -W 0.5 "$2" >/dev/null 2>&1; then
			ms_since "$3"
			return 0
		fi
		sleep "$POLL"
	done
}

# has_route N PREFIX: netd's route to PREFIX (through the tunnel, not its unreachable fence)
# is in site N's table.
has_route() {
	[ -n "$(ip -n "$(gw_ns "$1")" route show table "$TABLE" proto "$PROTO" type unicast "$2" 2>/dev/null)" ]
}
# The checks below read a listing whole before they search it: under pipefail, grep -q reading
# a pipe would end the listing early with SIGPIPE and the check would fail on a match.
# has_peer N M: site M's key is a WireGuard peer of site N.
has_peer() {
	local peers
	peers=$(in_gw "$1" wg show "$(wg_if "$1")" peers 2>/dev/null) || return 1
	grep -qxF "$(site_key "$2")" <<<"$peers"
}
# has_fdb N M VNI: site N floods segment VNI to site M's VTEP (the all-zero FDB entry).
has_fdb() {
	local fdb
	fdb=$(bridge -n "$(gw_ns "$1")" fdb show dev "vxlan$3" 2>/dev/null) || return 1
	grep -q "^00:00:00:00:00:00 dst 10\.255\.0\.$2 " <<<"$fdb"
}
# holds_site N M: site N has everything towards site M: its peer, routes and FDB entry.
holds_site() {
	has_peer "$1" "$2" && has_route "$1" "10.$2.0.0/16" && has_route "$1" "10.255.0.$2/32" &&
		has_fdb "$1" "$2" 100
}
# missing_towards N M: what site N lacks towards site M, as words ("peer route fdb"), or
# nothing when it holds all of it.
missing_towards() {
	local gone=()
	has_peer "$1" "$2" || gone+=(peer)
	has_route "$1" "10.$2.0.0/16" || gone+=("route 10.$2.0.0/16")
	has_route "$1" "10.255.0.$2/32" || gone+=("route 10.255.0.$2/32")
	has_fdb "$1" "$2" 100 || gone+=("FDB entry on VNI 100")
	echo "${gone[*]}"
}
# lacks_site N M: site N has nothing left towards site M.
lacks_site() {
	! has_peer "$1" "$2" && ! has_route "$1" "10.$2.0.0/16" && ! has_route "$1" "10.255.0.$2/32" &&
		! has_fdb "$1" "$2" 100
}

# wait_sites T0 LIMIT_MS WHAT CHECK ARG SITE...: polls CHECK SITE ARG at every SITE until it
# holds at all of them; prints, per site, the time from T0 to when it first held, and stores
# it in WAITED[SITE] (ms). Fails naming the sites still waiting after LIMIT_MS.
declare -A WAITED=()
# shellcheck disable=SC2034 # WAITED is read by the tests
wait_sites() {
	local t0=$1 limit=$2 what=$3 check=$4 arg=$5 n ms
	shift 5
	local pending=("$@") left
	WAITED=()
	while [ ${#pending[@]} -gt 0 ]; do
		left=()
		for n in "${pending[@]}"; do
			if "$check" "$n" "$arg"; then
				ms=$(ms_since "$t0")
				WAITED[$n]=$ms
				echo "site$n: $what after $(secs "$ms") s"
			else
				left+=("$n")
			fi
		done
		pending=("${left[@]}")
		[ ${#pending[@]} -eq 0 ] && break
		if [ "$(ms_since "$t0")" -gt "$limit" ]; then
			for n in "${pending[@]}"; do ctl "$n" peers >&2 || true; done
			fail "$what: not at site ${pending[*]} within $(secs "$limit") s"
		fi
		sleep "$POLL"
	done
}

# timing N FIELD: a gossip timing value (ms, or a count) of site N's running config.
timing() { ctl "$1" -j config | jq -er ".result.gossip.timing.$2"; }
dead_hold_ms() { echo $(($(ctl "$1" -j config | jq -er .result.gossip.dead_hold) * 1000)); }

# detect_ms N SITES: the longest site N's gossip may take, with SITES members, to declare a
# crashed one dead and tell the others, derived from its profile (PROTOCOL.md): the crashed
# site may come last in one shuffled probe round and last again in the next (2 (n-1)
# periods), its failed probe takes a period, the suspicion runs at most
# suspicion_max_mult * suspicion_mult * probe_interval (n <= 10, so no log10 scaling), and
# the verdict reaches everyone within retransmit_mult gossip rounds.
detect_ms() {
	local n=$1 sites=$2 pi smult smax gi rt
	pi=$(timing "$n" probe_interval) smult=$(timing "$n" suspicion_mult)
	smax=$(timing "$n" suspicion_max_mult) gi=$(timing "$n" gossip_interval)
	rt=$(timing "$n" retransmit_mult)
	[ "$sites" -le 10 ] || fail "detect_ms: the bound ignores the log10 scaling above 10 sites"
	echo $((2 * (sites - 1) * pi + pi + smax * smult * pi + rt * gi))
}

# alive PID: the process exists and is not a zombie (a killed netd or wireguard-go runs in a
# session of its own and waits for init to collect it).
alive() {
	local state
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# stop_wireguard N: end site N's WireGuard as a site going down would: its wireguard-go
# (found by the interface it serves), or the kernel interface.
stop_wireguard() {
	local n=$1 pid
	if [ "$LAB_WG" = userspace ]; then
		pid=$(pgrep -f "wireguard-go $(wg_if "$n")\$") || fail "site$n: no wireguard-go serving $(wg_if "$n")"
		kill -KILL "$pid"
		while alive "$pid"; do sleep "$POLL"; done
	else
		ip -n "$(gw_ns "$n")" link del "$(wg_if "$n")"
	fi
}

# ping_ok N ADDR: one ping from site N's host to ADDR answers within a second.
ping_ok() { in_host "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1; }

# rss_kb N: VmRSS of site N's netd in kB.
rss_kb() {
	local pid
	pid=$(cat "$LAB_DIR/site$1.pid") || fail "site$1: no pid file"
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status"
}

# events_start N FILE: records site N's event stream in FILE, each line prefixed with the time
# it arrived (a `now`), since the events themselves carry whole seconds only. The reader ends
# with netd; faults_cleanup ends it earlier when the test does.
EVENT_PIDS=()
events_start() {
	"$NETDCTL" -s "$LAB_DIR/site$1.sock" -j events \
		> >(while IFS= read -r line; do printf '%s %s\n' "$(now)" "$line"; done >"$2") &
	EVENT_PIDS+=($!)
}
# event_ms T0 FILE SITE EVENT: ms from T0 to the first member EVENT about SITE in FILE after
# T0, or nothing.
event_ms() {
	local t line
	while read -r t line; do
		awk -v a="$t" -v b="$1" 'BEGIN { exit !(a >= b) }' || continue
		jq -e --arg s "$3" --arg e "$4" \
			'.event.type == "member" and .event.site == $s and .event.event == $e' <<<"$line" >/dev/null || continue
		awk -v a="$1" -v b="$t" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
		return 0
	done <"$2"
}
# With a sanitizer build a netd that stopped (or is still running) may have reported an error
# only in its log: that fails the test.
faults_cleanup() {
	local rc=$? pid
	# Whatever fails while cleaning up must not stop the cleanup (set -e is on).
	set +e
	for pid in "${EVENT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	if [ $rc -eq 0 ] && grep -l -E 'Sanitizer|runtime error:' "$LAB_DIR"/site*.log 2>/dev/null; then
		echo "FAIL: sanitizer reports in the logs above" >&2
		rc=1
	fi
	(exit $rc)
	lab_cleanup
}
trap faults_cleanup EXIT

# ping_start N ADDR: a ping every 50 ms from site N's host to ADDR, in the background, until
# ping_check. ip netns exec becomes ping itself, so $! is ping's pid and SIGINT makes it
# print its summary.
ping_start() {
	PING_LOG=$LAB_DIR/ping-$1-$2
	ip netns exec "$LAB_PREFIX-h$1" ping -n -D -O -i 0.05 "$2" >"$PING_LOG" 2>&1 &
	PING_PID=$!
	sleep 1
}

# ping_check WHAT: stops the ping of ping_start; fails if a reply is missing (but for the
# last, which may have been on its way when ping was interrupted) or fewer than 100 were sent.
ping_check() {
	local tx lost summary i
	# At least 100 pings span what was tried, however fast it went (each one prints a line,
	# answered or not).
	for ((i = 0; i < 200 && $(grep -c 'icmp_seq=' "$PING_LOG") < 101; i++)); do sleep 0.1; done
	kill -INT "$PING_PID"
	wait "$PING_PID" || true
	summary=$(grep 'packets transmitted' "$PING_LOG") || fail "ping printed no summary"
	echo "ping every 50 ms across $1: $summary"
	tx=$(awk '/packets transmitted/ { print $1 }' "$PING_LOG")
	[ "$tx" -ge 100 ] || fail "only $tx pings sent"
	lost=$(awk -v tx="$tx" '
		match($0, /icmp_seq=[0-9]+ ttl=/) { seq = substr($0, RSTART + 9, RLENGTH - 14); got[seq] = 1 }
		END { for (i = 1; i < tx; i++) if (!(i in got)) printf "%d ", i }' "$PING_LOG")
	if [ -n "$lost" ]; then
		grep -m 20 -E 'no answer|Unreachable|Required key' "$PING_LOG" >&2 || true
		fail "pings lost across $1 (icmp_seq): $lost"
	fi
}

# edit_config N SED...: applies the sed expressions to site N's config, checked by netd -n
# before it replaces the file.
edit_config() {
	local conf=$LAB_DIR/site$1.conf
	shift
	sed "$@" "$conf" >"$conf.new"
	"$NETD" -n -f "$conf.new" >/dev/null || fail "$conf.new does not pass netd -n"
	mv "$conf.new" "$conf"
}
