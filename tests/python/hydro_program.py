"""The program side of hydro's port protocol, for stand-ins written in Python.

A stand-in takes the place of a compiled .hf program (Hydroflow(standin=...)),
so that the Python tests need no Rust toolchain.  It speaks the same protocol
(docs/protocol.md): read the InitConfig line, bind every input, answer
'ready: {...}', read 'start: {...}', connect every output, answer
'ack start'; then 'stop' (or the end of the channel) ends it.  The messages
travel on the control channel HYDRO_CONTROL_FD when hydro gives one, else on
stdin/stdout as Hydro Deploy speaks them.

    ports = Ports.init()            # the handshake up to ack start
    for tag, payload in ports.receive("inbound"): ...
    ports.send("outbound", payload, key=None)   # key: a Demux key (a reply)
"""

import atexit
import json
import os
import queue
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading

FRAME_MAX = 8 * 1024 * 1024


class Control:
    """The handshake's line channel."""

    def __init__(self):
        fd = os.environ.get("HYDRO_CONTROL_FD")
        if fd is not None:
            self.rfd = self.wfd = int(fd)
        else:
            self.rfd, self.wfd = sys.stdin.fileno(), sys.stdout.fileno()
        self.buf = b""

    def read_line(self):
        while b"\n" not in self.buf:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode().strip()

    def write_line(self, text):
        data = text.encode() + b"\n"
        while data:
            data = data[os.write(self.wfd, data):]


def _tcp_host(cfg):
    host = cfg["TcpPort"]
    return host[0] if isinstance(host, list) else host


def _bind(cfg, tmp, listeners, tag=None):
    """Bind one ServerBindConfig; returns its ServerPort."""
    if cfg == "Null":
        return "Null"
    if cfg == "UnixSocket":
        path = os.path.join(tempfile.mkdtemp(dir=tmp), "socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(16)
        listeners.append((s, tag))
        return {"UnixSocket": path}
    if "TcpPort" in cfg:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((_tcp_host(cfg), 0))
        s.listen(16)
        listeners.append((s, tag))
        return {"TcpPort": "%s:%d" % s.getsockname()}
    if "Merge" in cfg:
        return {"Merge": [_bind(c, tmp, listeners, tag) for c in cfg["Merge"]]}
    if "Tagged" in cfg:
        inner, t = cfg["Tagged"]
        return {"Tagged": [_bind(inner, tmp, listeners, t), t]}
    raise SystemExit("hydro_program: unknown bind config %r" % (cfg,))


def _connect(sp):
    if "UnixSocket" in sp:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sp["UnixSocket"])
        return s
    host, _, port = sp["TcpPort"].rpartition(":")
    s = socket.create_connection((host.strip("[]"), int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def address(sp):
    """The address of a ServerPort, as a program sees its peers."""
    if "UnixSocket" in sp:
        return sp["UnixSocket"]
    return sp["TcpPort"]


def _read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class Ports:
    """A program's wired ports, once the handshake is done."""

    def __init__(self, control, meta, inputs, outputs):
        self.control = control
        self.meta = meta
        self.inputs = inputs      # name -> queue of (tag, payload); None ends
        self.outputs = outputs    # name -> {key or None: socket}
        self.addresses = {}       # name -> {key: address}
        self.lock = threading.Lock()

    @classmethod
    def init(cls):
        control = Control()
        line = control.read_line()
        if line is None:
            raise SystemExit("hydro_program: the control channel closed before InitConfig")
        binds, meta = json.loads(line)
        meta = json.loads(meta) if meta else {}
        tmp = tempfile.mkdtemp(prefix="hydro-program-")
        # the sockets' directory goes with the program, stopped or terminated
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
        listeners, ready, inputs = {}, {}, {}
        for name, cfg in binds.items():
            listeners[name] = []
            ready[name] = _bind(cfg, tmp, listeners[name])
            inputs[name] = queue.Queue()
        control.write_line("ready: " + json.dumps(ready))
        line = control.read_line()
        if line is None or not line.startswith("start: "):
            raise SystemExit("hydro_program: expected start")
        targets = json.loads(line[len("start: "):])
        ports = cls(control, meta, inputs, {})
        for name, lst in listeners.items():
            expect = meta.get("senders", {}).get(name)
            ports._accept(name, lst, expect)
        for name, sp in targets.items():
            conns, addrs = {}, {}
            if sp == "Null":
                pass
            elif "Demux" in sp:
                for key, peer in sp["Demux"].items():
                    conns[int(key)] = _connect(peer)
                    addrs[int(key)] = address(peer)
            else:
                conns[None] = _connect(sp)
                addrs[None] = address(sp)
            ports.outputs[name] = conns
            ports.addresses[name] = addrs
        control.write_line("ack start")
        return ports

    def _accept(self, name, listeners, expect):
        q = self.inputs[name]
        state = {"ended": 0}
        if not listeners:
            q.put(None)

        def reader(conn, tag):
            while True:
                head = _read_exact(conn, 4)
                if head is None:
                    break
                (n,) = struct.unpack(">I", head)
                if n > FRAME_MAX:
                    break
                payload = _read_exact(conn, n)
                if payload is None:
                    break
                q.put((tag, payload))
            conn.close()
            with self.lock:
                state["ended"] += 1
                if expect is not None and state["ended"] >= expect:
                    q.put(None)

        def acceptor(sock, tag):
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                threading.Thread(target=reader, args=(conn, tag), daemon=True).start()

        for sock, tag in listeners:
            threading.Thread(target=acceptor, args=(sock, tag), daemon=True).start()

    def receive(self, name):
        """Yield (tag, payload) for every frame on an input, until all senders close."""
        q = self.inputs.get(name)
        while q is not None:
            item = q.get()
            if item is None:
                return
            yield item

    def send(self, name, payload, key=None):
        """Send one frame on an output: to the Demux key, or to every receiver."""
        frame = struct.pack(">I", len(payload)) + payload
        conns = self.outputs.get(name, {})
        with self.lock:
            for k, conn in conns.items():
                if key is None or k == key:
                    conn.sendall(frame)

    def peer_address(self, output, key):
        """The address a reply on output reaches for a sender of that tag."""
        return self.addresses.get(output, {}).get(key)

    def wait_stop(self):
        """Block until hydro says stop (or the channel ends)."""
        while True:
            line = self.control.read_line()
            if line is None or line.startswith("stop"):
                return


# bincode 1.x, default options: little-endian fixed-width integers, u64
# lengths before strings.  EchoMsg { payload: String, ts: DateTime<Utc> },
# where chrono writes the time as an RFC 3339 string.

def encode_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def decode_str(data, at):
    (n,) = struct.unpack_from("<Q", data, at)
    at += 8
    return data[at:at + n].decode(), at + n
