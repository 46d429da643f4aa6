# Python config scripts up to their first deploy(): the seed's echo script,
# plan, graph and build, errors that name the script line, parameters, types.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

W=$T_TMP/echo
py_echo_dir "$W"

t_case "the test's echo.hydro.py is the seed's, word for word"
seed=$TOP/../shared/seed/hydro-cli-design.txt
if [ -f "$seed" ]; then
	awk '/^from hydro import Deployment/,/await server_machine.terminate\(\)/' "$seed" >"$T_TMP/seed.py"
	cmp -s "$T_TMP/seed.py" "$TOP/tests/python/echo.hydro.py" ||
		t_fail "tests/python/echo.hydro.py differs from the seed: $(diff "$T_TMP/seed.py" "$TOP/tests/python/echo.hydro.py" | head -5)"
fi
t_end

t_case "the seed's script as written: its GcpMachine is provisioned (no credentials here)"
cp "$TOP/tests/python/echo.hydro.py" "$W/seed.hydro.py"
t_run env -u GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CONFIG="$W/no-gcloud" \
	GCE_METADATA_HOST=127.0.0.1:1 \
	CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:1/compute/v1/ \
	"$HYDRO" -C "$W" run seed.hydro.py
t_expect_rc 1
# the build of its programs and the VMs' provisioning run side by side:
# whichever fails first stops the run (no credentials here)
grep -q "not available yet" "$T_TMP/err" && t_fail "the gcp backend is said not to be there"
grep -q "cannot get a Google access token from the metadata server '127.0.0.1:1'\|error: " "$T_TMP/err" ||
	t_fail "no error: $(head -c 600 "$T_TMP/err")"
# what the run left (its folder) must not count against plan below
rm -rf "$W/.hydro/runs"
t_end

t_case "plan shows the echo deployment and starts nothing"
t_run "$HYDRO" -C "$W" plan echo.hydro.py
t_expect_rc 0
t_expect_out "launch echo_server on local1 (local, control channel)"
t_expect_out "input  inbound: (EchoMsg, SocketAddr)"
t_expect_out "wire   echo_client.outbound -> echo_server.inbound (tcp"
t_expect_out "wire   echo_server.outbound -> echo_client.inbound (tcp"
[ -d "$W/.hydro/runs" ] && t_fail "plan made a run directory"
t_end

t_case "plan --json prints the model, which hydro plan FILE.json reads back"
t_run "$HYDRO" -C "$W" plan --json echo.hydro.py
t_expect_rc 0
t_expect_out '"kind":	"hydroflow"'
cp "$T_TMP/out" "$W/echo.json"
t_end

t_case "graph draws the deployment"
t_run "$HYDRO" -C "$W" graph --format=dot echo.hydro.py
t_expect_rc 0
t_expect_out "digraph"
t_expect_out "echo_client"
t_end

t_case "a crate naming both a bin and an example cannot be built, at its line"
mkdir -p "$W/crates/kv"
: >"$W/crates/kv/Cargo.toml"
cat >"$W/twobins.hydro.py" <<'EOF'
from hydro import Deployment
async def main():
    d = Deployment()
    d.HydroflowCrate(src="crates/kv", bin="server",
                     example="client")
    await d.deploy()
EOF
t_run "$HYDRO" -C "$W" build twobins.hydro.py
t_expect_rc 1
t_expect_err "twobins.hydro.py:4: cannot build 'kv': it names both a bin ('server') and an example ('client'); give one"
t_expect_err "hydro.BuildError"
t_end

t_case "build makes the declared targets and stops at deploy()"
mkdir -p "$T_TMP/typed"
cp -r "$TOP"/tests/python/typed.hydro.py "$TOP"/tests/python/standin.py \
	"$TOP"/tests/python/hydro_program.py "$TOP"/tests/python/src \
	"$T_TMP/typed/"
t_run "$HYDRO" -C "$T_TMP/typed" build typed.hydro.py
t_expect_rc 0
[ "$(cat "$T_TMP/typed/data.txt" 2>/dev/null)" = "$(printf '1\n2\n3')" ] ||
	t_fail "the target did not make data.txt"
t_run "$HYDRO" -C "$T_TMP/typed" plan typed.hydro.py
t_expect_rc 0
t_expect_out "up to date  target data"
t_end

# a script with one line of misuse in it, run up to the error
misuse() {
	cat >"$W/misuse.py" <<EOF
import hydro
async def main():
    d = hydro.Deployment()
    h = d.Localhost()
    s = d.Hydroflow(src="src/echo_server.hf", on=h, standin=["true"])
    c = d.Hydroflow(src="src/echo_client.hf", on=h, standin=["true"])
    $1
    await d.deploy()
EOF
	t_run "$HYDRO" -C "$W" run misuse.py
}

t_case "connecting an input to an input names both ends and the line"
misuse 'c.ports.inbound.connect(s.ports.inbound)'
t_expect_rc 1
t_expect_err "hydro: error: misuse.py:7: cannot connect 'echo_client.inbound' to 'echo_server.inbound': both are inputs"
t_expect_err 'File "misuse.py", line 7, in main'
t_expect_err "hydro.PortError"
t_end

t_case "an unknown port name suggests the right one"
misuse 's.ports.inbund.connect(c.ports.inbound)'
t_expect_rc 1
t_expect_err "misuse.py:7: service 'echo_server' has no port 'inbund'; did you mean 'inbound'?"
t_end

