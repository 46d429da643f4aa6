# The script as a participant, in Hydro Deploy's API: N messages sent
# through into_sink() into hydroflow 0.5.0's relay05 (tests/compat/
# hydroflow05), which sends each back to the script's into_source().
# Arguments: N CRATE.  Prints "started", then "RESULT N SENT BACK": the
# seconds until every send() returned and until the last message came back.
import time
import hydro


async def main(args):
    n = int(args[0])
    deployment = hydro.Deployment()
    host = deployment.Localhost()
    me = deployment.CustomService(external_ports=[], on=host)
    relay = deployment.HydroflowCrate(src=args[1], example="relay05", on=host)
    out = me.client_port()
    out.send_to(relay.ports.input)
    back = me.client_port()
    relay.ports.output.send_to(back)
    await deployment.deploy()
    await deployment.start()
    print("started", flush=True)
    sink = await (await out.server_port()).into_sink()
    source = await (await back.server_port()).into_source()
    messages = [b"m%d" % i for i in range(n)]
    start = time.perf_counter()
    for m in messages:
        await sink.send(m)
    sent = time.perf_counter() - start
    i = 0
    async for frame in source:
        i += 1
        if i == n:
            break
    back_s = time.perf_counter() - start
    print("RESULT %d %.4f %.4f" % (n, sent, back_s), flush=True)
    await relay.stop()


if __name__ == "__main__":
    import sys
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
