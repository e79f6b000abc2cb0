#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh SRC_DIR OUT_DIR TARGET...: what `make -C selftests
# run_tests` runs.  Each executable in OUT_DIR/TARGET is run in its
# directory, as kselftest's runner.sh does: under timeout(1) with the
# "timeout=" of SRC_DIR/TARGET/settings or SRC_DIR/settings (45 s if
# neither has one), its output indented as TAP comments, then one TAP
# result:
#
#	ok N selftests: TARGET: BINARY			exit status 0
#	ok N selftests: TARGET: BINARY # SKIP		4 (KSFT_SKIP)
#	not ok N selftests: TARGET: BINARY # TIMEOUT T seconds
#	not ok N selftests: TARGET: BINARY # exit=STATUS
#
# and at the end "# Totals: pass:P fail:F skip:S".  Exit status 0 iff
# nothing failed.

set -u

SRC_DIR=$1
OUT_DIR=$2
shift 2

KSFT_SKIP=4
TIMEOUT_STATUS=124

# timeout_of TARGET
timeout_of()
{
	for f in "$SRC_DIR/$1/settings" "$SRC_DIR/settings"; do
		[ -r "$f" ] || continue
		t=$(sed -n 's/^timeout=\([0-9][0-9]*\)[[:space:]]*$/\1/p' "$f" |
			tail -n 1)
		if [ -n "$t" ]; then
			echo "$t"
			return
		fi
	done
	echo 45
}

# binaries TARGET: its test binaries, one a line.
binaries()
{
	for b in "$OUT_DIR/$1"/*; do
		if [ -f "$b" ] && [ -x "$b" ]; then
			echo "$b"
		fi
	done
}

plan=0
for target in "$@"; do
	plan=$((plan + $(binaries "$target" | wc -l)))
done

rc_file=$(mktemp)
trap 'rm -f "$rc_file"' EXIT
n=0
pass=0
fail=0
skip=0
echo "TAP version 13"
echo "1..$plan"
for target in "$@"; do
	t=$(timeout_of "$target")
	for b in $(binaries "$target"); do
		n=$((n + 1))
		name="selftests: $target: ${b##*/}"
		echo "# timeout set to $t"
		echo "# $name"
		{
			cd "${b%/*}" &&
				timeout --foreground -k 10 "$t" "./${b##*/}" \
					< /dev/null 2>&1
			echo $? > "$rc_file"
		} | sed 's/^/# /'
		rc=$(cat "$rc_file")
		if [ "$rc" -eq 0 ]; then
			echo "ok $n $name"
			pass=$((pass + 1))
		elif [ "$rc" -eq $KSFT_SKIP ]; then
			echo "ok $n $name # SKIP"
			skip=$((skip + 1))
		elif [ "$rc" -eq $TIMEOUT_STATUS ]; then
			echo "not ok $n $name # TIMEOUT $t seconds"
			fail=$((fail + 1))
		else
			echo "not ok $n $name # exit=$rc"
			fail=$((fail + 1))
		fi
	done
done
echo "# Totals: pass:$pass fail:$fail skip:$skip"
[ "$fail" -eq 0 ]
