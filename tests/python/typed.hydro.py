"""Every part of the hydro API once, fully annotated: mypy --strict checks
it against the package's types, and the tests run it.

Two echo stand-ins wired as in the seed, a process that reads a target's
output, and the Hydro Deploy style wiring (merge, tagged, demux, null)
declared on a second deployment that is only planned.
"""
import os
import sys
from typing import List

import hydro
from hydro import Deployment, LogStream

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "standin.py")


def wiring_only() -> Deployment:
    """Hydro Deploy's ways of wiring crates (declared, not run)."""
    d = Deployment()
    host = d.Localhost()
    a = d.Process(cmd=["cat"], on=host, ports=["out"], name="a")
    b = d.Process(cmd=["cat"], on=host, ports=["out", "spare"], name="b")
    p = d.Process(cmd=["cat"], on=host, ports={"fanin": "input", "out": "output"},
                  name="p")
    x = d.Process(cmd=["cat"], on=host, ports={"inp": "input"}, name="x")
    y = d.Process(cmd=["cat"], on=host, ports={"inp": "input"}, name="y")
    a.ports.out.tagged(1).send_to(p.ports.fanin.merge())
    b.ports.out.tagged(2).send_to(p.ports.fanin.merge())
    p.ports.out.send_to(hydro.demux({0: x.ports.inp, 1: y.ports.inp}))
    b.ports.spare.send_to(hydro.null())
    return d


async def main(args: List[str]) -> None:
    pings = hydro.param("pings", 5)
    deployment = Deployment()
    host = deployment.Localhost()
    data = deployment.Target("data", cmd=["sh", "-c", "seq 3 > data.txt"],
                             outputs=["data.txt"])
    server = deployment.Hydroflow(src="src/echo_server.hf", on=host,
                                  standin=[sys.executable, STANDIN, "echo_server"])
    client = deployment.Hydroflow(src="src/echo_client.hf", on=host,
                                  standin=[sys.executable, STANDIN, "echo_client",
                                           str(pings)])
    reader = deployment.Process(cmd=["sh", "-c", "cat data.txt; echo $GREETING"],
                                on=host, env={"GREETING": "hello"}, needs=[data], cwd=".",
                                can_die=True)
    client.ports.outbound.connect(server.ports.inbound)
    server.ports.outbound.send_to(client.ports.inbound)
    wiring_only()

    await deployment.deploy(start=False)
    logs: LogStream = client.stdout()
    await deployment.start()

    seen = 0
    async for line in logs:
        print(line)
        seen += 1
        if seen == pings:
            break
    code: int = await reader.wait()
    print("reader exited with", code, reader.exit_code)
    async for line in reader.stdout():
        print("reader:", line)
    await client.stop()
    await server.stop()
    await host.terminate()


if __name__ == "__main__":
    hydro.run(main)
