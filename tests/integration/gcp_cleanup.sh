# GCP: what a killed hydro leaves is found: by `hydro down` from the state
# file, by `hydro down --sweep` from the labels when the state file is lost,
# and by the VMs' own maxRunDuration when nothing is run at all.  No secret
# reaches any output or file of a run.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
g_start --op-latency 0.2 --time-scale 100


# start hydro in the background on $W/d.json, output to $T_TMP/out, err
start_bg() {
	"$HYDRO" run "$W/d.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	HP=$!
}

t_case "kill -9 while the firewall rules are being made, then hydro down"
g_conf '{"op_latency": 3}'
g_config 2
start_bg
g_wait "curl -sf $G_URL/_fake/state | grep -q '\"firewall_bodies\": \\[\\]' && [ -s '$W/.hydro/state.log' ] && grep -q firewall '$W/.hydro/state.log'" ||
	t_fail "the firewall rules were never recorded"
g_kill
g_conf '{"op_latency": 0.2}'
t_run "$HYDRO" down "$W"
t_expect_rc 0
sleep 0.5
g_expect_empty
t_end

t_case "kill -9 while the VMs are being made, then hydro down"
g_conf '{"op_latency": 3}'
g_config 3
before=$(g_state counts.inserts)
start_bg
g_wait "[ \"\$(g_state counts.inserts)\" -ge $((before + 3)) ]" || t_fail "the inserts never came"
g_kill
g_conf '{"op_latency": 0.2}'
[ -n "$(g_state instances)" ] || t_fail "no instance existed at the kill"
t_run "$HYDRO" down "$W"
t_expect_rc 0
t_expect_out "removed"
g_expect_empty
t_run "$HYDRO" down "$W"
t_expect_out "nothing to remove"
t_end

t_case "kill -9 once the VMs run; state file deleted; hydro down --sweep"
g_config 2 '"ttl": "None"' "sleep 30"
start_bg
g_wait "[ \$(curl -sf $G_URL/_fake/state | grep -o RUNNING | wc -l) -ge 2 ]" ||
	t_fail "the VMs never ran"
g_kill
rm -rf "$W/.hydro"
t_run "$HYDRO" down --sweep "$W"
t_expect_rc 0
t_expect_out "deleting VM hydro-"
t_expect_out "deleting firewall rule hydro-"
g_expect_empty
t_run "$HYDRO" down --sweep "$W"
t_expect_rc 0
t_expect_out "nothing labelled hydro-deployment="
t_end

t_case "VMs in two projects; state file deleted; hydro down --sweep covers both"
python3 - >"$W/d.json" <<'PY'
import json
hosts = [{"name": "box"}]
for i, project in ((1, "hydro-test"), (2, "hydro-other")):
    hosts.append({"name": "vm%d" % i, "backend": "gcp", "settings": {
        "project": project, "zone": "us-west1-a", "ttl": "None"}})
print(json.dumps({"version": 1, "hosts": hosts, "services": [
    {"name": "a", "kind": "process", "on": "box", "cmd": ["sleep", "30"]}]}))
PY
start_bg
g_wait "[ \$(curl -sf $G_URL/_fake/state | grep -o RUNNING | wc -l) -ge 2 ]" ||
	t_fail "the VMs never ran"
# each project has the deployment's two rules
g_wait "[ \$(g_state firewalls | wc -w) -eq 4 ]" || t_fail "not two rules per project: $(g_state firewalls)"
g_kill
rm -f "$W/.hydro/state.json" "$W/.hydro/state.json.prev" "$W/.hydro/state.log"
t_run "$HYDRO" down --sweep "$W"
t_expect_rc 0
[ "$(grep -c "deleting VM hydro-" "$T_TMP/out")" -eq 2 ] || t_fail "not both VMs deleted: $(cat "$T_TMP/out")"
t_expect_out "deleting firewall rule hydro-"
g_expect_empty
t_end

t_case "kill -9 and nothing run after: the VMs go at their ttl"
g_config 2 '"ttl": "60"' "sleep 30"
start_bg
g_wait "[ \$(curl -sf $G_URL/_fake/state | grep -o RUNNING | wc -l) -ge 2 ]" ||
	t_fail "the VMs never ran"
g_kill
g_wait "[ -z \"\$(g_state instances)\" ]" || t_fail "the VMs outlived their ttl"
[ "$(g_state counts.ttl_deleted)" -ge 2 ] || t_fail "not deleted by their ttl"
# the firewall rules are left to hydro down
t_run "$HYDRO" down "$W"
t_expect_rc 0
g_expect_empty
t_end

t_case "no secret in any output or file of a run"
g_config 2
"$HYDRO" -v run "$W/d.json" >"$T_TMP/run.out" 2>"$T_TMP/run.err"
"$HYDRO" down "$W" >>"$T_TMP/run.out" 2>>"$T_TMP/run.err"
for tok in $(g_state tokens); do
	grep -rqF -- "$tok" "$T_TMP/run.out" "$T_TMP/run.err" "$W" &&
		t_fail "an access token is in the run's output or files"
done
# a line from the middle of the private key, and the whole key file's JSON
line=$(sed -n 5p "$G_DIR/key.pem")
grep -rqF -- "$line" "$T_TMP/run.out" "$T_TMP/run.err" "$W" &&
	t_fail "the service account's key is in the run's output or files"
[ -n "$(g_state tokens)" ] || t_fail "no token was issued"
t_end

t_done
