#!/usr/bin/env bash
# Boot tests: each case boots the hypervisor and checks its serial log and
# its verdict, on every path it lists:
#   kernel  QEMU -kernel (multiboot1), TCG, -cpu max
#   bios    GRUB ISO on SeaBIOS (multiboot2)
#   uefi    GRUB ISO on OVMF (multiboot2)
#   bochs   GRUB ISO in Bochs (Intel VMX model)
# Usage: boot.sh [CASE ...]   (default: all cases)
set -u
source "$(dirname "$0")/lib.sh"

WORK=$TOP/build/test-boot
mkdir -p "$WORK"
HELLO="build/guests/hello.elf name=hello vcpus=1 mem=16M mmu=tdp -- verbose seed=7"
ALL_PATHS="kernel bios uefi bochs"
ISO_PATHS="kernel bios uefi"
# The feature line each platform's CPU must give ({VIRT_FEATURES}): the
# features later code depends on are listed present or not, so a parsing
# slip or a platform change shows here. TCG -cpu max: NPT, no NRIPS.
TCG_MAX_SVM_FEATURES="rev 1, 16 ASIDs, NPT, NRIPS no, flush-by-ASID no, VMCB clean bits no, decode assists no, VGIF"
BOCHS_VMX_FEATURES="VMCS rev 0x2b, TRUE controls, EPT 4-level WB 2M 1G A/D, INVEPT single+all, VPID, INVVPID addr+single+all+single-globals, unrestricted guest"

# Each case sets: OPTS (hypervisor command line), MODULES (array), WANT
# (expected verdict), EXPECT/FORBID (fixed strings; {NCPU} is the CPU
# count of the path, {VIRT} its virtualization: "AMD SVM" on QEMU's TCG,
# "Intel VMX" in Bochs), PATHS, and optionally SERIAL=com2, QEMU_MACHINE,
# QEMU_CPU.
reset_case() {
	OPTS="" MODULES=() WANT=pass EXPECT=() FORBID=() PATHS=$ISO_PATHS
	SERIAL=com1 QEMU_MACHINE="" QEMU_CPU=max QEMU_SMP=4 BOCHS_CPUS=2
	BOCHS_EXPECT=()	# more EXPECT lines for the bochs path only
}

case_boot() {
	MODULES=("$HELLO" "build/guests/hello.elf name=second vcpus=2 -- x=1")
	PATHS=$ALL_PATHS
	EXPECT=("hv 0.1: x86_64 hypervisor" "booted by " "memory map (" "  usable: "
		"modules: 2"
		"name=hello vcpus=1 mem=16M mmu=tdp -- verbose seed=7'"
		"name=second vcpus=2 -- x=1'"
		"CPU table: {NCPU} CPUs listed, {NCPU} usable"
		"(boot CPU)" "IOAPIC id" "paging: direct map"
		"smp: {NCPU} of {NCPU} CPUs online"
		"text RX, rodata R+NX, data RW+NX"
		"virt: {VIRT}: {VIRT_FEATURES}" "virt: cpu0 APIC ID 0: {VIRT} on"
		"hv: boot complete"
		"[hello/0] hello: hello from a test guest"
		"[hello/0] hello: check entry magic 0x2badb002: ok"
		"[hello/0] hello: command line 'verbose seed=7'"
		"[hello/0] hello: verdict: PASS"
		"[second/0] hello: command line 'x=1'"
		"[second/0] hello: verdict: PASS"
		"guest summary:"
		"  hello            1 tdp       16M  PASS (exit value 0x10)"
		"  second           2 tdp       16M  PASS (exit value 0x10)"
		"hv: finished")
	FORBID=("ERROR:" "WARNING:" "PANIC")
	# 3 CPUs in Bochs too, as 'second' needs 2 of them.
	BOCHS_CPUS=3
}

# Processor state under the hypervisor (tests/guest/cpustate): control
# registers and their emulated writes, MSRs, events delivered across an
# exit, PAE and long mode in and out, a second vCPU.
case_guest_cpustate() {
	MODULES=("build/guests/cpustate.elf name=cpustate vcpus=2 mem=16M -- smp")
	PATHS=bochs
	EXPECT=("[cpustate/0] cpustate: check CR0.NE set: ok"
		"[cpustate/0] cpustate: check CR4.VMXE: #GP: ok"
		"[cpustate/0] cpustate: check single-step #DB on a fresh stack page: after the right instruction: ok"
		"[cpustate/0] cpustate: long mode (CR0 writes that flip NE): CR0 0x80000031 CR8 5"
		"[cpustate/0] cpustate: check vCPU 1 started, ran, knew its index: ok"
		"[cpustate/0] cpustate: verdict: PASS"
		"  cpustate         2 tdp       16M  PASS (exit value 0x10)")
	FORBID=("FAILED" "ERROR:" "WARNING:" "PANIC")
}

