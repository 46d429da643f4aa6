# A process that asks for sockets: "inherit" gets its inputs bound and
# listening at descriptors 3, 4, ... as sd_listen_fds(3) reads them
# (LISTEN_FDS, its own LISTEN_PID, LISTEN_FDNAMES), takes its senders'
# frames on them, and nobody else can bind the port meanwhile; a process
# without it binds its own port as before.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"
. "$TOP/tests/python/lib.sh"
LFD=$T_TMP/listenfd
cp "$BUILD/tests/progs/listenfd" "$LFD" || { echo "not ok - $T_FILE: no tests/progs/listenfd"; exit 1; }

t_case "an inheriting process accepts on descriptor 3 and answers its sender"
cat >"$W/inherit.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "sink", "kind": "process", "on": "box", "cmd": ["$LFD", "sink", "20"],
   "sockets": "inherit", "ports": [{"name": "in", "dir": "input"}]},
  {"name": "src", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "source", "20"],
   "ports": [{"name": "out", "dir": "output"}]}
 ],
 "connections": [{"from": "src.out", "to": "sink.in"}]}
JSON
t_run "$HYDRO" run --no-log-prefix "$W/inherit.json"
t_expect_rc 0
t_expect_out "listen_fds 1 in"
t_expect_out "got 19"
t_expect_out "ok 20"
l_expect_clean inherit
t_end

t_case "several inputs arrive in port order, named, and nothing follows them"
cat >"$W/three.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "multi", "kind": "process", "on": "box", "cmd": ["$LFD", "check"],
   "sockets": "inherit",
   "ports": [{"name": "a", "dir": "input"}, {"name": "out", "dir": "output"},
             {"name": "b-2", "dir": "input"}, {"name": "c", "dir": "input"}]}
 ],
 "connections": [{"from": null, "to": "multi.a"}, {"from": "multi.out", "to": null}]}
JSON
t_run "$HYDRO" run --no-log-prefix "$W/three.json"
t_expect_rc 0
t_expect_out "listen_fds 3 a:b-2:c"
l_expect_clean three
t_end

t_case "nobody else can bind an inheriting process's port while it runs"
# the port is bound by hydro from the pick to the exec, then by the process:
# a process started with the address tries to bind it and cannot
cat >"$W/race.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "held", "kind": "process", "on": "box", "cmd": ["$LFD", "sink", "1"],
   "sockets": "inherit", "ports": [{"name": "in", "dir": "input"}]},
  {"name": "grab", "kind": "process", "on": "box",
   "cmd": ["/usr/bin/python3", "-c", "import os, socket\nh, p = os.environ['HYDRO_PORT_OUT'].rsplit(':', 1)\ns = socket.socket()\ntry:\n    s.bind((h, int(p)))\n    print('grab: bound')\nexcept OSError as e:\n    print('grab: refused', e.errno == 98)\nc = socket.create_connection((h, int(p)))\nc.sendall(b'\\\\x00\\\\x00\\\\x00\\\\x01x')\nc.recv(5)\n"],
   "ports": [{"name": "out", "dir": "output"}]}
 ],
 "connections": [{"from": "grab.out", "to": "held.in"}]}
JSON
t_run "$HYDRO" run --no-log-prefix "$W/race.json"
t_expect_rc 0
t_expect_out "grab: refused True"
t_expect_out "got x"
l_expect_clean race
t_end

t_case "without sockets, a process binds its own port as before, and gets no LISTEN_*"
cat >"$W/plain.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "plain", "kind": "process", "on": "box",
   "cmd": ["/usr/bin/python3", "-c", "import os, socket\nh, p = os.environ['HYDRO_PORT_IN'].rsplit(':', 1)\ns = socket.socket()\ns.bind((h, int(p)))\nprint('plain: bound', 'LISTEN_FDS' in os.environ, 'LISTEN_FDNAMES' in os.environ)\n"],
   "ports": [{"name": "in", "dir": "input"}]}
 ],
 "connections": [{"from": null, "to": "plain.in"}]}
JSON
# sockets systemd may have handed hydro are not the service's
t_run env LISTEN_FDS=1 LISTEN_PID=$$ LISTEN_FDNAMES=x "$HYDRO" run --no-log-prefix "$W/plain.json"
t_expect_rc 0
t_expect_out "plain: bound False False"
l_expect_clean plain
t_end

t_case "sockets takes \"address\" or \"inherit\", and only for processes"
cat >"$W/bad.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "p", "kind": "process", "on": "box", "cmd": ["true"], "sockets": "yes"}]}
JSON
t_run "$HYDRO" run "$W/bad.json"
t_expect_rc 1
t_expect_err "sockets is \"address\""
cat >"$W/bad2.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "h", "kind": "hydroflow", "on": "box", "src": "x.hf",
   "standin": ["$NODE", "idle"], "sockets": "inherit", "ports": $PORTS_IO}]}
JSON
t_run "$HYDRO" run "$W/bad2.json"
t_expect_rc 1
t_expect_err "sockets \"inherit\" is for processes"
t_end

t_case "Python: Process(sockets=\"inherit\"), and a bad value is a ConfigError at its line"
cat >"$W/inherit.hydro.py" <<PY
import hydro
async def main():
    d = hydro.Deployment()
    s = d.Process(cmd=["$LFD", "check"], ports={"in": "input"}, sockets="inherit")
    await d.deploy()
    print("main:", await s.wait())
PY
t_run timeout 60 "$HYDRO" -C "$W" run inherit.hydro.py
t_expect_rc 0
t_expect_out "listen_fds 1 in"
t_expect_out "main: 0"
cat >"$W/badsock.hydro.py" <<PY
import hydro
async def main():
    d = hydro.Deployment()
    try:
        d.Process(cmd=["true"], sockets="yes")
    except hydro.ConfigError as e:
        print("error:", e)
PY
t_run timeout 60 "$HYDRO" -C "$W" run badsock.hydro.py
t_expect_rc 0
t_expect_out "badsock.hydro.py:5: sockets is \"address\""
l_expect_clean python
t_end

t_done
