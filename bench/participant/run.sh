#!/bin/sh
# bench/participant: the config script as a participant (CustomService):
# N messages (10000 by default) sent through into_sink() into a compiled .hf
# program that answers each one, and the answers read back through
# into_source().  One deployment, ROUNDS rounds on the same connections;
# prints the median of the time to send them all (every send() returned)
# and of the time until the last answer was read, and messages per second.
# The script is tests/integration/hf/participant.hydro.py.  Needs cargo
# (the program is built once into CARGO_TARGET_DIR).
: "${HYDRO:?run through make bench}"
N=${N:-10000}
ROUNDS=${ROUNDS:-11}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
: "${CARGO_TARGET_DIR:=$TOP/build/cargo-target}"
HYDRO_RUST_DIR=$TOP/lang/rust
export CARGO_TARGET_DIR HYDRO_RUST_DIR

work=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-participant.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$TOP/tests/integration/hf/reply.hf" "$work/"
cp "$TOP/tests/integration/hf/participant.hydro.py" "$work/"
"$HYDRO" --color=never -q -C "$work" run participant.hydro.py -- "$N" "$ROUNDS" >"$work/out" 2>"$work/err" ||
	{ echo "the run failed:"; tail -5 "$work/err"; exit 1; }
set -- $(grep '^RESULT ' "$work/out")
echo "| messages | into_sink, all sent (ms) | all answers back (ms) | messages/s sent | messages/s round trip |"
echo "|---:|---:|---:|---:|---:|"
awk -v n="$2" -v s="$3" -v t="$4" 'BEGIN { printf "| %d | %.1f | %.1f | %.0f | %.0f |\n", n, s * 1000, t * 1000, n / s, n / t }'
