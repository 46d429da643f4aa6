"""Stand-in for src/echo_server.hf: prints every EchoMsg it gets and echoes it
back to its sender with the timestamp updated."""

import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from hydro_program import Ports, decode_str, encode_str  # noqa: E402


def now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % (t % 1 * 1e6)


def main():
    ports = Ports.init()

    def serve():
        for tag, payload in ports.receive("inbound"):
            text, at = decode_str(payload, 0)
            ts, _ = decode_str(payload, at)
            addr = ports.peer_address("outbound", tag)
            # inbound_chan[0] -> for_each(println!(...))
            print('%s: Got EchoMsg { payload: "%s", ts: %s } from %s' % (now(), text, ts, addr),
                  flush=True)
            # inbound_chan[1] -> map(...) -> outbound, back to the sender
            ports.send("outbound", encode_str(text) + encode_str(now()), key=tag)

    threading.Thread(target=serve, daemon=True).start()
    ports.wait_stop()


main()
