# Hydro Deploy's script API under hydro, without cargo: async_wrapper's
# ending, GCPNetwork and GCPComputeEngineHost, display_id, await stdout()
# and exit_code(), deploy() and start() again, hydro deploy, and the script
# as a participant (CustomService) with a process at the other end.
# tests/integration/hd_examples.sh runs Hydro Deploy's examples with crates.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

MARK="hydro-python-hd-$$"
left() { pkill -9 -f "$MARK" 2>/dev/null; true; }
t_on_exit left
W=$T_TMP/w
mkdir -p "$W"
cp "$TOP/tests/python/hd/frame_relay.py" "$TOP/tests/python/hd/pair.py" "$W/"

cat >"$W/ending.hydro.py" <<'PY'
import hydro

async def main(args):
    print("main", args)
    d = hydro.Deployment()
    local = d.Localhost()
    net = hydro.GCPNetwork(project="p")
    vm = d.GCPComputeEngineHost(project="p", machine_type="e2-micro",
                                image="debian-cloud/debian-11", region="us-west1-a",
                                network=net) if args[0] == "gcp" else local
    d.Process(cmd=["sh", "-c", "echo up; exec sleep 30", "MARK"], on=vm, display_id="sleeper")
    await d.deploy()

if __name__ == "__main__":
    import sys
    import hydro.async_wrapper
    hydro.async_wrapper.run(main, sys.argv[1:])
PY
sed -i "s/MARK/$MARK/" "$W/ending.hydro.py"

t_case "Hydro Deploy's ending runs main once, with the arguments after --"
t_run "$HYDRO" --color=never -C "$W" run ending.hydro.py -- local x
t_expect_rc 0
[ "$(grep -c '^main ' "$T_TMP/out")" = 1 ] || t_fail "main ran $(grep -c '^main ' "$T_TMP/out") times"
t_expect_out "main ['local', 'x']"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

t_case "hydro deploy is hydro run"
t_run "$HYDRO" --color=never -C "$W" deploy ending.hydro.py -- local
t_expect_rc 0
t_expect_out "main ['local']"
t_run "$HYDRO" deploy --help
t_expect_rc 0
t_expect_out "usage: hydro deploy [options] CONFIG [-- ARGS...]"
t_end

t_case "plan, graph and build give the script its arguments too; a JSON config takes none"
t_run "$HYDRO" -C "$W" plan ending.hydro.py -- local
t_expect_rc 0
t_expect_out "main ['local']"
t_expect_out "launch sleeper on local1 (local, process)"
t_run "$HYDRO" -C "$W" graph ending.hydro.py -- local
t_expect_rc 0
t_expect_out "sleeper"
echo '{"version": 1}' >"$W/empty.json"
t_run "$HYDRO" -C "$W" plan empty.json -- local
t_expect_rc 2
t_expect_err "only a Python config takes arguments after '--'"
t_end

t_case "under plain python3 the ending is hydro.run: main once"
if PYTHONPATH=$TOP/lang/python $PY -c 'import hydro' 2>/dev/null; then
	t_run env PYTHONPATH="$TOP/lang/python" $PY "$W/ending.hydro.py" local
	t_expect_rc 0
	[ "$(grep -c '^main ' "$T_TMP/out")" = 1 ] || t_fail "main ran $(grep -c '^main ' "$T_TMP/out") times"
fi
t_end

cat >"$W/gcp.hydro.py" <<'PY'
import hydro

async def main():
    d = hydro.Deployment()
    net = hydro.GcpNetwork(project="p", existing="vpc1")
    vm = d.GcpComputeEngineHost(project="p", machine_type="e2-small",
                                image="debian-cloud/debian-11", region="us-west1-b",
                                network=net, user="me")
    d.GcpMachine(project="p", zone="us-west1-a", ttl=None, user=None, name="forever")
    d.GcpMachine(project="p", zone="us-west1-a", name="default")
    d.Process(cmd=["true"], on=vm)
    await d.deploy()
PY

