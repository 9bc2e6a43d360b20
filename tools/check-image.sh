#!/bin/sh
# The multiboot1 a.out kludge loads the file as one block: every PT_LOAD
# with file contents must sit at the same (physical address - file offset)
# distance, and the multiboot1 header must lie in the first 8 KiB.
set -e
img=$1
delta=""
for seg in $(readelf -lW "$img" | awk '$1 == "LOAD" { print $2 ":" $4 ":" $5 }'); do
	off=${seg%%:*}; rest=${seg#*:}; paddr=${rest%%:*}; filesz=${rest#*:}
	[ $((filesz)) -eq 0 ] && continue
	d=$((paddr - off))
	if [ -n "$delta" ] && [ "$d" -ne "$delta" ]; then
		echo "check-image: $img: PT_LOAD segments are not contiguous in the file" >&2
		exit 1
	fi
	delta=$d
done
[ -n "$delta" ] || { echo "check-image: $img: no PT_LOAD" >&2; exit 1; }
hdr=$(od -A d -t x4 -w4 -v -N 8192 "$img" | awk '$2 == "1badb002" { print $1; exit }')
[ -n "$hdr" ] || { echo "check-image: $img: no multiboot1 header in the first 8 KiB" >&2; exit 1; }
