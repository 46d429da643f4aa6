#!/bin/sh
# bench/run.sh: run every benchmark (bench/NAME/run.sh), or those named:
#   make bench            all of them
#   make bench BENCH=noop one
# Each prints a Markdown table: hydro beside the peer it names, measured in
# the same run on the same input.
: "${HYDRO:=$(pwd)/hydro}"
: "${BUILD:=$(pwd)/build/obj}"
export HYDRO BUILD TOP="$(pwd)"
status=0
for d in bench/*/; do
	name=$(basename "$d")
	if [ $# -gt 0 ]; then
		case " $* " in *" $name "*) ;; *) continue ;; esac
	fi
	[ -f "$d/run.sh" ] || continue
	echo "## $name"
	echo
	sh "$d/run.sh" || status=1
	echo
done
exit $status
