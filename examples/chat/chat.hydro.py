# A chat room: one server, three clients, each a .hf program compiled by
# hydro.  Every client sends its scripted lines to the server, which sends
# each line to every other client at its reply address.
from hydro import Deployment

NAMES = ["alice", "bob", "carol"]
LINES = 2   # lines each client sends

async def main():
    deployment = Deployment()
    machine = deployment.Localhost()

    server = deployment.Hydroflow(src="src/chat_server.hf", on=machine, name="server")
    clients = [
        deployment.Hydroflow(src="src/chat_client.hf", on=machine, name=name,
                             args=["--name=" + name, "--lines=%d" % LINES])
        for name in NAMES
    ]

    for c in clients:
        c.ports.to_server.connect(server.ports.from_clients)
        server.ports.to_clients.connect(c.ports.from_server)

    await deployment.deploy()

    # take the clients' logs at once (hydro shows what no one takes), then
    # read them one after another: each client hears every line of the others
    logs = [c.stdout() for c in clients]
    for name, log in zip(NAMES, logs):
        heard = 0
        async for line in log:
            print("%s heard %s" % (name, line))
            heard += 1
            if heard == LINES * (len(NAMES) - 1):
                break

    for c in clients:
        await c.stop()
    await server.stop()
