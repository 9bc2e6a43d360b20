#!/bin/sh
# make run / run-uefi / run-kvm: boot in QEMU on this terminal and say how
# the run ended (QEMU's isa-debug-exit status is (value << 1) | 1).
# Usage: run-qemu.sh SECS QEMU-ARGS...
secs=$1
shift
timeout "$secs" qemu-system-x86_64 "$@"
rc=$?
case $rc in
33) echo "== hv finished: pass =="; exit 0 ;;
35) echo "== hv stopped on an error (see above) =="; exit 1 ;;
124) echo "== time limit of ${secs}s reached; QEMU stopped =="; exit 1 ;;
0) echo "== QEMU ended (reset, triple fault or quit) =="; exit 0 ;;
*) echo "== QEMU failed with status $rc =="; exit 1 ;;
esac
