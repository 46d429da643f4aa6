# The script sends to a crate through two of its own ports merged into the
# crate's input, as Hydro Deploy's hydro_python_sender example does.
# Argument: where the receiver runs, "local" or "gcp".
from pathlib import Path

import hydro


async def main(args):
    receiver_on_gcp = args[0] == "gcp"

    deployment = hydro.Deployment()
    localhost = deployment.Localhost()

    network = hydro.GCPNetwork(
        project="hydro-example",
    )

    machine2 = deployment.GCPComputeEngineHost(
        project="hydro-example",
        machine_type="e2-micro",
        image="debian-cloud/debian-11",
        region="us-west1-a",
        network=network,
    ) if receiver_on_gcp else localhost

    sender = deployment.CustomService(
        external_ports=[],
        on=localhost,
    )

    receiver = deployment.HydroflowCrate(
        src=str(Path(__file__).parent.absolute()),
        example="stdout_receiver",
        on=machine2,
        display_id="receiver",
    )

    port1 = sender.client_port()
    port1.send_to(receiver.ports.echo.merge())

    port2 = sender.client_port()
    port2.send_to(receiver.ports.echo.merge())

    await deployment.deploy()
    print("deployed!")

    await deployment.start()
    print("started!")

    out = await receiver.stdout()
    connection1 = await (await port1.server_port()).into_sink()
    connection2 = await (await port2.server_port()).into_sink()

    await connection1.send(bytes("hi 1!", "utf-8"))
    await connection2.send(bytes("hi 2!", "utf-8"))

    seen = set()
    async for line in out:
        print("receiver said", line)
        seen.add(line)
        if seen == {'echo "hi 1!"', 'echo "hi 2!"'}:
            break


if __name__ == "__main__":
    import sys
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
