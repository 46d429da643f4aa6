#!/bin/sh
# bench/participant: the config script as a participant (CustomService):
# N messages (10000 by default) sent through into_sink() into a compiled .hf
# program that answers each one, and the answers read back through
# into_source().  One deployment, ROUNDS rounds on the same connections;
# prints the median of the time to send them all (every send() returned)
# and of the time until the last answer was read, and messages per second.
# Needs cargo (the program is built once into CARGO_TARGET_DIR).
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
cat >"$work/bench.hydro.py" <<'PY'
import statistics
import struct
import sys
import time

import hydro


def encode(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


async def main(args):
    n, rounds = int(args[0]), int(args[1])
    d = hydro.Deployment()
    host = d.Localhost()
    me = d.CustomService(on=host, external_ports=[])
    reply = d.Hydroflow(src="reply.hf", on=host)
    out = me.client_port()
    out.send_to(reply.ports.inp)
    back = me.client_port()
    reply.ports.out.send_to(back)
    await d.deploy()
    sink = await (await out.server_port()).into_sink()
    source = await (await back.server_port()).into_source()
    frames = [encode("m%d" % i) for i in range(n)]
    sent, done = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for f in frames:
            await sink.send(f)
        sent.append(time.perf_counter() - start)
        got = 0
        async for _frame in source:
            got += 1
            if got == n:
                break
        done.append(time.perf_counter() - start)
    s, t = statistics.median(sent), statistics.median(done)
    print("RESULT %d %.4f %.4f" % (n, s, t))

if __name__ == "__main__":
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
PY
"$HYDRO" --color=never -q -C "$work" run bench.hydro.py -- "$N" "$ROUNDS" >"$work/out" 2>"$work/err" ||
	{ echo "the run failed:"; tail -5 "$work/err"; exit 1; }
set -- $(grep '^RESULT ' "$work/out")
echo "| messages | into_sink, all sent (ms) | all answers back (ms) | messages/s sent | messages/s round trip |"
echo "|---:|---:|---:|---:|---:|"
awk -v n="$2" -v s="$3" -v t="$4" 'BEGIN { printf "| %d | %.1f | %.1f | %.0f | %.0f |\n", n, s * 1000, t * 1000, n / s, n / t }'
