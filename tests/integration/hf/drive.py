"""Drive a compiled .hf program through the port protocol, as hydro would,
without hydro: tests/integration/hf_emit.sh.

    drive.py PROGRAM echo N     the seed's echo server: N EchoMsgs from a
                                tagged sender, then one undecodable frame;
                                prints each echo, then stops the program
    drive.py PROGRAM stdio N    the same, with the handshake on the
                                program's stdin and stdout, as Hydro Deploy
                                speaks it (no HYDRO_CONTROL_FD, no meta)
"""
import json
import os
import socket
import struct
import subprocess
import sys


def enc_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def dec_str(data, at):
    (n,) = struct.unpack_from("<Q", data, at)
    return data[at + 8:at + 8 + n].decode(), at + 8 + n


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise SystemExit("drive: connection closed")
        data += chunk
    return data


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def launch(exe, service):
    ours, theirs = socket.socketpair()
    os.set_inheritable(theirs.fileno(), True)
    fd = theirs.fileno()

    def child():
        os.dup2(fd, 3)

    env = dict(os.environ, HYDRO_CONTROL_FD="3", HYDRO_SERVICE=service)
    p = subprocess.Popen([exe], close_fds=False, env=env, preexec_fn=child,
                         stdin=subprocess.DEVNULL)
    theirs.close()
    return p, ours.makefile("rw")


class Stdio:
    """The program's stdin and stdout as one control channel."""

    def __init__(self, p):
        self.p = p

    def write(self, text):
        self.p.stdin.write(text)

    def flush(self):
        self.p.stdin.flush()

    def readline(self):
        return self.p.stdout.readline()


def echo(exe, n, stdio=False):
    if stdio:
        env = dict(os.environ)
        env.pop("HYDRO_CONTROL_FD", None)
        p = subprocess.Popen([exe], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        ctl = Stdio(p)
        meta = None
    else:
        p, ctl = launch(exe, "server")
        meta = json.dumps({"service": "server", "index": 0, "peers": {"1": "client"},
                           "senders": {"inbound": 1}})
    ctl.write(json.dumps([{"inbound": {"Merge": [{"Tagged": [{"TcpPort": "127.0.0.1"}, 1]}]}},
                          meta]) + "\n")
    ctl.flush()
    ready = ctl.readline()
    assert ready.startswith("ready: "), ready
    bound = json.loads(ready[7:])["inbound"]["Merge"][0]["Tagged"][0]["TcpPort"]
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen()
    me = "127.0.0.1:%d" % lst.getsockname()[1]
    ctl.write("start: " + json.dumps({"outbound": {"Demux": {"1": {"TcpPort": me}}}}) + "\n")
    ctl.flush()
    assert ctl.readline().strip() == "ack start"
    host, port = bound.rsplit(":", 1)
    c = socket.create_connection((host, int(port)))
    for i in range(n):
        c.sendall(frame(enc_str("ping %d" % i) + enc_str("2026-01-01T00:00:00Z")))
    c.sendall(frame(b"xyz"))
    r, _ = lst.accept()
    for i in range(n):
        (k,) = struct.unpack(">I", read_exact(r, 4))
        text, _ = dec_str(read_exact(r, k), 0)
        print("echo %s" % text, flush=True)
    ctl.write("stop\n")
    ctl.flush()
    print("exit %d" % p.wait(), flush=True)


if __name__ == "__main__":
    if sys.argv[2] == "echo":
        echo(sys.argv[1], int(sys.argv[3]))
    elif sys.argv[2] == "stdio":
        echo(sys.argv[1], int(sys.argv[3]), stdio=True)
