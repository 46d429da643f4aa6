"""A stand-in for a compiled Hydroflow program, for the tests: it speaks
hydro's port protocol through tests/python/hydro_program.py (copied
beside it) and does a little work.

    standin.py echo_server      echo every frame from 'inbound' to 'outbound'
    standin.py echo_client [N]  send "ping i" on 'outbound' every 50 ms, print
                                each echo from 'inbound'; N pings (default
                                forever)
    standin.py silent           handshake, then wait for stop
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hydro_program import Ports  # noqa: E402


def main():
    role = sys.argv[1] if len(sys.argv) > 1 else "silent"
    ports = Ports.init()

    def serve():
        for _, payload in ports.receive("inbound"):
            print("got %s" % payload.decode(), flush=True)
            ports.send("outbound", payload)

    def pings(count):
        i = 0
        while count < 0 or i < count:
            i += 1
            ports.send("outbound", b"ping %d" % i)
            time.sleep(0.05)

    def echoes():
        for _, payload in ports.receive("inbound"):
            print("echo: %s" % payload.decode(), flush=True)

    if role == "echo_server":
        print("echo server ready", flush=True)
        threading.Thread(target=serve, daemon=True).start()
    elif role == "echo_client":
        count = int(sys.argv[2]) if len(sys.argv) > 2 else -1
        threading.Thread(target=pings, args=(count,), daemon=True).start()
        threading.Thread(target=echoes, daemon=True).start()
    ports.wait_stop()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
