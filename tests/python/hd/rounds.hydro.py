"""deploy() three times on one deployment, declaring new services, hosts and
connections between them (tests/integration/python_hd.sh): the second
deploy() deploys and starts them beside the first round's, which run on
untouched; connections to what runs are refused."""
import hydro
from pair import pair


async def ends(to, back):
    sink = await (await to.server_port()).into_sink()
    source = await (await back.server_port()).into_source()
    return sink, source


async def main():
    d = hydro.Deployment()
    box = d.Localhost()
    me1, relay1, to1, back1 = pair(d, box, "MARK")
    await d.deploy()
    sink1, source1 = await ends(to1, back1)
    await sink1.send(b"a")
    print("first", await source1.__anext__())

    # a second round: new services on the same host and on a new one
    me2, relay2, to2, back2 = pair(d, box, "MARK")
    other = d.Localhost()
    sleeper = d.Process(cmd=["sh", "-c", "echo up; exec sleep 30", "MARK"], on=other)
    for what in (lambda: relay1.ports.out.send_to(relay2.ports.inp),
                 lambda: relay2.ports.out.send_to(relay1.ports.inp),
                 lambda: me1.client_port()):
        try:
            what()
        except hydro.NotAvailableError as e:
            print("refused:", e)
    try:
        d.Process(cmd=["true"], name="frame_relay")
    except hydro.ConfigError:
        taken = "taken"
    print("names", relay1.name, relay2.name, box.name, other.name, me1.name, me2.name,
          taken)
    await d.deploy()
    await d.start()
    sink2, source2 = await ends(to2, back2)
    await sink2.send(b"b")
    print("second", await source2.__anext__())
    # the first round's services run on, untouched: its connection too
    await sink1.send(b"c")
    print("first again", await source1.__anext__())
    async for line in sleeper.stdout():
        print("sleeper", line)
        break
    # nothing new: nothing happens
    await d.deploy()
    await d.start()
    await sleeper.stop()
    print("sleeper stopped", sleeper.exit_code)
