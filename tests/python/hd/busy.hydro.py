"""The script busy in a loop after deploy(), as Hydro Deploy's
hydro_python_sender example ends (while True: pass), or sending through
a sink as fast as it takes (tests/integration/python_hd.sh): one signal
stops it and the run.  Argument: "pure" or "sends"."""
import sys
import hydro


async def main(args):
    d = hydro.Deployment()
    box = d.Localhost()
    me = d.CustomService(on=box, external_ports=[])
    sleeper = d.Process(cmd=["sh", "-c", "exec sleep 30", "MARK"], on=box)
    relay = d.Process(cmd=[sys.executable, "frame_relay.py", "MARK"], cwd=".", on=box,
                      ports={"inp": "input", "out": "output"}, sockets="inherit")
    to = me.client_port()
    to.send_to(relay.ports.inp)
    back = me.client_port()
    relay.ports.out.send_to(back)
    await d.deploy()
    sink = await (await to.server_port()).into_sink()
    try:
        print("looping", flush=True)
        if args[0] == "sends":
            while True:
                await sink.send(b"x")
        while True:
            pass
    finally:
        print("finally ran", flush=True)
