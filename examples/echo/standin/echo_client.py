"""Stand-in for src/echo_client.hf: every second sends an EchoMsg ("ping N")
on outbound, and prints every echo that comes back on inbound."""

import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from hydro_program import Ports, decode_str, encode_str  # noqa: E402

INTERVAL = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def now():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % (t % 1 * 1e6)


def main():
    ports = Ports.init()

    def ping():
        n = 0
        while True:
            ports.send("outbound", encode_str("ping %d" % n) + encode_str(now()))
            n += 1
            time.sleep(INTERVAL)

    def log():
        for tag, payload in ports.receive("inbound"):
            text, at = decode_str(payload, 0)
            ts, _ = decode_str(payload, at)
            addr = ports.peer_address("outbound", None) or ports.meta.get("peers", {}).get(str(tag))
            print('%s: Got EchoMsg { payload: "%s", ts: %s } from %s' % (now(), text, ts, addr),
                  flush=True)

    threading.Thread(target=ping, daemon=True).start()
    threading.Thread(target=log, daemon=True).start()
    ports.wait_stop()


main()
