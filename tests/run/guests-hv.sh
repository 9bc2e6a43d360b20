#!/usr/bin/env bash
# Test guests under the hypervisor, several at once, on both vendors and
# in both MMU modes:
#   qemu   SVM: QEMU -kernel, TCG, -cpu max -smp 4, four guests a boot
#   bochs  VMX: GRUB ISO in Bochs, corei7_skylake_x, 2 CPUs, two a boot
# A group whose list starts with "shadow:" runs its guests with mmu=shadow
# (shadow page tables), the others with mmu=tdp (NPT / EPT).
# Each guest's outcome is read from the hypervisor's summary table and must
# be its record's "hv" outcome (tests/guest/expect.txt); its lines must
# include every "line"/"hv-line" and no "forbid"/"hv-forbid". Then its
# verdict is compared with the bare-QEMU run (guests-bare.sh writes
# build/test-guests-bare/NAME.outcome): both must be what the file expects.
# Usage: guests-hv.sh [qemu|bochs ...]   (default: both)
set -u
source "$(dirname "$0")/lib.sh"

WORK=$TOP/build/test-guests-hv
EXPECT_FILE=${EXPECT_FILE:-$TOP/tests/guest/expect.txt}
BARE_DIR=$TOP/build/test-guests-bare
PLATFORMS=${*:-qemu bochs}
mkdir -p "$WORK"

# Groups: well-behaved and misbehaving guests share a boot, so a stopped VM
# is seen not to disturb the others.
QEMU_GROUPS=("hello cpuid paging memwalk" "unassigned triplefault jumpwild bench"
	     "permmatrix ptwriter ctxswitch mmio" "forkbench"
	     "shadow: hello cpuid paging memwalk"
	     "shadow: unassigned triplefault jumpwild"
	     "shadow: permmatrix ptwriter ctxswitch mmio"
	     "shadow: forkbench bench" "smpmmu" "shadow: smpmmu")
BOCHS_GROUPS=("hello cpuid" "paging memwalk" "unassigned triplefault"
	      "jumpwild bench" "permmatrix ptwriter" "ctxswitch mmio"
	      "shadow: paging memwalk" "shadow: unassigned triplefault"
	      "shadow: permmatrix ptwriter" "shadow: ctxswitch mmio"
	      "shadow: forkbench" "smpmmu" "shadow: smpmmu")

declare -A ARGS SECS WANT_HV WANT_BARE SHADOW_ARGS SHADOW_SECS VCPUS
declare -A LINES FORBIDS	# newline-separated lists
load_expectations() {
	local name="" key value
	while read -r key value; do
		case $key in
		''|'#'*) continue ;;
		guest) name=$value; LINES[$name]=""; FORBIDS[$name]=""
		       SECS[$name]=10 ;;
		args) ARGS[$name]=$value ;;
		secs) SECS[$name]=$value ;;
		shadow-args) SHADOW_ARGS[$name]=$value ;;
		shadow-secs) SHADOW_SECS[$name]=$value ;;
		vcpus) VCPUS[$name]=$value ;;
		hv) WANT_HV[$name]=$value ;;
		bare) WANT_BARE[$name]=$value ;;
		line|hv-line) LINES[$name]+="$value"$'\n' ;;
		forbid|hv-forbid) FORBIDS[$name]+="$value"$'\n' ;;
		esac
	done <"$EXPECT_FILE"
}

# The summary row of a guest: "  NAME  1 tdp  32M  PASS (exit value 0x10)"
hv_outcome() {	# log name
	local row
	row=$(tr -d '\r' <"$1" | grep -E "^(\[cpu[0-9]+\] )?  $2 +[0-9]+ +(tdp|shadow) " | head -1)
	case $row in
	*" PASS (exit value"*) echo pass ;;
	*" FAIL (exit value"*) echo fail ;;
	*"stopped: triple fault"*) echo stopped:triple-fault ;;
	*"stopped:"*) echo stopped ;;
	*) echo none ;;
	esac
}

outcome_matches() {	# got want
	[ "$1" = "$2" ] && return 0
	[ "$2" = stopped ] && [[ "$1" == stopped* ]] && return 0
	return 1
}