# The same under shadow paging: CR0/CR4 writes all intercepted (read
# shadows), PAE and long mode through the shadow MMU, #DB delivered on a
# stack page that faults into the shadow MMU mid-delivery, two vCPUs
# sharing one MMU. VMX only, like the case above (the guest starts its
# second vCPU with VMCALL, which is #UD on AMD).
case_guest_cpustate_shadow() {
	MODULES=("build/guests/cpustate.elf name=cpustate vcpus=2 mem=16M mmu=shadow -- smp")
	PATHS=bochs
	EXPECT=("[cpustate/0] cpustate: check single-step #DB on a fresh stack page: after the right instruction: ok"
		"[cpustate/0] cpustate: check vCPU 1 started, ran, knew its index: ok"
		"[cpustate/0] cpustate: verdict: PASS"
		"  cpustate         2 shadow    16M  PASS (exit value 0x10)")
	FORBID=("FAILED" "ERROR:" "WARNING:" "PANIC")
}

# Guests on every CPU at once: eight VMRUN loops in parallel, each CPU with
# its own host state page and ASIDs.
case_guests_smp8() {
	PATHS=kernel
	QEMU_SMP=8
	local g
	for g in 0 1 2 3 4 5 6 7; do
		MODULES+=("build/guests/hello.elf name=g$g -- n=$g")
		EXPECT+=("[g$g/0] hello: command line 'n=$g'"
			 "[g$g/0] hello: verdict: PASS"
			 "  g$g               1 tdp       16M  PASS (exit value 0x10)")
	done
	EXPECT+=("smp: 8 of 8 CPUs online" "guest summary:" "hv: finished")
	FORBID=("ERROR:" "WARNING:" "PANIC" "stopped")
}

# SVM without nested paging: a mmu=tdp guest is refused with the reason,
# the hypervisor goes on and reports it, and mmu=shadow guests run (one
# with paging off, one through 32-bit, PAE and long-mode paging).
case_guests_no_npt() {
	PATHS=kernel
	QEMU_CPU=qemu64
	MODULES=("build/guests/hello.elf name=hello"
		 "build/guests/hello.elf name=hello-sh mmu=shadow"
		 "build/guests/paging.elf name=paging-sh mmu=shadow mem=32M -- seed=7")
	EXPECT=("no NPT (shadow paging only)"
		"ERROR: [hello/0] SVM without nested paging: this guest needs mmu=shadow"
		"  hello            1 tdp       16M  stopped: vCPU 0 could not be created on cpu"
		"  hello-sh         1 shadow    16M  PASS (exit value 0x10)"
		"  paging-sh        1 shadow    32M  PASS (exit value 0x10)"
		"hv: finished")
	FORBID=("PANIC" "[hello/0] hello: verdict")
}

# Without SVM or VMX in CPUID: the cause, what to do, and a clean stop.
case_no_virt() {
	QEMU_CPU="qemu64,-svm"
	WANT=fail
	EXPECT=("ERROR: virt: this CPU has neither Intel VMX nor AMD SVM (CPUID reports no hardware virtualization); hv needs one of them."
		"On QEMU use -cpu max"
		"hv: stopped on an error")
	FORBID=("hv: boot complete" "PANIC")
}

# qemu64 has SVM without nested paging: SVM still goes on, and the feature
# list says that only shadow paging is possible.
case_no_npt() {
	PATHS="kernel"
	QEMU_CPU=qemu64
	EXPECT=("virt: AMD SVM: rev 1, 16 ASIDs, no NPT (shadow paging only), NRIPS no"
		"virt: cpu0 APIC ID 0: AMD SVM on" "hv: boot complete")
	FORBID=("ERROR:" "WARNING:" "PANIC")
}

# disable_cpu really leaves VMX/SVM: VMXON succeeds again (it fails inside
# VMX operation), and the VMXON region / host save area frame comes back.
case_virt_toggle() {
	OPTS="test=virt-toggle"
	PATHS="kernel bochs"
	EXPECT=("turned off and on 3 times on cpu0: PASS"
		"selftest virt-toggle: PASS")
	FORBID=("ERROR:" "WARNING:" "PANIC")
}

case_cmdline_unknown() {
	OPTS="bogus=1 loglevel=banana"
	EXPECT=("WARNING: cmdline: unknown option 'bogus=1' ignored"
		"WARNING: cmdline: bad value in 'loglevel=banana' ignored"
		"hv: boot complete")
}