t_case "a file that does not exist"
misuse 'd.Hydroflow(src="src/nope.hf", on=h)'
t_expect_rc 1
t_expect_err "misuse.py:7: cannot read src 'src/nope.hf': no such file"
t_end

t_case "a .hf program with errors shows its diagnostics"
printf 'module main(input a: u32) {\n    a -> nosuchop();\n}\n' >"$W/src/bad.hf"
misuse 'd.Hydroflow(src="src/bad.hf", on=h)'
t_expect_rc 1
t_expect_err "bad.hf:2"
t_expect_err "misuse.py:7: "
t_end

t_case "a service that fails to launch is reported at the line declaring it"
misuse 'pass'
t_expect_rc 1
# both fail, at once: the first one names its own line
grep -Eq "hydro: error: misuse.py:(5: launch echo_server|6: launch echo_client): " "$T_TMP/err" ||
	t_fail "not at the declaring line: $(cat "$T_TMP/err")"
t_end

t_case "the traceback shows the script's frames only"
misuse 'hydro.demux({"zero": s.ports.inbound})'
t_expect_rc 1
grep -q "<built-in>" "$T_TMP/err" && t_fail "a package frame in the traceback: $(cat "$T_TMP/err")"
grep -q "asyncio" "$T_TMP/err" && t_fail "an asyncio frame in the traceback: $(cat "$T_TMP/err")"
t_expect_err "misuse.py:7: hydro.demux() keys are whole numbers"
t_end

t_case "Hydro Deploy's wiring: tagged, merge, demux and null reach the model"
cat >"$W/wiring.py" <<'EOF'
import hydro
async def main():
    d = hydro.Deployment()
    a, b, p, x, y = (d.Process(cmd=["cat"], name=n) for n in "abpxy")
    a.ports.out.tagged(1).send_to(p.ports.fanin.merge())
    b.ports.out.tagged(2).send_to(p.ports.fanin.merge())
    p.ports.out.send_to(hydro.demux({0: x.ports.inp, 1: y.ports.inp}))
    b.ports.spare.send_to(hydro.null())
    hydro.null().send_to(x.ports.extra)
    await d.deploy()
EOF
t_run "$HYDRO" -C "$W" plan --json wiring.py
t_expect_rc 0
$PY -c 'import json, sys
for c in json.load(open(sys.argv[1]))["deployment"]["connections"]:
    print(c.get("from"), c.get("to"), c.get("tag"), c.get("key"), c.get("merge"))' \
	"$T_TMP/out" >"$T_TMP/conns" 2>&1
for want in "a.out p.fanin 1 None True" "b.out p.fanin 2 None True" "p.out x.inp None 0 None" \
	"p.out y.inp None 1 None" "b.spare None None None None" "None x.extra None None None"; do
	grep -qxF "$want" "$T_TMP/conns" || t_fail "no connection '$want': $(cat "$T_TMP/conns")"
done
t_end

t_case "a syntax error names file:line:col"
printf 'import hydro\nasync def main():\n    x = (1,\n' >"$W/syntax.py"
t_run "$HYDRO" -C "$W" run syntax.py
t_expect_rc 1
t_expect_err "hydro: error: syntax.py:3:9: '(' was never closed"
t_end

t_case "-D parameters reach hydro.param, converted; a bad one errors; unused ones warn"
cat >"$W/params.py" <<'EOF'
import hydro
async def main(args):
    print(hydro.param("n", 1) * 2, hydro.param("rate", 0.5), hydro.param("on", False), args)
EOF
t_run "$HYDRO" -C "$W" run -D n=21 -D rate=1e3 -D on=true -D unused=1 params.py -- x y
t_expect_rc 0
t_expect_out "42 1000.0 True ['x', 'y']"
t_expect_err "parameter 'unused' was given with -D but the config never reads it"
t_run "$HYDRO" -C "$W" run -D n=many params.py
t_expect_rc 1
t_expect_err "params.py:3: parameter 'n' is 'many', which does not read as int; give -D n=<int>"
t_end

t_case "the package's types pass mypy --strict on the examples"
if /usr/bin/python3 -m mypy --version >/dev/null 2>&1; then
	(cd "$TOP/tests/python" && MYPYPATH="$TOP/lang/python" /usr/bin/python3 -m mypy --strict \
		--cache-dir "$T_TMP/mypy" typed.hydro.py) >"$T_TMP/out" 2>&1 ||
		t_fail "mypy --strict typed.hydro.py: $(tail -5 "$T_TMP/out")"
	# the seed's script has no annotations: check its body against the types
	(cd "$TOP/tests/python" && MYPYPATH="$TOP/lang/python" /usr/bin/python3 -m mypy --strict \
		--allow-untyped-defs --check-untyped-defs --cache-dir "$T_TMP/mypy" echo.hydro.py) \
		>"$T_TMP/out" 2>&1 || t_fail "mypy on echo.hydro.py: $(tail -5 "$T_TMP/out")"
	(cd "$TOP/lang/python" && /usr/bin/python3 -m mypy --strict --cache-dir "$T_TMP/mypy" hydro) \
		>"$T_TMP/out" 2>&1 || t_fail "mypy --strict on the package: $(tail -5 "$T_TMP/out")"
else
	echo "# mypy is not installed (apt-get install python3-mypy): skipped"
fi
t_end

t_done
