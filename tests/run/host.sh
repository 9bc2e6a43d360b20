#!/usr/bin/env bash
# Run host test binaries (cmocka), count test cases, print one summary.
# cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)...".
set -u
passed=0 failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	out=$("$bin" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0} f=${f:-0}
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or a sanitizer stopped it
	fi
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ]; then
		printf '%s\n' "$out" | tail -40
		echo "host: $name: FAIL ($p passed, $f failed, exit $rc)"
	else
		echo "host: $name: ok ($p passed)"
	fi
	passed=$((passed + p)) failed=$((failed + f))
done
echo "host: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
