"""The config scripts' peer in tests/integration/python_hd.sh: a
CustomService and a frame_relay.py process wired both ways."""
import sys


def pair(d, box, mark):
    """(script, relay, the script's port to it, its port back); mark names
    the relay's processes for the test's cleanup"""
    me = d.CustomService(on=box, external_ports=[])
    relay = d.Process(cmd=[sys.executable, "frame_relay.py", mark], cwd=".", on=box,
                      ports={"inp": "input", "out": "output"}, sockets="inherit")
    to = me.client_port()
    to.send_to(relay.ports.inp)
    back = me.client_port()
    relay.ports.out.send_to(back)
    return me, relay, to, back
