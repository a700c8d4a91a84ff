# Helpers for the simulator tests (sourced): SIM, a skip when it is not built, field, check
# and numeric comparisons that fail on null ("never").
SIM=${BUILD:-build}/netd-sim
if [ ! -x "$SIM" ]; then
	echo "SKIP: $SIM not built (make tests)"
	exit 77
fi
fail=0
field() { # json key
	sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" <<<"$1"
}
check() { # description condition
	if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi
}
below() { # value bound: a number, and below bound
	awk -v v="$1" -v b="$2" 'BEGIN { exit !(v ~ /^[0-9.eE+-]+$/ && v + 0 < b + 0) }'
}
at_most() { # value bound
	awk -v v="$1" -v b="$2" 'BEGIN { exit !(v ~ /^[0-9.eE+-]+$/ && v + 0 <= b + 0) }'
}
