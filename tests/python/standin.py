"""A stand-in for a compiled Hydroflow program, for the tests: it speaks
hydro's port protocol (Hydro Deploy's handshake) and does a little work.

    standin.py echo_server      echo every frame from 'inbound' to 'outbound'
    standin.py echo_client [N]  send "ping i" on 'outbound' every 50 ms, print
                                each echo from 'inbound'; N pings (default
                                forever)
    standin.py silent           handshake, then wait for stop

The handshake runs on the control channel (HYDRO_CONTROL_FD) when hydro
gives one, else on stdin/stdout: read the InitConfig line, bind every input,
answer 'ready: {...}', read 'start: {...}', connect every output, answer
'ack start'.  A 'stop' line or the end of the channel ends the program.
Frames are a 4-byte big-endian length and the payload.
"""

import json
import os
import socket
import struct
import sys
import tempfile
import threading
import time


class Control:
    def __init__(self):
        fd = os.environ.get("HYDRO_CONTROL_FD")
        if fd is not None:
            f = os.fdopen(int(fd), "r+b", buffering=0)
            self.rfile, self.wfile = f, f
        else:
            self.rfile = sys.stdin.buffer
            self.wfile = sys.stdout.buffer
        self.buf = b""

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.rfile.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode().strip()

    def write_line(self, text):
        self.wfile.write(text.encode() + b"\n")
        self.wfile.flush()


def bind(cfg, tmp):
    """Bind one ServerBindConfig; returns (listening sockets, ServerPort)."""
    if cfg == "UnixSocket":
        path = os.path.join(tempfile.mkdtemp(dir=tmp), "socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        return [s], {"UnixSocket": path}
    if cfg == "Null":
        return [], "Null"
    if isinstance(cfg, dict) and "TcpPort" in cfg:
        host = cfg["TcpPort"]
        if isinstance(host, list):
            host = host[0]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        s.listen(1)
        return [s], {"TcpPort": "%s:%d" % s.getsockname()}
    if isinstance(cfg, dict) and "Merge" in cfg:
        socks, ports = [], []
        for c in cfg["Merge"]:
            ss, p = bind(c, tmp)
            socks += ss
            ports.append(p)
        return socks, {"Merge": ports}
    if isinstance(cfg, dict) and "Tagged" in cfg:
        ss, p = bind(cfg["Tagged"][0], tmp)
        return ss, {"Tagged": [p, cfg["Tagged"][1]]}
    raise SystemExit("standin: cannot bind %r" % (cfg,))


def connect(sp):
    """Connect to one ServerPort; a list of sockets (Demux: several)."""
    if sp == "Null":
        return []
    if "UnixSocket" in sp:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sp["UnixSocket"])
        return [s]
    if "TcpPort" in sp:
        host, _, port = sp["TcpPort"].rpartition(":")
        for _ in range(50):
            try:
                return [socket.create_connection((host.strip("[]"), int(port)))]
            except OSError:
                time.sleep(0.1)
        raise SystemExit("standin: cannot connect to %s" % sp["TcpPort"])
    if "Demux" in sp:
        out = []
        for _, v in sorted(sp["Demux"].items()):
            out += connect(v)
        return out
    raise SystemExit("standin: cannot connect to %r" % (sp,))


def handshake(ctl):
    line = ctl.read_line()
    if line is None:
        sys.exit(0)
    binds = json.loads(line)[0]
    tmp = tempfile.mkdtemp(prefix="standin-")
    listening, ready = {}, {}
    for name, cfg in binds.items():
        listening[name], ready[name] = bind(cfg, tmp)
    ctl.write_line("ready: " + json.dumps(ready))
    line = ctl.read_line()
    if line is None:
        sys.exit(0)
    if not line.startswith("start: "):
        raise SystemExit("standin: expected start, got %r" % line)
    outputs = {name: connect(sp) for name, sp in json.loads(line[7:]).items()}
    ctl.write_line("ack start")
    return listening, outputs


def watch_stop(ctl):
    def run():
        while True:
            line = ctl.read_line()
            if line is None or line.startswith("stop"):
                sys.stdout.flush()
                os._exit(0)
    threading.Thread(target=run, daemon=True).start()


def send(sock, payload):
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def frames(sock):
    buf = b""
    while True:
        while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
            n = struct.unpack(">I", buf[:4])[0]
            yield buf[4:4 + n]
            buf = buf[4 + n:]
        chunk = sock.recv(65536)
        if not chunk:
            return
        buf += chunk


def accept_all(listening):
    out = []
    for s in listening:
        conn, _ = s.accept()
        out.append(conn)
    return out


def main():
    role = sys.argv[1] if len(sys.argv) > 1 else "silent"
    ctl = Control()
    listening, outputs = handshake(ctl)
    watch_stop(ctl)
    if role == "echo_server":
        print("echo server ready", flush=True)
        inbound = accept_all(listening.get("inbound", []))
        out = outputs.get("outbound", [])
        for conn in inbound:
            for payload in frames(conn):
                print("got %s" % payload.decode(), flush=True)
                for o in out:
                    send(o, payload)
    elif role == "echo_client":
        count = int(sys.argv[2]) if len(sys.argv) > 2 else -1
        out = outputs.get("outbound", [])

        def pings():
            i = 0
            while count < 0 or i < count:
                i += 1
                for o in out:
                    send(o, b"ping %d" % i)
                time.sleep(0.05)
        threading.Thread(target=pings, daemon=True).start()
        for conn in accept_all(listening.get("inbound", [])):
            for payload in frames(conn):
                print("echo: %s" % payload.decode(), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