case_serial_com2() {
	OPTS="serial=0x2f8,38400"
	SERIAL=com2
	EXPECT=("hv 0.1: x86_64 hypervisor" "command line: '"
		"serial=0x2f8,38400" "hv: boot complete")
}

case_no_acpi() {
	PATHS="kernel bios"	# OVMF does not start without ACPI
	QEMU_MACHINE="pc,acpi=off"
	EXPECT=("WARNING: ACPI: no RSDP" "running on the boot CPU only"
		"CPU table: 1 CPUs listed, 1 usable" "hv: boot complete")
}

case_no_long_mode() {
	PATHS="kernel bios"	# OVMF itself needs a 64-bit CPU
	QEMU_CPU=qemu32
	WANT=fail
	EXPECT=("FATAL: this CPU does not support 64-bit long mode")
}

smp_case() {	# CPUs paths
	OPTS="test=ipi"
	QEMU_SMP=$1 BOCHS_CPUS=$1 PATHS=$2
	EXPECT=("CPU table: {NCPU} CPUs listed" "smp: {NCPU} of {NCPU} CPUs online"
		"selftest ipi: PASS")
	FORBID=("ERROR:" "did not answer")
	if [ "$1" -gt 1 ]; then
		EXPECT+=("virt: cpu$(($1 - 1)) APIC ID $(($1 - 1)): {VIRT} on"
			 "smp test: cpu$(($1 - 1)) pinged the other $(($1 - 1)) CPUs"
			 "smp test: pings: {NCPU} CPUs" "call function on all {NCPU} CPUs"
			 "TLB flush request to all {NCPU} CPUs")
	fi
}
case_smp1()	{ smp_case 1 kernel; }
case_smp2()	{ smp_case 2 "kernel bochs"; }
case_smp4()	{ smp_case 4 "kernel bios uefi"; }
case_smp8()	{ smp_case 8 kernel; }

case_phantom_cpu() {
	OPTS="test=phantom-cpu"
	PATHS="kernel bochs"
	EXPECT=("adding a CPU with APIC ID 254 that does not exist"
		"ERROR: smp: CPU with APIC ID 254 did not answer INIT-SIPI-SIPI within 200 ms; continuing without it"
		"smp: {NCPU} of {NCPU+1} CPUs online" "selftest phantom-cpu: PASS")
}

case_bench_ipi() {
	OPTS="bench=ipi"
	PATHS=kernel
	EXPECT=("bench ipi: round trip cpu0 -> cpu1 -> ack:"
		"bench ipi: kick-and-wait of 3 other CPUs:" "hv: boot complete")
}

# Bad guest modules are refused one by one, with the reason; the good
# guest still runs to its verdict.
case_guest_bad_modules() {
	PATHS="kernel bios"
	MODULES=("README.md name=notelf"
		 "build/guests/hello.elf name=colour colour=blue"
		 "build/guests/hello.elf name=greedy vcpus=8"
		 "build/guests/hello.elf name=huge mem=3G"
		 "build/guests/hello.elf name=shadowy mmu=shadow unsync=maybe"
		 "$HELLO")
	EXPECT=("ERROR: guest notelf: module 0: not an ELF file"
		"ERROR: guest 1: unknown option 'colour=blue'"
		"ERROR: guest greedy: needs 8 vCPUs but only 4 CPUs are free; not started"
		"ERROR: guest huge: needs 3072 MiB of memory but only"
		"ERROR: guest 4: bad value in 'unsync=maybe'"
		"[hello/0] hello: verdict: PASS"
		"  hello            1 tdp       16M  PASS (exit value 0x10)")
	FORBID=("  notelf " "  colour " "  greedy " "  huge " "PANIC")
}

case_memory() {
	OPTS="test=memory"
	EXPECT=("selftest: allocated all" "selftest memory: PASS")
}

exception_case() {
	OPTS="test=$1"
	WANT=fail
	EXPECT=("PANIC: CPU exception $2" "RIP: 0008:" "RAX: " "R15: " "CR2: "
		"EFER: " "Stack trace:" "$3" "kmain+" "stopped on an error")
}
case_ud()		{ exception_case ud "#UD invalid opcode" "<selftest_ud+"; }
case_pagefault()	{ exception_case pagefault "#PF page fault" "<selftest_page_fault+"
			  EXPECT+=("not present, write, supervisor" "CR2: 0000000000001000"); }
case_write_text()	{ exception_case write-text "#PF page fault" "<selftest_write_text+"
			  EXPECT+=("protection violation, write"); }
case_exec_data()	{ exception_case exec-data "#PF page fault" "instruction fetch"; }
case_stack_overflow()	{ exception_case stack-overflow "#DF double fault" "<selftest_recurse"
			  EXPECT=("${EXPECT[@]/kmain+/selftest_recurse}"); }
