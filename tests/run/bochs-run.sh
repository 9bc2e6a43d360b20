#!/usr/bin/env bash
# make run-bochs: boot the ISO in Bochs (Intel VMX model, 2 CPUs) and show
# the serial console.
source "$(dirname "$0")/lib.sh"
log=$(mktemp)
echo "== booting $1 in Bochs (corei7_skylake_x, 2 CPUs) =="
boot_bochs_iso "$log" "${2:-300}" 2 "$(realpath "$1")"
sed -n '/^hv[ 0-9.]*: x86_64 hypervisor/,$p' "$log"
rm -f "$log"
echo "== Bochs ended: $VERDICT =="
[ "$VERDICT" = pass ]
