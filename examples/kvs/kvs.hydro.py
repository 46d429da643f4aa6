# A replicated key-value store: two replicas, one client.  The client's
# requests go to both replicas (an output wired to several inputs sends to
# each); each replica answers at the client's reply address.
from hydro import Deployment

async def main():
    deployment = Deployment()
    machine = deployment.Localhost()

    replicas = [
        deployment.Hydroflow(src="src/kvs_replica.hf", on=machine,
                             args=["--name=replica%d" % i], name="replica%d" % i)
        for i in range(2)
    ]
    client = deployment.Hydroflow(src="src/kvs_client.hf", on=machine, name="client")

    for r in replicas:
        client.ports.requests.connect(r.ports.requests)
        r.ports.responses.connect(client.ports.responses)

    await deployment.deploy()

    answers = set()
    async for line in client.stdout():
        print(line)
        answers.add(line)
        if len(answers) == 2:
            break

    await client.stop()
    for r in replicas:
        await r.stop()
