#!/usr/bin/env bash
# Boot helpers shared by the system-test runners. Source it.
#
# Each boot_* function boots an image with a time limit, writes the serial
# log to $LOG, and sets VERDICT to one of:
#   pass     the machine said so (QEMU debug-exit 0x10, Bochs magic break)
#   fail     the machine reported failure (debug-exit 0x11, Bochs Shutdown)
#   timeout  the time limit ran out
#   reset    a triple fault or reset (QEMU -no-reboot exit 0)
#   error    the emulator itself failed (EXIT holds its status)

RUN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$RUN_DIR/../.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
QEMU_BASE=(-machine q35 -m 512M -nographic -no-reboot -serial stdio
	   -monitor none -display none
	   -device isa-debug-exit,iobase=0xf4,iosize=0x04)

qemu_verdict() {
	case $1 in
	33) VERDICT=pass ;;
	35) VERDICT=fail ;;
	124|137) VERDICT=timeout ;;
	0) VERDICT=reset ;;
	*) VERDICT=error ;;
	esac
	EXIT=$1
}

# boot_qemu_kernel LOG SECS CPU SMP "HV OPTIONS" ["MODULE OPTIONS" ...]
boot_qemu_kernel() {
	local log=$1 secs=$2 cpu=$3 smp=$4 opts=$5
	shift 5
	local initrd=""
	for m in "$@"; do
		initrd="${initrd:+$initrd,}$m"
	done
	local args=("${QEMU_BASE[@]}" -cpu "$cpu" -smp "$smp"
		    -kernel "$TOP/build/hv.elf" -append "$opts")
	[ -n "$initrd" ] && args+=(-initrd "$initrd")
	(cd "$TOP" && timeout "$secs" "$QEMU" "${args[@]}" </dev/null >"$log" 2>&1)
	qemu_verdict $?
}

# make_iso ISO "HV OPTIONS" ["MODULE OPTIONS" ...]
make_iso() {
	local iso=$1
	shift
	(cd "$TOP" && tools/mkiso.sh "$iso" build/hv.elf "$@")
}

# boot_qemu_iso LOG SECS CPU SMP ISO bios|uefi
boot_qemu_iso() {
	local log=$1 secs=$2 cpu=$3 smp=$4 iso=$5 fw=$6
	local args=("${QEMU_BASE[@]}" -cpu "$cpu" -smp "$smp" -cdrom "$iso")
	if [ "$fw" = uefi ]; then
		local vars
		vars=$(mktemp)
		cp "$OVMF_VARS" "$vars"
		args+=(-drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE"
		       -drive "if=pflash,format=raw,file=$vars")
	fi
	timeout "$secs" "$QEMU" "${args[@]}" </dev/null >"$log" 2>&1
	qemu_verdict $?
	[ "$fw" = uefi ] && rm -f "$vars"
}

# boot_bochs_iso LOG SECS CPUS ISO
# Bochs ignores SIGTERM: SIGINT, then KILL. Its debugger reads the rc file:
# 'continue' runs the machine; at the magic break (pass) it reads 'quit'.
boot_bochs_iso() {
	local log=$1 secs=$2 cpus=$3 iso=$4
	local dir
	dir=$(mktemp -d)
	# Sound off: with no sound card Bochs's ALSA start-up aborts it.
	cat >"$dir/bochsrc" <<CFG
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
memory: guest=512, host=512
cpu: model=corei7_skylake_x, count=$cpus, ips=10000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$log
display_library: term
magic_break: enabled=1
clock: sync=none
log: $dir/bochs.log
error: action=report
panic: action=fatal
CFG
	printf 'continue\nquit\n' >"$dir/rc"
	(cd "$dir" && TERM=dumb timeout -s INT -k 5 "$secs" bochs -q -f bochsrc \
		-rc rc </dev/null >"$dir/stdout" 2>&1)
	EXIT=$?
	case $EXIT in
	0) VERDICT=pass ;;
	1) if grep -q "Shutdown\|shutdown" "$dir/bochs.log" 2>/dev/null; then
		VERDICT=fail
	   else
		VERDICT=reset
	   fi ;;
	124|137) VERDICT=timeout ;;
	*) VERDICT=error ;;
	esac
	if [ "$VERDICT" = error ] || [ "$VERDICT" = reset ]; then
		tail -5 "$dir/bochs.log" >>"$log.emulator" 2>/dev/null
	fi
	rm -rf "$dir"
}

# Every line in EXPECT (fixed strings) must appear in LOG; none of FORBID.
# Prints what is missing. Returns 0 when all is well.
check_log() {
	local log=$1 own
	shift
	local ok=0 line
	own=$(mktemp)
	# From the hypervisor's banner on: firmware and GRUB print on the same
	# port before it (OVMF even prints "WARNING: ...").
	sed -n '/^hv[ 0-9.]*: x86_64 hypervisor/,$p' "$log" 2>/dev/null >"$own"
	log=$own
	for line in "${EXPECT[@]}"; do
		if ! grep -qsF -- "$line" "$log"; then
			echo "    missing: $line"
			ok=1
		fi
	done
	for line in "${FORBID[@]}"; do
		if grep -qsF -- "$line" "$log"; then
			echo "    unexpected: $line"
			ok=1
		fi
	done
	rm -f "$own"
	return $ok
}
