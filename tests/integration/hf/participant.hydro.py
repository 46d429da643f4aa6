# The script as a participant: it sends N strings into a compiled .hf
# program (reply.hf) through a port of its own and reads the program's
# answers back, in order, through another; ROUNDS times over the same
# connections.  Arguments: N (default 10000), ROUNDS (default 1).  The last
# line is "RESULT N SEND RTT": the median seconds to send them all (every
# send() returned) and until the last answer was read (bench/participant).
import statistics
import struct
import sys
import time

import hydro


def encode(text):
    """A String as bincode puts it: its length (u64, little-endian), then it."""
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def decode(frame):
    (n,) = struct.unpack_from("<Q", frame)
    return frame[8:8 + n].decode()


async def main(args):
    n = int(args[0]) if args else 10000
    rounds = int(args[1]) if len(args) > 1 else 1
    deployment = hydro.Deployment()
    host = deployment.Localhost()
    me = deployment.CustomService(on=host, external_ports=[])
    reply = deployment.Hydroflow(src="reply.hf", on=host)
    out = me.client_port()
    out.send_to(reply.ports.inp)
    back = me.client_port()
    reply.ports.out.send_to(back)
    await deployment.deploy()

    print("out", (await out.server_port()).json())
    print("back", (await back.server_port()).json())
    sink = await (await out.server_port()).into_sink()
    source = await (await back.server_port()).into_source()
    frames = [encode("m%d" % i) for i in range(n)]
    sent, done = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        for frame in frames:
            await sink.send(frame)
        sent.append(time.perf_counter() - start)
        i = 0
        async for frame in source:
            if decode(frame) != "re m%d" % i:
                raise SystemExit("answer %d is %r" % (i, decode(frame)))
            i += 1
            if i == n:
                break
        done.append(time.perf_counter() - start)
        print("%d answers in order" % n)
    print("RESULT %d %.4f %.4f" % (n, statistics.median(sent), statistics.median(done)))


if __name__ == "__main__":
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
