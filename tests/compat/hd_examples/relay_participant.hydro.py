# The script sends N messages through a crate built on Hydro Deploy's
# program side (../hydroflow_relay, which forwards its input to its output)
# and reads them back, in order.  Arguments: N (default 10000).
import sys
import time
from pathlib import Path

import hydro


async def main(args):
    n = int(args[0]) if args else 10000

    deployment = hydro.Deployment()
    localhost = deployment.Localhost()
    me = deployment.CustomService(on=localhost, external_ports=[])
    relay = deployment.HydroflowCrate(
        src=str(Path(__file__).absolute().parent.parent / "hydroflow_relay"),
        on=localhost,
        display_id="relay",
    )
    to_relay = me.client_port()
    to_relay.send_to(relay.ports.input)
    from_relay = me.client_port()
    relay.ports.output.send_to(from_relay)

    await deployment.deploy()
    await deployment.start()

    sink = await (await to_relay.server_port()).into_sink()
    source = await (await from_relay.server_port()).into_source()
    start = time.monotonic()
    for i in range(n):
        await sink.send(b"m%d" % i)
    sent = time.monotonic()
    i = 0
    async for frame in source:
        if frame != b"m%d" % i:
            raise SystemExit("message %d came back as %r" % (i, frame))
        i += 1
        if i == n:
            break
    print("%d messages back in order; sent in %.3f s, back in %.3f s"
          % (n, sent - start, time.monotonic() - start))


if __name__ == "__main__":
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
