"""A process that answers every message on its input "inp" with "re " and
the message on its output "out", framed as wired connections are (a 4-byte
big-endian length, then the bytes), in order: the script's peer in
tests/integration/python_hd.sh."""
import os
import socket
import struct


def address(var):
    """HYDRO_PORT_<NAME>: host:port"""
    host, port = os.environ[var].rsplit(":", 1)
    return host, int(port)


# hydro bound "inp" and hands it over (sockets="inherit"): descriptor 3
listener = socket.socket(fileno=3)
out = socket.create_connection(address("HYDRO_PORT_OUT"))
conn, _ = listener.accept()
reader = conn.makefile("rb")
while True:
    head = reader.read(4)
    if len(head) < 4:
        break
    (n,) = struct.unpack(">I", head)
    body = reader.read(n)
    out.sendall(struct.pack(">I", n + 3) + b"re " + body)
out.close()