t_case "GCPComputeEngineHost is a GcpMachine with Hydro Deploy's arguments; ttl=None is no ttl"
t_run "$HYDRO" -C "$W" plan --json gcp.hydro.py
t_expect_rc 0
$PY - "$T_TMP/out" >"$T_TMP/hosts" <<'PY' || t_fail "cannot read the plan: $(cat "$T_TMP/hosts")"
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))["deployment"]["hosts"]}
gcp1 = hosts["gcp1"]
assert gcp1["backend"] == "gcp", gcp1
assert gcp1["settings"] == {"project": "p", "zone": "us-west1-b", "type": "e2-small",
                            "image": "debian-cloud/debian-11", "user": "me",
                            "network": "vpc1"}, gcp1["settings"]
assert hosts["forever"]["settings"].get("ttl") == "none", hosts["forever"]
assert "user" not in hosts["forever"]["settings"], hosts["forever"]
assert "ttl" not in hosts["default"]["settings"], hosts["default"]
PY
t_end

mkdir -p "$W/crate"
printf '[package]\nname = "c"\nversion = "0.1.0"\n' >"$W/crate/Cargo.toml"
cat >"$W/ports.hydro.py" <<'PY'
import sys
import hydro

async def main():
    d = hydro.Deployment()
    local = d.Localhost()
    vm = d.GcpComputeEngineHost(project="p", machine_type="e2-micro",
                                image="debian-cloud/debian-11", region="us-west1-a",
                                network=hydro.GcpNetwork(project="p"))
    d.CustomService(on=local, external_ports=[8080])
    d.HydroflowCrate(src="crate", on=vm, example="x", external_ports=[80, 443])
    d.HydroflowCrate(src="crate", on=vm, example="y", external_ports=[443, 8443])
    for bad in ([0], [70000], ["80"], 80):
        try:
            d.CustomService(on=local, external_ports=bad)
        except hydro.ConfigError as e:
            print("bad:", e, file=sys.stderr)
    await d.deploy()
PY

t_case "external_ports: a GCP machine's setting, every service's ports together; nothing here"
t_run "$HYDRO" -C "$W" plan --json ports.hydro.py
t_expect_rc 0
t_expect_err "bad: ports.hydro.py:15: external port 0 is not a TCP port number (1 to 65535)"
t_expect_err "bad: ports.hydro.py:15: external port 70000 is not a TCP port number (1 to 65535)"
t_expect_err "bad: ports.hydro.py:15: external_ports takes port numbers, not '80'"
t_expect_err "bad: ports.hydro.py:15: external_ports takes a list of port numbers, not 80"
$PY - "$T_TMP/out" >"$T_TMP/hosts" <<'PY' || t_fail "$(cat "$T_TMP/hosts")"
import json, sys
d = json.load(open(sys.argv[1]))["deployment"]
hosts = {h["name"]: h for h in d["hosts"]}
assert hosts["gcp1"]["settings"]["external_ports"] == "80,443,8443", hosts["gcp1"]
assert "external_ports" not in hosts["local1"].get("settings", {}), hosts["local1"]
assert len(d["services"]) == 3, d["services"]
PY
t_end

cat >"$W/forms.hydro.py" <<'PY'
import hydro

async def main():
    d = hydro.Deployment()
    box = d.Localhost()
    talker = d.Process(cmd=["sh", "-c", "echo one; echo two; exec sleep 30", "MARK"],
                       on=box, display_id="talker")
    await d.deploy(start=False)
    out = await talker.stdout()
    await d.start()
    await d.deploy()
    await d.start()
    await d.deploy()
    await d.start()
    print("name", talker.name)
    async for line in out:
        print("read", line)
        if line == "two":
            break
    await talker.stop()
    code = await talker.exit_code()
    print("code", code, talker.exit_code == code)
PY
sed -i "s/MARK/$MARK/" "$W/forms.hydro.py"

t_case "display_id, await stdout() before start(), await exit_code(), deploy() and start() again"
t_run "$HYDRO" --color=never -C "$W" run forms.hydro.py
t_expect_rc 0
t_expect_out "name talker"
t_expect_out "read one"
t_expect_out "read two"
t_expect_out "code 143 True"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

# a stream an async-with helper closes (aclose(), as aiostream's merge does
# when the loop breaks) keeps its lines off the terminal while the script
# keeps the stream; close() gives them back
cat >"$W/kept.hydro.py" <<'PY'
import asyncio, os
import hydro

