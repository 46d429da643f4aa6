# Two senders broadcast to two receivers through a demux into merged
# inputs, as Hydro Deploy's simple_dedalus example does: its API, its
# ending.  Arguments: where each machine is, "local" or "gcp".
import asyncio
import json
from pathlib import Path

import hydro


async def merged(streams):
    """The lines of several streams, as they come."""
    queue = asyncio.Queue()

    async def pump(label, stream):
        async for line in stream:
            await queue.put(f"{label}: {line}")

    tasks = [asyncio.create_task(pump(label, s)) for label, s in streams]
    try:
        while True:
            yield await queue.get()
    finally:
        for t in tasks:
            t.cancel()


async def main(args):
    first_on_gcp = args[0] == "gcp"
    second_on_gcp = args[1] == "gcp"

    deployment = hydro.Deployment()
    localhost = deployment.Localhost()

    network = hydro.GcpNetwork(
        project="hydro-example",
    )

    machine1 = deployment.GcpComputeEngineHost(
        project="hydro-example",
        machine_type="e2-micro",
        image="debian-cloud/debian-11",
        region="us-west1-a",
        network=network,
    ) if first_on_gcp else localhost

    machine2 = deployment.GcpComputeEngineHost(
        project="hydro-example",
        machine_type="e2-micro",
        image="debian-cloud/debian-11",
        region="us-west1-a",
        network=network,
    ) if second_on_gcp else localhost

    here = str(Path(__file__).parent.absolute())
    senders = [deployment.HydroflowCrate(
        src=here,
        example="dedalus_sender",
        args=[json.dumps(([0, 1], i))],
        on=machine1,
    ) for i in range(2)]

    receiver1 = deployment.HydroflowCrate(src=here, example="dedalus_receiver", on=machine2)
    receiver2 = deployment.HydroflowCrate(src=here, example="dedalus_receiver", on=machine2)

    for sender in senders:
        sender.ports.broadcast.send_to(hydro.demux({
            0: receiver1.ports.broadcast.merge(),
            1: receiver2.ports.broadcast.merge(),
        }))

    await deployment.deploy()
    print("deployed!")

    # taken before start(), so that no line is missed
    out1 = await receiver1.stdout()
    out2 = await receiver2.stdout()

    await deployment.start()
    print("started!")

    count = 0
    async for line in merged([("RECEIVER 1", out1), ("RECEIVER 2", out2)]):
        print(line)
        count += 1
        if count == 10:
            break

    for sender in senders:
        await sender.stop()
        print("exit code", await sender.exit_code())


if __name__ == "__main__":
    import sys
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
