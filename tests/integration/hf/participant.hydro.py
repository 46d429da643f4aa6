# The script as a participant: it sends N strings into a compiled .hf
# program through a port of its own and reads the program's answers back,
# in order, through another.  Arguments: N (default 10000).
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
    start = time.monotonic()
    for i in range(n):
        await sink.send(encode("m%d" % i))
    sent = time.monotonic()
    i = 0
    async for frame in source:
        if decode(frame) != "re m%d" % i:
            raise SystemExit("answer %d is %r" % (i, decode(frame)))
        i += 1
        if i == n:
            break
    print("%d answers in order; sent in %.4f s, all back in %.4f s"
          % (n, sent - start, time.monotonic() - start))


if __name__ == "__main__":
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