async def main():
    d = hydro.Deployment()
    box = d.Localhost()
    gate = os.path.abspath("gate")
    talk = ["sh", "-c", 'echo "$1 one"; while [ ! -e "$2.$1" ]; do sleep 0.01; done; '
            'echo "$1 after"; : >"$2.$1.done"; exec sleep 30', "MARK"]
    kept = d.Process(cmd=talk + ["kept", gate], on=box, name="kept")
    freed = d.Process(cmd=talk + ["freed", gate], on=box, name="freed")
    await d.deploy()
    streams = {}
    for svc in (kept, freed):
        out = streams[svc.name] = await svc.stdout()
        async for line in out:
            print("read", line)
            break
    await streams["kept"].aclose()
    streams["freed"].close()
    for name in ("kept", "freed"):
        open(gate + "." + name, "w").close()
        while not os.path.exists(gate + "." + name + ".done"):
            await asyncio.sleep(0.01)
    await d.stop()
    print("kept ends:", [line async for line in streams["kept"]])
PY
sed -i "s/MARK/$MARK/" "$W/kept.hydro.py"

t_case "a stream closed by aclose() keeps its lines off the terminal while kept; close() gives them back"
t_run "$HYDRO" --color=never -C "$W" run kept.hydro.py
t_expect_rc 0
t_expect_out "read kept one"
t_expect_out "read freed one"
t_expect_out "kept ends: []"
t_expect_out "freed | freed after"
grep -q "kept after" "$T_TMP/out" && t_fail "a kept stream's line was shown: $(cat "$T_TMP/out")"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

cp "$TOP/tests/python/hd/rounds.hydro.py" "$W/"
sed -i "s/MARK/$MARK/" "$W/rounds.hydro.py"

t_case "deploy() again deploys what was declared since, beside what runs, which stays untouched"
t_run "$HYDRO" --color=never -C "$W" run rounds.hydro.py
t_expect_rc 0
t_expect_out "first b're a'"
t_expect_out "refused: rounds.hydro.py:28: cannot connect 'frame_relay.out': 'frame_relay' runs as an earlier deploy() wired it, and a later one deploys only what was declared since, beside it; declare the connection before that deploy()"
t_expect_out "refused: rounds.hydro.py:29: cannot connect 'frame_relay2.out' to 'frame_relay.inp': 'frame_relay' runs"
t_expect_out "refused: rounds.hydro.py:30: no new client_port() of 'script': 'script' runs as an earlier deploy() wired it, and a later one deploys only what was declared since, beside it; make a new CustomService for the ports declared after it"
t_expect_out "names frame_relay frame_relay2 local1 local2 script script2 taken"
t_expect_out "second b're b'"
t_expect_out "first again b're c'"
t_expect_out "sleeper up"
t_expect_out "sleeper stopped 143"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
# each round has its own run directory; the state file is the first's and
# is left empty
[ "$(ls -d "$W"/.hydro/runs/*/ | wc -l)" -ge 2 ] || t_fail "one run directory: $(ls "$W"/.hydro/runs)"
t_end

cp "$TOP/tests/python/hd/busy.hydro.py" "$W/"
sed -i "s/MARK/$MARK/" "$W/busy.hydro.py"
# run busy.hydro.py with $1 in the background until it loops, then send
# it signal $2; rc is its status
busy_run() {
	# emptied here, not by the redirection in the child, which may come
	# after the first look for "looping"
	: >"$T_TMP/out"
	"$HYDRO" --color=never -C "$W" run busy.hydro.py -- "$1" >"$T_TMP/out" 2>"$T_TMP/err" &
	hpid=$!
	n=0
	until grep -q looping "$T_TMP/out"; do
		n=$((n + 1))
		[ $n -gt 600 ] && break
		sleep 0.1
	done
	kill -"$2" $hpid
	n=0
	while kill -0 $hpid 2>/dev/null; do
		n=$((n + 1))
		[ $n -gt 300 ] && { t_fail "hydro still runs after SIG$2"; kill -9 $hpid; }
		sleep 0.1
	done
	wait $hpid
	rc=$?
}

