# What a new user meets first with a Python config: SIGTERM and SIGHUP,
# a service that dies under a running main(), the seed's GcpMachine, errors
# at the line that declared what they are about, importing the package
# outside hydro run, -D names that nothing reads, default service names.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

SLEEP=$T_TMP/sleep
cp "$(command -v sleep)" "$SLEEP"

# a script whose two services run until stopped, saying "up" once deployed
cat >"$W/long.hydro.py" <<EOF
import asyncio
from hydro import Deployment

async def main():
    d = Deployment()
    d.Process(["$SLEEP", "40"], name="a", stop_timeout=0.5)
    d.Process(["sh", "-c", "'$SLEEP' 41 & wait"], name="b", stop_timeout=0.5)
    await d.deploy()
    print("up", flush=True)
    try:
        await asyncio.sleep(60)
    finally:
        print("finally ran", flush=True)
EOF

# signal_case SIG STATUS
signal_case() {
	t_case "SIG$1 to hydro run of a Python config stops every service, writes the state, exits $2"
	rm -rf "$W/.hydro"
	"$HYDRO" -C "$W" run long.hydro.py >"$T_TMP/out" 2>"$T_TMP/err" &
	HPID=$!
	l_wait "grep -q '^up' '$T_TMP/out'" 200 || t_fail "the run never came up: $(cat "$T_TMP/err")"
	kill -"$1" $HPID
	l_wait "! kill -0 $HPID" 200 || { t_fail "hydro ignored SIG$1"; kill -9 $HPID; }
	wait $HPID
	rc=$?
	t_expect_rc "$2"
	t_expect_err "SIG$1: stopping every service"
	t_expect_err "nothing is left running: every service was stopped"
	t_expect_out "finally ran"
	l_wait "[ -z \"\$(l_live)\" ]" 50
	l_expect_clean "SIG$1"
	# the next run finds no lock or records left
	t_run "$HYDRO" -C "$W" plan long.hydro.py
	t_expect_rc 0
	grep -q "taking over the lock\|left in" "$T_TMP/err" && t_fail "left behind: $(cat "$T_TMP/err")"
	t_end
}
signal_case TERM 143
signal_case HUP 129

t_case "SIGTERM to hydro run of a JSON config exits 143 as well"
cat >"$W/long.json" <<EOF
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["$SLEEP", "43"],
               "stop_timeout": 0.5}]}
EOF
rm -rf "$W/.hydro"
"$HYDRO" run "$W/long.json" >"$T_TMP/out" 2>"$T_TMP/err" &
HPID=$!
l_wait "[ \$(l_recorded '$W') -ge 1 ]" 200 || t_fail "the run never came up: $(cat "$T_TMP/err")"
kill -TERM $HPID
l_wait "! kill -0 $HPID" 200 || { t_fail "hydro ignored SIGTERM"; kill -9 $HPID; }
wait $HPID
rc=$?
t_expect_rc 143
t_expect_err "SIGTERM: stopping every service"
l_wait "[ -z \"\$(l_live)\" ]" 50
l_expect_clean json
t_end

t_case "a service that dies cancels main(): its finally runs, the run exits 1"
# worker dies once main() has gone on past deploy(): when the file 'go' is there
cat >"$W/die.hydro.py" <<EOF
import asyncio
from hydro import Deployment

async def main():
    d = Deployment()
    d.Process(["sh", "-c", "while [ ! -e '$W/go' ]; do '$SLEEP' 0.05; done; exit 3"],
              name="worker")
    d.Process(["$SLEEP", "42"], name="other", stop_timeout=0.5)
    await d.deploy()
    try:
        open("$W/go", "w").close()
        await asyncio.sleep(60)
        print("main went on")
    finally:
        print("finally ran", flush=True)
EOF
rm -f "$W/go"
t_run timeout 30 "$HYDRO" -C "$W" run die.hydro.py
t_expect_rc 1
t_expect_err "die.hydro.py:6: service 'worker' exited with status 3"
t_expect_err "main() was cancelled, as a service died"
t_expect_out "finally ran"
grep -q "main went on" "$T_TMP/out" && t_fail "main() went on after the death"
l_expect_clean die
t_end

t_case "the seed's GcpMachine(project=, zone=, type=) from hydro.gcp: provisioned, without credentials here"
cat >"$W/gcp.hydro.py" <<'EOF'
from hydro import Deployment
from hydro.gcp import GcpMachine

async def main():
    deployment = Deployment()
    machine = GcpMachine(project="hydro-1234", zone="us-west1-a", type="e2-micro")
    other = deployment.GcpMachine(
        project="hydro-1234", zone="us-west1-a", type="e2-micro")
    deployment.Process(["true"], on=machine)
    deployment.Process(["true"], on=other)
    await deployment.deploy()
EOF
# no credentials, and no way to any real endpoint (tests/integration/gcp_*
# run it against the fake)
t_run env -u GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CONFIG="$W/no-gcloud" \
	GCE_METADATA_HOST=127.0.0.1:1 \
	CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://127.0.0.1:1/compute/v1/ \
	"$HYDRO" -C "$W" run gcp.hydro.py
