#!/usr/bin/env bash
# Test guests directly on QEMU, without the hypervisor: the reference side
# of the comparison. Each guest in tests/guest/expect.txt boots with
# -kernel (multiboot1), TCG, -machine q35 -cpu max -m 64M, -no-reboot,
# isa-debug-exit, within its time limit; its outcome must be the record's
# "bare" one, and its serial log must hold every "line"/"bare-line" and no
# "forbid"/"bare-forbid" string.
# Usage: guests-bare.sh [GUEST ...]   (default: every guest in the file)
# Needs the images: make guests. Logs stay in build/test-guests-bare/.
set -u
source "$(dirname "$0")/lib.sh"

WORK=$TOP/build/test-guests-bare
EXPECT_FILE=${EXPECT_FILE:-$TOP/tests/guest/expect.txt}
GUEST_QEMU=(-machine q35 -cpu max -m 64M -nographic -no-reboot
	    -serial stdio -monitor none -display none
	    -device isa-debug-exit,iobase=0xf4,iosize=0x04)
mkdir -p "$WORK"

passed=0 failed=0
WANTED=" $* " SEEN=""

reset_record() {
	NAME="" ARGS="" SECS=10 WANT="" LINES=() FORBIDS=()
}

run_record() {
	local name=$NAME log="$WORK/$NAME.log" elf="build/guests/$NAME.elf"
	local problems="" t0 t1 line

	[ -z "$name" ] && return
	[ "$WANTED" != "  " ] && [[ "$WANTED" != *" $name "* ]] && return
	SEEN+=" $name "
	if [ ! -f "$TOP/$elf" ]; then
		echo "guests-bare: $name: FAIL ($elf missing: make guests)"
		failed=$((failed + 1))
		return
	fi
	if [ -z "$WANT" ]; then
		echo "guests-bare: $name: FAIL (no 'bare' outcome in ${EXPECT_FILE#$TOP/})"
		failed=$((failed + 1))
		return
	fi
	t0=$(date +%s.%N)
	(cd "$TOP" && timeout "$SECS" "$QEMU" "${GUEST_QEMU[@]}" -kernel "$elf" \
		-append "$ARGS" </dev/null >"$log" 2>&1)
	qemu_verdict $?
	echo "$VERDICT" >"$WORK/$name.outcome"	# for guests-hv.sh's comparison
	t1=$(date +%s.%N)
	if [ "$VERDICT" != "$WANT" ]; then
		problems+="    outcome: $VERDICT (exit $EXIT), expected $WANT"$'\n'
	fi
	for line in "${LINES[@]}"; do
		grep -qsF -- "$line" "$log" || problems+="    missing: $line"$'\n'
	done
	for line in "${FORBIDS[@]}"; do
		grep -qsF -- "$line" "$log" && problems+="    unexpected: $line"$'\n'
	done
	local secs
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if [ -z "$problems" ]; then
		echo "guests-bare: $name: ok ($VERDICT, $secs s)"
		passed=$((passed + 1))
	else
		echo "guests-bare: $name: FAIL (log: ${log#$TOP/})"
		printf '%s' "$problems"
		tr -d '\r' <"$log" | grep -v '^$' | tail -15 | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
}

reset_record
while read -r key value; do
	case $key in
	''|'#'*) continue ;;
	guest) run_record; reset_record; NAME=$value ;;
	args) ARGS=$value ;;
	secs) SECS=$value ;;
	bare) WANT=$value ;;
	line|bare-line) LINES+=("$value") ;;
	forbid|bare-forbid) FORBIDS+=("$value") ;;
	hv|hv-line|hv-forbid|shadow-args|shadow-secs|vcpus) ;;
	*) echo "guests-bare: ${EXPECT_FILE#$TOP/}: unknown key '$key'"
	   failed=$((failed + 1)) ;;
	esac
done <"$EXPECT_FILE"
run_record
for g in "$@"; do
	if [[ "$SEEN" != *" $g "* ]]; then
		echo "guests-bare: $g: FAIL (no record in ${EXPECT_FILE#$TOP/})"
		failed=$((failed + 1))
	fi
done

echo "guests-bare: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