for mode_sig in pure:INT pure:TERM sends:INT sends:TERM; do
	mode=${mode_sig%:*}
	sig=${mode_sig#*:}
	t_case "one SIG$sig stops a script busy in a loop ($mode) and the run"
	busy_run $mode $sig
	[ $sig = INT ] && t_expect_rc 130 || t_expect_rc 143
	t_expect_out "finally ran"
	[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
	t_end
done

cat >"$W/names.hydro.py" <<'PY'
import hydro

async def main():
    d = hydro.Deployment()
    d.Process(cmd=["true"], name="a", display_id="b")
PY

t_case "name= and display_id= both given, differently: an error"
t_run "$HYDRO" -C "$W" plan names.hydro.py
t_expect_rc 1
t_expect_err "names.hydro.py:5: name='a' and display_id='b' name the service twice; give one"
t_end

cat >"$W/relay.hydro.py" <<'PY'
import sys
import hydro

async def main(args):
    n = int(args[0]) if args else 10
    d = hydro.Deployment()
    box = d.Localhost()
    me = d.CustomService(on=box, external_ports=[])
    relay = d.Process(cmd=[sys.executable, "frame_relay.py", "MARK"], cwd=".", on=box,
                      ports={"inp": "input", "out": "output"}, sockets="inherit")
    to = me.client_port()
    to.send_to(relay.ports.inp)
    back = me.client_port()
    relay.ports.out.send_to(back)
    await d.deploy()
    end = await back.server_port()
    assert end is await back.server_port()
    print("to", (await to.server_port()).json())
    print("back", end.json())
    sink = await (await to.server_port()).into_sink()
    source = await end.into_source()
    for i in range(n):
        await sink.send(b"m%d" % i)
    await sink.close()
    i = 0
    async for frame in source:
        assert frame == b"re m%d" % i, (i, frame)
        i += 1
    print("back in order:", i)
PY
sed -i "s/MARK/$MARK/" "$W/relay.hydro.py"

t_case "the script as a participant: 10000 messages to a process and back, in order"
t_run "$HYDRO" --color=never -C "$W" run relay.hydro.py -- 10000
t_expect_rc 0
t_expect_out "to {'TcpPort': '127.0.0.1:"
t_expect_out "back {'TcpPort': '127.0.0.1:"
t_expect_out "back in order: 10000"
[ -z "$(py_running "$MARK")" ] || t_fail "still running: $(py_running "$MARK")"
t_end

t_case "plan shows the script and its connections"
t_run "$HYDRO" -C "$W" plan relay.hydro.py
t_expect_rc 0
t_expect_out "launch script on local1 (local, the config script itself): its own sockets"
t_expect_out "wire   script.port1 -> frame_relay.inp (tcp)"
t_expect_out "wire   frame_relay.out -> script.port2 (tcp)"
t_end

cat >"$W/misuse.hydro.py" <<'PY'
import hydro

async def main():
    d = hydro.Deployment()
    me = d.CustomService(on=d.Localhost(), external_ports=[])
    a = d.Process(cmd=["true"], ports={"x": "input", "y": "input"})
    p = me.client_port()
    p.send_to(a.ports.x)
    try:
        p.send_to(a.ports.y)
    except hydro.PortError as e:
        print("twice:", e)
    try:
        d.CustomService(on=d.SshHost("10.0.0.1"), external_ports=[])
    except hydro.ConfigError as e:
        print("remote:", e)
    old = d.CustomService(cmd=["true"])
    print("old", type(old).__name__)
    try:
        await p.server_port()
    except hydro.Error as e:
        print("early:", e)
PY

t_case "a script port carries one connection; the script runs here; CustomService(cmd=) is a process"
t_run "$HYDRO" --color=never -C "$W" run misuse.hydro.py
t_expect_rc 0
t_expect_out "twice: misuse.hydro.py:10: 'script.port1' is connected already: a port of the script carries one connection; make another with client_port()"
t_expect_out "remote: misuse.hydro.py:14: the script runs on this machine, not on host 'ssh1' (ssh); give it on=deployment.Localhost()"
t_expect_out "old ProcessService"
t_expect_out "early: misuse.hydro.py:20: port1.server_port() comes after await deployment.deploy()"
t_end

t_done