passed=0 failed=0
check_guest() {	# platform log name
	local platform=$1 log=$2 name=$3 problems="" got line
	got=$(hv_outcome "$log" "$name")
	outcome_matches "$got" "${WANT_HV[$name]}" ||
		problems+="    outcome: $got, expected ${WANT_HV[$name]}"$'\n'
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		grep -qsF -- "$line" "$log" || problems+="    missing: $line"$'\n'
	done <<<"${LINES[$name]}"
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		# forbidden strings only count on this guest's own lines
		grep -F "[$name/" "$log" | grep -qsF -- "$line" &&
			problems+="    unexpected: $line"$'\n'
	done <<<"${FORBIDS[$name]}"
	local bare="not run"
	[ -f "$BARE_DIR/$name.outcome" ] && bare=$(cat "$BARE_DIR/$name.outcome")
	if [ -z "$problems" ]; then
		echo "guests-hv: $name [$platform]: ok ($got; bare QEMU: $bare," \
		     "expected ${WANT_BARE[$name]:-?} / ${WANT_HV[$name]})"
		passed=$((passed + 1))
	else
		echo "guests-hv: $name [$platform]: FAIL (log: ${log#$TOP/})"
		printf '%s' "$problems"
		tr -d '\r' <"$log" | grep -F "[$name/" | tail -8 | sed 's/^/    | /'
		failed=$((failed + 1))
	fi
}

# vcpus: the record's count, at most the platform's CPUs (QEMU 4, Bochs 2).
module_spec() {	# name mmu cpus
	local args=${ARGS[$1]:-} vcpus=${VCPUS[$1]:-1}
	[ "$2" = shadow ] && args=${SHADOW_ARGS[$1]:-$args}
	[ "$vcpus" -gt "$3" ] && vcpus=$3
	echo "build/guests/$1.elf name=$1 vcpus=$vcpus mem=32M mmu=$2 -- $args"
}

group_secs() {	# mmu names...
	local s=0 g t mmu=$1
	shift
	for g in "$@"; do
		t=${SECS[$g]}
		[ "$mmu" = shadow ] && t=${SHADOW_SECS[$g]:-$t}
		[ "$t" -gt "$s" ] && s=$t
	done
	echo "$s"
}

run_group() {	# platform "[shadow:] guests" index
	local platform=$1 names=($2) i=$3 mods=() g mmu=tdp
	local log="$WORK/$platform.$i.log" limit cpus=4
	[ "$platform" = qemu ] || cpus=2
	if [ "${names[0]}" = shadow: ]; then
		mmu=shadow
		names=("${names[@]:1}")
	fi
	limit=$(group_secs $mmu "${names[@]}")
	for g in "${names[@]}"; do mods+=("$(module_spec "$g" $mmu $cpus)"); done
	rm -f "$log"
	if [ "$platform" = qemu ]; then
		boot_qemu_kernel "$log" $((limit + 60)) max $cpus \
			"guest_timeout=$limit" "${mods[@]}"
	else
		make_iso "$WORK/group.iso" "guest_timeout=$limit" "${mods[@]}" ||
			{ echo "guests-hv: could not make the ISO"; failed=$((failed + 1)); return; }
		boot_bochs_iso "$log" $((limit * 4 + 120)) $cpus "$WORK/group.iso"
		rm -f "$WORK/group.iso"
	fi
	if [ "$VERDICT" != pass ] || ! grep -q "guest summary:" "$log"; then
		echo "guests-hv: group '${names[*]}' [$platform]: the hypervisor" \
		     "did not finish cleanly ($VERDICT, exit $EXIT)"
		tr -d '\r' <"$log" | tail -20 | sed 's/^/    | /'
	fi
	for g in "${names[@]}"; do check_guest "$platform $mmu" "$log" "$g"; done
}

load_expectations
for platform in $PLATFORMS; do
	if [ "$platform" = qemu ]; then groups=("${QEMU_GROUPS[@]}")
	else groups=("${BOCHS_GROUPS[@]}"); fi
	for i in "${!groups[@]}"; do
		run_group "$platform" "${groups[$i]}" "$i"
	done
done
echo "guests-hv: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
