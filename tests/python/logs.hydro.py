"""Logs through async for: -D case=late|many|readers|echo."""
import asyncio

import hydro


async def collect(stream: hydro.LogStream) -> list:
    return [line async for line in stream]


async def main() -> None:
    case = hydro.param("case", "late")
    n = hydro.param("lines", 100000)
    d = hydro.Deployment()
    host = d.Localhost()
    if case == "late":
        # prints at once, then keeps running: stdout() is called well after
        svc = d.Process(cmd=["sh", "-c", "echo first; echo second; echo third >&2; "
                                         "exec sleep 30"], on=host, name="early")
        await d.deploy()
        await asyncio.sleep(1)
        out, err = svc.stdout(), svc.stderr()
        print("out:", [await out.__anext__(), await out.__anext__()])
        print("err:", await err.__anext__())
    elif case == "many":
        svc = d.Process(cmd=["seq", str(n)], on=host, name="seq")
        await d.deploy()
        count = 0
        async for line in svc.stdout():
            count += 1
            if line != str(count):
                raise SystemExit("line %d is %r" % (count, line))
        print("lines:", count, "exit:", await svc.wait())
    elif case == "readers":
        svc = d.Process(cmd=["seq", str(n)], on=host, name="seq")
        await d.deploy()
        a, b = await asyncio.gather(collect(svc.stdout()), collect(svc.stdout()))
        want = [str(i) for i in range(1, n + 1)]
        print("readers:", len(a), len(b), a == want, b == want)
    elif case == "echo":
        # stdout is the script's from deploy() on; stderr stays the terminal's
        svc = d.Process(cmd=["sh", "-c", "echo o1; echo e1 >&2; echo o2; sleep 0.3; "
                                         "echo o3; echo e2 >&2"], on=host, name="talk")
        await d.deploy()
        async for line in svc.stdout():
            print("got:", line)
        await svc.wait()