case_panic() {
	OPTS="test=panic"
	WANT=fail
	EXPECT=("PANIC: self-test panic (test=panic)" "RIP: " "RSP: " "CR3: "
		"Stack trace:" "selftest_run+" "kmain+" "stopped on an error")
}

CASES="boot guests_smp8 guests_no_npt smp1 smp2 smp4 smp8 phantom_cpu bench_ipi no_virt no_npt virt_toggle
       guest_bad_modules cmdline_unknown serial_com2 no_acpi no_long_mode
       memory ud pagefault
       write_text exec_data stack_overflow panic"
CASES="$CASES guest_cpustate guest_cpustate_shadow"
[ $# -gt 0 ] && CASES="$*"

passed=0 failed=0

# COM2 cases: COM1 to null and COM2 to stdio, in place of QEMU_BASE's
# "-serial stdio". Dropping the pair, not blanking it: an empty argument
# is taken by QEMU as a disk image ("drive ... index=0 exists").
use_com2() {
	local args=() i
	for ((i = 0; i < ${#QEMU_BASE[@]}; i++)); do
		if [ "${QEMU_BASE[$i]}" = -serial ]; then
			i=$((i + 1))
			continue
		fi
		args+=("${QEMU_BASE[$i]}")
	done
	QEMU_BASE=("${args[@]}" -serial null -serial stdio)
}

run_one() {	# case path
	local name=$1 path=$2 log="$WORK/$1.$2.log" ncpu=$QEMU_SMP secs=60
	local virt="AMD SVM" features=$TCG_MAX_SVM_FEATURES
	local expect_saved=("${EXPECT[@]}")
	rm -f "$log" "$log.emulator"
	[ "$SERIAL" = com2 ] && use_com2
	[ -n "$QEMU_MACHINE" ] && QEMU_BASE=("${QEMU_BASE[@]/q35/$QEMU_MACHINE}")
	case $path in
	kernel)
		boot_qemu_kernel "$log" 60 "$QEMU_CPU" "$QEMU_SMP" "$OPTS" "${MODULES[@]}"
		;;
	bios|uefi)
		[ "$path" = uefi ] && secs=90
		boot_qemu_iso "$log" $secs "$QEMU_CPU" "$QEMU_SMP" "$WORK/$name.iso" "$path"
		;;
	bochs)
		ncpu=$BOCHS_CPUS virt="Intel VMX" features=$BOCHS_VMX_FEATURES
		EXPECT+=("${BOCHS_EXPECT[@]}")
		boot_bochs_iso "$log" 180 "$BOCHS_CPUS" "$WORK/$name.iso"
		;;
	esac
	local i
	for i in "${!EXPECT[@]}"; do
		EXPECT[$i]=${EXPECT[$i]//\{NCPU+1\}/$((ncpu + 1))}
		EXPECT[$i]=${EXPECT[$i]//\{NCPU\}/$ncpu}
		EXPECT[$i]=${EXPECT[$i]//\{VIRT_FEATURES\}/$features}
		EXPECT[$i]=${EXPECT[$i]//\{VIRT\}/$virt}
	done
	local problems
	problems=$(check_log "$log")
	local ok=$?
	EXPECT=("${expect_saved[@]}")
	if [ "$VERDICT" != "$WANT" ]; then
		problems="    verdict: $VERDICT (exit $EXIT), expected $WANT
$problems"
		ok=1
	fi
	if [ $ok -eq 0 ]; then
		echo "boot: $name [$path]: ok"
		passed=$((passed + 1))
	else
		echo "boot: $name [$path]: FAIL (log: ${log#$TOP/})"
		printf '%s\n' "$problems"
		[ -s "$log" ] && tail -15 "$log" | sed 's/^/    | /'
		[ -s "$log.emulator" ] && sed 's/^/    emulator| /' "$log.emulator"
		failed=$((failed + 1))
	fi
}

QEMU_BASE_SAVED=("${QEMU_BASE[@]}")
for c in $CASES; do
	reset_case
	"case_$c"
	if [[ " $PATHS " == *" bios "* || " $PATHS " == *" uefi "* ||
	      " $PATHS " == *" bochs "* ]]; then
		if ! make_iso "$WORK/$c.iso" "$OPTS" "${MODULES[@]}"; then
			echo "boot: $c: FAIL (could not make the ISO)"
			failed=$((failed + 1))
			continue
		fi
	fi
	for p in $PATHS; do
		QEMU_BASE=("${QEMU_BASE_SAVED[@]}")
		run_one "$c" "$p"
	done
	rm -f "$WORK/$c.iso"
done
echo "boot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
