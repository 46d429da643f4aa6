"""The script busy in a loop after deploy(), as Hydro Deploy's
hydro_python_sender example ends (while True: pass), or sending through
a sink as fast as it takes (tests/integration/python_hd.sh): one signal
stops it and the run.  Argument: "pure" or "sends"."""
import hydro
from pair import pair


async def main(args):
    d = hydro.Deployment()
    box = d.Localhost()
    me, relay, to, back = pair(d, box, "MARK")
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
