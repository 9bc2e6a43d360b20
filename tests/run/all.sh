#!/usr/bin/env bash
# make test: every suite, then one summary line over all of them.
# Each suite prints its own "SUITE: N passed, N failed" line last.
set -u
cd "$(dirname "$0")/../.."
total_passed=0 total_failed=0
run_suite() {	# name command...
	local name=$1 out log
	shift
	echo "== $name =="
	# Not "tee /dev/stderr": with output redirected to a file, that
	# reopens (and truncates) the file for every suite.
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	out=$(tail -1 "$log")
	rm -f "$log"
	local p f
	p=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
	if [ -z "$p" ]; then
		echo "$name: no summary line: counted as one failure"
		p=0 f=1
	fi
	total_passed=$((total_passed + p))
	total_failed=$((total_failed + f))
}

run_suite host tests/run/host.sh build/host/test_* build/host/tsan/test_*
run_suite boot tests/run/boot.sh
run_suite guests-bare tests/run/guests-bare.sh
run_suite guests-hv tests/run/guests-hv.sh
echo
echo "total: $total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
