# GCP: VMs provisioned against the fake Compute Engine and torn down, with
# nothing left; injected faults retried, failed over, or a clear error with
# nothing left.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
g_start --op-latency 0.2

t_case "three VMs: created in parallel, with their settings, then deleted"
# the run holds its VMs until the test has seen them running
printf 'i=0; while [ ! -e %s/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n' "$W" >"$W/hold.sh"
g_config 3 '"type": "e2-small", "disk_gb": "20", "spot": "true"' "sh $W/hold.sh"
"$HYDRO" run "$W/d.json" >"$T_TMP/out" 2>"$T_TMP/err" &
hp=$!
g_wait "[ \"\$(g_state counts.inserts)\" -ge 3 ]" || t_fail "never three inserts"
g_wait "curl -sf $G_URL/_fake/state | grep -q RUNNING" || t_fail "never running"
curl -sf "$G_URL/_fake/state" >"$T_TMP/state"
touch "$W/go"
wait $hp
rc=$?
t_expect_rc 0
python3 - "$T_TMP/state" <<'PY' || t_fail "the instances' bodies are wrong"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["instance_bodies"]) == 3, d["instances"]
for i in d["instance_bodies"]:
    assert i["machineType"] == "zones/us-west1-a/machineTypes/e2-small"
    dep = i["labels"]["hydro-deployment"]
    assert i["tags"]["items"] == ["hydro-" + dep]
    disk = i["disks"][0]
    assert disk["boot"] and disk["autoDelete"]
    assert disk["initializeParams"]["sourceImage"] == \
        "projects/debian-cloud/global/images/family/debian-12"
    assert disk["initializeParams"]["diskSizeGb"] == "20"
    s = i["scheduling"]
    assert s["maxRunDuration"] == {"seconds": "14400"}, s
    assert s["instanceTerminationAction"] == "DELETE"
    assert s["provisioningModel"] == "SPOT"
    meta = {m["key"]: m["value"] for m in i["metadata"]["items"]}
    assert meta["enable-guest-attributes"] == "TRUE"
    assert meta["ssh-keys"].startswith("hydro:ssh-ed25519 ")
fw = {f["name"]: f for f in d["firewall_bodies"]}
assert len(fw) == 2, list(fw)
for name, f in fw.items():
    assert f["targetTags"] == ["hydro-" + dep]
    if name.endswith("-ssh"):
        assert f["sourceRanges"] == ["0.0.0.0/0"]
        assert f["allowed"] == [{"IPProtocol": "tcp", "ports": ["22"]}]
    else:
        assert f["sourceTags"] == ["hydro-" + dep]
PY
g_expect_empty
[ -z "$(cd "$W" && "$HYDRO" down --dry-run . | grep -v nothing)" ] ||
	t_fail "records left in the state file"
grep -c ssh-ed25519 "$W/.hydro/known_hosts" | grep -qx 6 ||
	t_fail "known_hosts lacks the VMs' host keys (internal and external address)"
key=$(ls "$W"/.hydro/gcp/*_ed25519)
[ "$(stat -c %a "$key")" = 600 ] || t_fail "the deployment's SSH key is not 0600"
t_end

# run $W/d.json, keeping the fake's state once a VM runs in $T_TMP/state
run_seen_running() {
	"$HYDRO" run "$W/d.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	hp=$!
	g_wait "curl -sf $G_URL/_fake/state | grep -q RUNNING" || t_fail "never running"
	curl -sf "$G_URL/_fake/state" >"$T_TMP/state"
	wait $hp
}

t_case "ttl= and ssh_from= reach the VM and its firewall rule; ttl=None opts out"
g_config 1 '"ttl": "600", "ssh_from": "198.51.100.0/24", "image": "ubuntu-os-cloud/ubuntu-2404-lts-amd64"' "sleep 1"
run_seen_running
python3 - "$T_TMP/state" <<'PY' || t_fail "ttl or ssh_from not applied"
import json, sys
d = json.load(open(sys.argv[1]))
i = d["instance_bodies"][0]
assert i["scheduling"]["maxRunDuration"] == {"seconds": "600"}
assert i["disks"][0]["initializeParams"]["sourceImage"] == \
    "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64"
assert [f["sourceRanges"] for f in d["firewall_bodies"] if "sourceRanges" in f] == \
    [["198.51.100.0/24"]]
PY
g_config 1 '"ttl": "None"' "sleep 1"
run_seen_running
python3 - "$T_TMP/state" <<'PY' || t_fail "ttl=None still sets maxRunDuration"
import json, sys
i = json.load(open(sys.argv[1]))["instance_bodies"][0]
assert "maxRunDuration" not in i["scheduling"]
assert "instanceTerminationAction" not in i["scheduling"]
PY
g_expect_empty
t_end

t_case "a bad ttl is a clear error before anything is made"
g_config 1 '"ttl": "soon"'
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "ttl 'soon' is not a number of seconds"
g_expect_empty
t_end

for st in 429 503; do
t_case "a burst of $st answers is retried with backoff"
g_conf "{\"burst\": {\"status\": $st, \"count\": 4}}"
before=$(g_state counts.faults_served)
g_config 2
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 0
[ "$(g_state counts.faults_served)" -eq $((before + 4)) ] || t_fail "the burst was not served"
g_expect_empty
t_end
done

t_case "no capacity in a zone: fails over to the next of zones="
g_conf '{"capacity_zones": ["us-west1-a"]}'
g_config 2 '"zones": "us-west1-a,us-west1-b"'
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 0
t_expect_err "no capacity in zone 'us-west1-a'; trying 'us-west1-b'"
g_expect_empty
t_end

t_case "no capacity and no other zone: a clear error, nothing left"
g_config 2
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "no capacity (ZONE_RESOURCE_POOL_EXHAUSTED) in zone us-west1-a"
g_expect_empty
t_end

t_case "one host fails after another's VM exists: that VM is torn down"
python3 - >"$W/d.json" <<'PY'
import json
print(json.dumps({"version": 1, "hosts": [
    {"name": "box"},
    {"name": "ok", "backend": "gcp", "settings": {"project": "hydro-test", "zone": "us-west1-b"}},
    {"name": "full", "backend": "gcp", "settings": {"project": "hydro-test", "zone": "us-west1-a"}}],
    "services": [{"name": "a", "kind": "process", "on": "box", "cmd": ["true"]}]}))
PY
before=$(g_state counts.deletes)
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "host 'full'"
[ "$(g_state counts.deletes)" -gt "$before" ] || t_fail "the VM made was not deleted"
g_expect_empty
g_conf '{"capacity_zones": []}'
t_end

t_case "a quota error stops with the quota's name, nothing left"
g_conf '{"quota": true}'
g_config 2
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "quota exceeded: Quota 'CPUS' exceeded"
g_expect_empty
g_conf '{"quota": false}'
t_end

t_case "an insert operation that fails midway: its error, its VM deleted"
g_conf '{"fail_ops": true}'
g_config 2
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "INTERNAL_ERROR: Internal error"
g_expect_empty
g_conf '{"fail_ops": false}'
t_end

t_case "a VM that never boots: a clear error after boot_timeout, deleted"
g_conf '{"never_boot": true}'
g_config 1 '"boot_timeout": "1"'
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "did not boot (running with its host keys in guest attributes) within 1 s"
g_expect_empty
g_conf '{"never_boot": false}'
t_end

t_done