t_expect_rc 1
t_expect_err "cannot get a Google access token from the metadata server '127.0.0.1:1'"
t_run "$HYDRO" -C "$W" graph gcp.hydro.py
t_expect_rc 0
t_expect_out "gcp1 (gcp)"
t_end

t_case "a host setting the backend does not take suggests the right one"
sed -i '6s/zone="us-west1-a", type/zon="us-west1-a", type/' "$W/gcp.hydro.py"
t_run "$HYDRO" -C "$W" run gcp.hydro.py
t_expect_rc 1
t_expect_err "gcp.hydro.py:6: a 'gcp' host has no setting 'zon'; did you mean 'zone'?"
t_end

t_case "a command that is not found is reported at the Process(...) line"
cat >"$W/nf.hydro.py" <<'EOF'
from hydro import Deployment

async def main():
    d = Deployment()
    d.Process(["true"])
    d.Process(["hydro-no-such-command", "x"],
              name="missing")
    await d.deploy()
EOF
t_run "$HYDRO" -C "$W" run nf.hydro.py
t_expect_rc 1
t_expect_err "hydro: error: nf.hydro.py:6: launch missing: cannot run 'hydro-no-such-command'"
t_end

t_case "validation errors name the line declaring the service"
cat >"$W/val.hydro.py" <<'EOF'
from hydro import Deployment

async def main():
    d = Deployment()
    d.Process(["true"], name="a", needs=["nothing"])
    await d.deploy()
EOF
t_run "$HYDRO" -C "$W" run val.hydro.py
t_expect_rc 1
t_expect_err "val.hydro.py:5: service 'a' needs an unknown target 'nothing'"
t_end

t_case "import hydro from the build tree under python3 works without make install"
case $BUILD in
*/san) echo "    # skipped: an ASan-built _hydro.so cannot be loaded by python3" ;;
*)
	t_run env PYTHONPATH="$TOP/lang/python" "$PY" -c 'import hydro; print(hydro.param("n", 3))'
	t_expect_rc 0
	t_expect_out "3" ;;
esac
t_end

t_case "import hydro without its C half says what to do"
mkdir -p "$T_TMP/lonely"
cp -r "$TOP/lang/python/hydro" "$T_TMP/lonely/"
t_run env PYTHONPATH="$T_TMP/lonely" "$PY" -c 'import hydro'
t_expect_rc 1
t_expect_err "run the script with 'hydro run SCRIPT'"
t_expect_err "make install"
grep -q "circular import" "$T_TMP/err" && t_fail "still the circular-import message"
t_end

cat >"$W/params.hydro.py" <<'EOF'
import hydro

async def main():
    d = hydro.Deployment()
    n = hydro.param("clients", 2)
    p = d.Process(["sh", "-c", "echo clients=%d" % n], name="p")
    await d.deploy()
    await p.wait()
EOF

t_case "an unknown -D name suggests the one the config reads"
t_run "$HYDRO" -C "$W" run -D clinets=4 params.hydro.py
t_expect_rc 0
t_expect_out "clients=2"
t_expect_err "parameter 'clinets' was given with -D but the config never reads it; did you mean 'clients'?"
t_end

t_case "--strict-params makes it an error before anything runs"
t_run "$HYDRO" -C "$W" run --strict-params -D clinets=4 params.hydro.py
t_expect_rc 1
t_expect_err "parameter 'clinets' was given with -D but the config does not read it; did you mean 'clients'?"
grep -q "clients=" "$T_TMP/out" && t_fail "the service ran: $(cat "$T_TMP/out")"
t_run "$HYDRO" -C "$W" run --strict-params -D clients=4 params.hydro.py
t_expect_rc 0
t_expect_out "clients=4"
t_end

t_case "--strict-params with a JSON config, which reads no parameters"
printf '{"version": 1, "hosts": [{"name": "box"}], "services": []}\n' >"$W/empty.json"
t_run "$HYDRO" -C "$W" plan --strict-params -D n=1 empty.json
t_expect_rc 1
t_expect_err "parameter 'n' was given with -D but the config does not read it"
t_end

t_case "a process is named after the script it runs, not its interpreter"
cat >"$W/names.hydro.py" <<'EOF'
from hydro import Deployment

async def main():
    d = Deployment()
    d.Process(["python3", "worker.py"])
    d.Process(["python3", "-u", "tools/worker.py", "--fast"])
    d.Process(["/usr/bin/env", "A=1", "node", "server.js"])
    d.Process(["python3", "-m", "http.server"])
    d.Process(["sh", "-c", "exit 0"])
    d.Process(["redis-server", "--port", "0"])
    await d.deploy()
EOF
t_run "$HYDRO" -C "$W" plan names.hydro.py
t_expect_rc 0
for n in worker worker2 server http_server sh redis-server; do
	t_expect_out "launch $n on local1"
done
grep -q "launch python3" "$T_TMP/out" && t_fail "a python3 name: $(cat "$T_TMP/out")"
t_end

t_done
