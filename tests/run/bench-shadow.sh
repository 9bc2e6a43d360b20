#!/usr/bin/env bash
# The shadow-paging benchmark (docs/benchmarks.md): the forkbench guest (a
# fork/exec loop: tests/guest/forkbench) alone under the hypervisor, one
# boot per MMU configuration, each with QEMU -kernel, TCG, -cpu max (AMD
# SVM), or with PLATFORM=bochs from a GRUB ISO in Bochs (Intel VMX):
#
#   mmu=tdp                            the baseline
#   mmu=shadow                         unsync and write flooding on
#   mmu=shadow unsync=off
#   mmu=shadow flood=off
#   mmu=shadow unsync=off flood=off
#
# From each run: the guest's counters (page-table writes, #PFs, CR3 loads,
# INVLPGs), the hypervisor's exit counts and shadow MMU counters (its
# summary lines). Prints exits per 1000 guest page-table writes and per
# guest fault, their ratio to the mmu=tdp row of the same run, and the
# shadow counters. A configuration whose guest the hypervisor did not
# start (an option it does not know yet) is "not available" and skipped.
#
# Usage: bench-shadow.sh ["CONFIGURATION" ...]   (default: the five above;
#        mmu=tdp always runs first, as the baseline)
# Environment: PLATFORM (qemu or bochs), N (iterations: 100 on QEMU, 20
#        in Bochs), SEED (7), SECS (the guest's time limit: 600, in Bochs
#        1200), SMP (QEMU CPUs, 4). The guest runs with "quiet": only
#        its counters, failed checks and verdict print, so few of the
#        exits are serial output.
# Needs build/hv.elf and build/guests/forkbench.elf: make bench-shadow.
# Logs stay in build/bench-shadow/. Ends with "bench-shadow: N passed, N
# failed, N skipped"; fails when a configuration that ran failed.
set -u
source "$(dirname "$0")/lib.sh"

WORK=$TOP/build/bench-shadow
PLATFORM=${PLATFORM:-qemu}
case $PLATFORM in
qemu|bochs) ;;
*) echo "bench-shadow: PLATFORM=$PLATFORM: qemu or bochs"
   echo "bench-shadow: 0 passed, 1 failed"
   exit 1 ;;
esac
# Bochs's TSC counts instructions: the guest's time limit is in those.
if [ "$PLATFORM" = bochs ]; then
	N=${N:-20} SECS=${SECS:-1200}
else
	N=${N:-100} SECS=${SECS:-600}
fi
SEED=${SEED:-7}
SMP=${SMP:-4}
GUEST=build/guests/forkbench.elf

