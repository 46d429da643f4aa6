"""Raise at one point of a script (-D at=N); every service must be gone after."""
import asyncio
import time

import hydro

MARK = hydro.param("mark", "hydro-test-mark")


async def main() -> None:
    at = hydro.param("at", 0)
    d = hydro.Deployment()
    host = d.Localhost()
    a = d.Process(cmd=["sh", "-c", "echo up; exec sleep 300", MARK], on=host, name="a")
    b = d.Process(cmd=["sh", "-c", "while :; do echo tick; sleep 0.05; done", MARK],
                  on=host, name="b")
    if at == 1:
        raise RuntimeError("before deploy")
    if at == 7:
        # a service that never gets ready: cancelling the awaiting task
        # cancels the deployment's work, and the script goes on
        d.Process(cmd=["sh", "-c", "exec sleep 300", MARK], on=host, name="slow",
                  ready={"log": "never printed"})
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(d.deploy(), 1.0)
        except asyncio.TimeoutError:
            print("deploy cancelled after %.0f s" % (time.monotonic() - t0), flush=True)
        return
    await d.deploy()
    if at == 2:
        raise RuntimeError("after deploy")
    n = 0
    async for line in b.stdout():
        n += 1
        if at == 3 and n == 3:
            raise RuntimeError("inside async for")
        if at == 4 and n == 3:
            print("waiting for Ctrl-C", flush=True)
        if n == 5 and at != 4:
            break
    await a.stop()
    if at == 5:
        raise RuntimeError("after a stop")
    if at == 6:
        await host.terminate()
        raise RuntimeError("after terminate")
    print("done", flush=True)
