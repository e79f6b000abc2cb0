#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make layers`: which file calls which, in the module and in ktstr-vmm,
# read off their objects (nm: the symbols each defines against those it
# leaves undefined), and whether the calls form a cycle.  The module's
# files are meant to form the stack vconsole/vconsole.h states, the
# VMM's the one userspace-vmm/ktstr-vmm.h states: a cycle is a file
# calling back up.  Prints "A -> B (N): symbols" per pair and a verdict
# per program; exit status 1 if either has a cycle.
#
# Builds into a temporary directory: the module against KDIR (default
# the first /usr/src/linux-headers-6.12.*-amd64 of `make setup`), the
# VMM's files with cc -c.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=vm/l1-lib.sh
source "$HERE/vm/l1-lib.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# calls DIR OBJ...: "caller callee symbol" for every symbol an object
# leaves undefined that another of them defines.
calls()
{
	local dir=$1 o

	shift
	for o in "$@"; do
		nm --defined-only -g "$dir/$o" |
			awk -v f="${o%.o}" 'NF == 3 { print "D", f, $3 }'
		nm -u "$dir/$o" | awk -v f="${o%.o}" '{ print "U", f, $2 }'
	done | awk '$1 == "D" { def[$3] = $2; next }
		{ use[++n] = $2 " " $3 }
		END {
			for (i = 1; i <= n; i++) {
				split(use[i], u, " ")
				if ((u[2] in def) && def[u[2]] != u[1])
					print u[1], def[u[2]], u[2]
			}
		}' | sort
}

# report NAME DIR OBJ...: the pairs, then the verdict; 1 on a cycle.
report()
{
	local name=$1 dir=$2 edges

	shift 2
	edges=$(calls "$dir" "$@")
	echo "# $name: $(echo "$edges" | awk '{ print $1, $2 }' | sort -u | wc -l) file pairs, $(echo "$edges" | grep -c . || true) calls"
	echo "$edges" | awk '{ k = $1 " -> " $2; s[k] = s[k] " " $3; n[k]++ }
		END { for (k in s) printf "%s (%d):%s\n", k, n[k], s[k] }' |
		sort | sed 's/^/#   /'
	if echo "$edges" | awk '{ print $1, $2 }' | sort -u |
	   tsort > /dev/null 2> "$tmp/tsort"; then
		echo "ok - $name: no file calls back up"
		return 0
	fi
	echo "not ok - $name: a cycle of calls"
	sed 's/^/# /' "$tmp/tsort"
	return 1
}

module_objects()
{
	local kdir=${KDIR:-} d

	if [[ -z $kdir ]]; then
		for d in /usr/src/linux-headers-6.12.*-amd64; do
			[[ -d $d ]] && kdir=$d && break
		done
	fi
	[[ -n $kdir ]] || { echo "no kernel headers (make setup, or KDIR=)" >&2; return 1; }
	kmod_build "${kdir#/usr/src/linux-headers-}" "$TOP" "$tmp/kmod" "$kdir" \
		> "$tmp/kmod.log" 2>&1 || { cat "$tmp/kmod.log" >&2; return 1; }
}

vmm_objects()
{
	local f

	mkdir -p "$tmp/vmm"
	for f in "$TOP"/userspace-vmm/*.c; do
		case ${f##*/} in
		ktstr-tlv.c) continue ;;	# the decoder's main, not the VMM's
		esac
		cc -c -O2 -D_GNU_SOURCE -DKTSTR_VC_VERSION='"layers"' \
			-I"$TOP/uapi" -I"$TOP/userspace-vmm" \
			-o "$tmp/vmm/$(basename "$f" .c).o" "$f"
	done
}

# objects DIR: the file names of DIR's objects, less the module's link
# result and its .mod.o.
objects()
{
	local o

	for o in "$1"/*.o; do
		o=${o##*/}
		case $o in
		*.mod.o | ktstr_vconsole.o) ;;
		*) echo "$o" ;;
		esac
	done
}

main()
{
	local rc=0 objs

	module_objects
	objs=$(objects "$tmp/kmod/vconsole")
	# shellcheck disable=SC2086 # a list of file names without blanks
	report module "$tmp/kmod/vconsole" $objs || rc=1
	vmm_objects
	objs=$(objects "$tmp/vmm")
	# shellcheck disable=SC2086
	report ktstr-vmm "$tmp/vmm" $objs || rc=1
	return "$rc"
}

main