CONFIGS=("mmu=tdp")
if [ $# -eq 0 ]; then
	CONFIGS+=("mmu=shadow" "mmu=shadow unsync=off" "mmu=shadow flood=off"
		  "mmu=shadow unsync=off flood=off")
else
	for c in "$@"; do [ "$c" != mmu=tdp ] && CONFIGS+=("$c"); done
fi

mkdir -p "$WORK"
for f in build/hv.elf "$GUEST"; do
	if [ ! -f "$TOP/$f" ]; then
		echo "bench-shadow: $f missing: make kernel guests"
		echo "bench-shadow: 0 passed, 1 failed"
		exit 1
	fi
done

# key=value from a line of space-separated pairs ("-" when absent).
kv() {	# line key
	local v
	v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=\([0-9][0-9]*\)$/\1/p" | head -1)
	echo "${v:--}"
}

# The sum of every reason=count on an "exits:" line.
sum_exits() {
	printf '%s\n' "$1" | tr ' ' '\n' |
		awk -F= 'NF == 2 && $2 ~ /^[0-9]+$/ { s += $2; n++ }
			 END { if (n) print s; else print "-" }'
}

declare -A RESULT EXITS PTW FAULTS SECS_TAKEN SHADOW GUESTLINE EXITLINE NOTE
passed=0 failed=0 skipped=0

run_config() {	# configuration
	local cfg=$1 slug log t0 t1 own row want_mmu
	slug=$(printf '%s' "$cfg" | tr ' =' '_-')
	log="$WORK/$slug.log"
	rm -f "$log"
	echo "bench-shadow: $cfg: booting (n=$N seed=$SEED) ..."
	local module="$GUEST name=forkbench mem=32M $cfg -- seed=$SEED n=$N quiet"
	t0=$(date +%s.%N)
	if [ "$PLATFORM" = bochs ]; then
		if ! make_iso "$WORK/forkbench.iso" "guest_timeout=$SECS" \
			"$module" >"$WORK/mkiso.log" 2>&1; then
			RESULT[$cfg]=FAIL
			NOTE[$cfg]="could not make the ISO: ${WORK#"$TOP"/}/mkiso.log"
			failed=$((failed + 1))
			return
		fi
		boot_bochs_iso "$log" $((SECS * 4 + 120)) 2 "$WORK/forkbench.iso"
		rm -f "$WORK/forkbench.iso"
	else
		boot_qemu_kernel "$log" $((SECS + 60)) max "$SMP" \
			"guest_timeout=$SECS" "$module"
	fi
	t1=$(date +%s.%N)
	SECS_TAKEN[$cfg]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	own=$(tr -d '\r' <"$log")
	row=$(printf '%s\n' "$own" |
	      grep -E "^(\[cpu[0-9]+\] )?  forkbench +[0-9]+ +(tdp|shadow) " | head -1)
	# Lines after the summary header: exits, then (shadow VMs) shadow
	# counters, key=value.
	local summary
	summary=$(printf '%s\n' "$own" | sed -n '/guest summary:/,$p')
	EXITLINE[$cfg]=$(printf '%s\n' "$summary" | grep -m1 ' exits:' |
			 sed 's/^.* exits:/exits:/')
	# Shadow counters may take several lines: joined into one.
	SHADOW[$cfg]=$(printf '%s\n' "$summary" | grep ' shadow:' |
		       sed 's/^.* shadow: *//' | tr '\n' ' ' | sed 's/ *$//')
	[ -n "${SHADOW[$cfg]}" ] && SHADOW[$cfg]="shadow: ${SHADOW[$cfg]}"
	GUESTLINE[$cfg]=$(printf '%s\n' "$own" | grep -m1 'forkbench: iterations=' |
			  sed 's/^.*forkbench: iterations=/iterations=/')
	EXITS[$cfg]=$(sum_exits "${EXITLINE[$cfg]#exits:}")
	PTW[$cfg]=$(kv "${GUESTLINE[$cfg]}" pt_writes)
	FAULTS[$cfg]=$(kv "${GUESTLINE[$cfg]}" faults)

	if [ -z "$row" ]; then
		local why
		why=$(printf '%s\n' "$own" | grep -m1 'not started' |
		      sed 's/^\[cpu[0-9]*\] //')
		if [ -n "$why" ]; then
			RESULT[$cfg]="n/a"
			NOTE[$cfg]="not available: $why"
			skipped=$((skipped + 1))
		else
			RESULT[$cfg]=FAIL
			NOTE[$cfg]="no summary row (hypervisor: $VERDICT, exit $EXIT); log: ${log#"$TOP"/}"
			failed=$((failed + 1))
		fi
		return
	fi
	want_mmu=tdp
	[[ " $cfg " == *" mmu=shadow "* ]] && want_mmu=shadow
	if [[ "$row" != *" $want_mmu "* ]]; then
		RESULT[$cfg]=FAIL
		NOTE[$cfg]="ran with the wrong MMU: $row"
		failed=$((failed + 1))
	elif [[ "$row" == *" PASS (exit value"* ]] &&
	     printf '%s\n' "$own" | grep -q 'forkbench: verdict: PASS'; then
		RESULT[$cfg]=PASS
		passed=$((passed + 1))
	else
		RESULT[$cfg]=FAIL
		NOTE[$cfg]="$(printf '%s' "$row" | sed 's/^.*  forkbench  *//'); log: ${log#"$TOP"/}"
		failed=$((failed + 1))
	fi
}

for cfg in "${CONFIGS[@]}"; do
	run_config "$cfg"
done

# The table. Ratios are to the mmu=tdp row of this run.
base=mmu=tdp
echo
if [ "$PLATFORM" = bochs ]; then
	where="Bochs corei7_skylake_x, 2 CPUs (VMX)"
else
	where="QEMU TCG -cpu max -smp $SMP (SVM)"
fi
echo "bench-shadow: forkbench n=$N seed=$SEED; $where; ratios to the" \
     "mmu=tdp row of this run"
FMT='%-32s %-6s %6s %8s %8s %8s %7s %7s %7s %8s %8s %7s %7s %7s\n'
# shellcheck disable=SC2059
printf "$FMT" configuration result secs exits non-io "/1k ptw" /fault \
	"x tdp" "x tdp" emul pte_wr unsync synced flooded
# shellcheck disable=SC2059
printf "$FMT" "" "" "" "" "" "" "" "(ptw)" "(fault)" "" "" "" "" ""
for cfg in "${CONFIGS[@]}"; do
	if [ "${RESULT[$cfg]}" = n/a ]; then
		printf '%-32s %s\n' "$cfg" "not available"
		continue
	fi
	awk -v cfg="$cfg" -v res="${RESULT[$cfg]}" -v secs="${SECS_TAKEN[$cfg]}" \
	    -v ex="${EXITS[$cfg]}" -v io="$(kv "${EXITLINE[$cfg]}" io)" \
	    -v fmt="$FMT" -v ptw="${PTW[$cfg]}" -v pf="${FAULTS[$cfg]}" \
	    -v bex="${EXITS[$base]:--}" -v bptw="${PTW[$base]:--}" \
	    -v bpf="${FAULTS[$base]:--}" \
	    -v emul="$(kv "${SHADOW[$cfg]}" emulated)" \
	    -v ptew="$(kv "${SHADOW[$cfg]}" pte_writes)" \
	    -v uns="$(kv "${SHADOW[$cfg]}" unsync)" \
	    -v syn="$(kv "${SHADOW[$cfg]}" synced)" \
	    -v fl="$(kv "${SHADOW[$cfg]}" flooded)" '
	function num(x) { return x ~ /^[0-9]+$/ }
	BEGIN {
		per1k = num(ex) && num(ptw) && ptw > 0 ? sprintf("%.1f", ex * 1000 / ptw) : "-"
		perpf = num(ex) && num(pf) && pf > 0 ? sprintf("%.2f", ex / pf) : "-"
		r1 = r2 = "-"
		if (per1k != "-" && num(bex) && num(bptw) && bptw > 0 && bex > 0)
			r1 = sprintf("%.2f", (ex / ptw) / (bex / bptw))
		if (perpf != "-" && num(bex) && num(bpf) && bpf > 0 && bex > 0)
			r2 = sprintf("%.2f", (ex / pf) / (bex / bpf))
		nonio = num(ex) ? ex - (num(io) ? io : 0) : "-"
		printf fmt, cfg, res, secs, ex, nonio, per1k, perpf, r1, r2,
		       emul, ptew, uns, syn, fl
	}'
done
echo
for cfg in "${CONFIGS[@]}"; do
	echo "$cfg:"
	[ -n "${NOTE[$cfg]:-}" ] && echo "  ${NOTE[$cfg]}"
	[ -n "${GUESTLINE[$cfg]}" ] && echo "  guest: ${GUESTLINE[$cfg]}"
	[ -n "${EXITLINE[$cfg]}" ] && echo "  hv: ${EXITLINE[$cfg]}"
	[ -n "${SHADOW[$cfg]}" ] && echo "  hv: ${SHADOW[$cfg]}"
done
echo
if [ "$skipped" -gt 0 ]; then
	echo "bench-shadow: $passed passed, $failed failed, $skipped skipped"
else
	echo "bench-shadow: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
