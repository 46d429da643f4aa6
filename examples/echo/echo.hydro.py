# The design document's echo example, on this machine: Localhost() stands in
# for GcpMachine(...).  hydro compiles the two .hf programs (the first run
# builds hydroflow once, a few minutes) and wires their ports.
from hydro import Deployment

async def main():
    deployment = Deployment()

    # Specify the machines we want to deploy to
    server_machine = deployment.Localhost()

    client_machine = deployment.Localhost()

    # Load Hydroflow programs
    server_hf = deployment.Hydroflow(
        src="src/echo_server.hf",
        on=server_machine,
    )

    client_hf = deployment.Hydroflow(
        src="src/echo_client.hf",
        on=client_machine,
    )

    # Wire the programs
    client_hf.ports.outbound.connect(server_hf.ports.inbound)
    server_hf.ports.outbound.connect(client_hf.ports.inbound)

    # Launch the two programs
    await deployment.deploy()

    # Once deployment finishes, start capturing logs from the client
    # (logs are buffered even before we grab `stdout`)
    client_logs = client_hf.stdout()

    i = 0
    async for log in client_logs:
        print(log)
        i += 1
        if i == 10:
            break

    # Stop the programs (optional)
    await client_hf.stop()
    await server_hf.stop()

    # Kill the machines (optional)
    await client_machine.terminate()
    await server_machine.terminate()
