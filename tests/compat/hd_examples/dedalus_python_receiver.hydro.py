# A crate sends to the script through a demux, and the script reads what
# arrives; deploy() and start() are called three times, as in Hydro
# Deploy's dedalus_python_receiver example.  Argument: where the sender
# runs, "local" or "gcp"; then how many messages to read (default 6).
import json
from pathlib import Path

import hydro


async def main(args):
    sender_on_gcp = args[0] == "gcp"
    wanted = int(args[1]) if len(args) > 1 else 6

    deployment = hydro.Deployment()
    localhost = deployment.Localhost()

    network = hydro.GcpNetwork(
        project="hydro-example",
    )

    machine2 = deployment.GcpComputeEngineHost(
        project="hydro-example",
        machine_type="e2-micro",
        image="debian-cloud/debian-11",
        region="us-west1-a",
        network=network,
    ) if sender_on_gcp else localhost

    receiver = deployment.CustomService(
        external_ports=[],
        on=localhost,
    )

    sender = deployment.HydroflowCrate(
        src=str(Path(__file__).parent.absolute()),
        example="dedalus_sender",
        args=[json.dumps(([0], 123))],
        on=machine2,
    )

    port = receiver.client_port()
    sender.ports.broadcast.send_to(hydro.demux({
        0: port,
    }))

    await deployment.deploy()
    print("deployed!")

    await deployment.start()
    print("started!")

    await deployment.deploy()
    await deployment.start()
    print("again!")

    await deployment.deploy()
    await deployment.start()
    print("and again!")

    print((await port.server_port()).json())
    connection = await (await port.server_port()).into_source()
    count = 0
    async for received in connection:
        # a bincode (String,): its length (8 bytes, little-endian), then it
        print(bytes(received)[8:].decode("utf-8"))
        count += 1
        if count == wanted:
            break


if __name__ == "__main__":
    import sys
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
