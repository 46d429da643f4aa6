# GCP: a host's external_ports are open to everyone on its VM only: one
# rule of its own (TCP on exactly those ports from 0.0.0.0/0, targeting
# the VM's own tag), made before the run's services start and gone with
# the run, and after a kill -9 with hydro down or hydro down --sweep.  A
# VM without external_ports gets no such rule.  The fake judges each
# connection by the rules (/_fake/reachable), which the test asks.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
g_start --op-latency 0.1
leftovers() { "$HYDRO" down "$W" >/dev/null 2>&1; }
t_on_exit leftovers

# vm1 with external ports 8080 and 9443 (given twice), vm2 without; the
# service on this machine stays until $RELEASE exists
RELEASE=$T_TMP/release
python3 - "$RELEASE" >"$W/d.json" <<'PY'
import json, sys
hosts = [{"name": "box"}]
for name, extra in (("vm1", {"external_ports": "8080, 9443,8080"}), ("vm2", {})):
    s = {"project": "hydro-test", "zone": "us-west1-a", "ttl": "600"}
    s.update(extra)
    hosts.append({"name": name, "backend": "gcp", "settings": s})
cmd = "while [ ! -e %s ]; do sleep 0.05; done" % sys.argv[1]
print(json.dumps({"version": 1, "hosts": hosts, "services": [
    {"name": "a", "kind": "process", "on": "box", "cmd": ["sh", "-c", cmd]}]}))
PY

# run in the background until both VMs run and vm1's rule is made
start_until_up() {
	rm -f "$RELEASE"
	"$HYDRO" --color=never run "$W/d.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	HP=$!
	g_wait "[ \$(curl -sf $G_URL/_fake/state | grep -o RUNNING | wc -l) -ge 2 ] &&
		g_state firewalls | grep -q -- '-ext' || ! kill -0 $HP 2>/dev/null" 1200
	kill -0 "$HP" 2>/dev/null || t_fail "the run ended: $(tail -5 "$T_TMP/err")"
}
# a VM's field: vm HOST networkIP|name|tags
vm() {
	curl -sf "$G_URL/_fake/state" | python3 -c '
import json, sys
for i in json.load(sys.stdin)["instance_bodies"]:
    if i["name"].split("-")[2] == sys.argv[1]:
        ni = i["networkInterfaces"][0]
        v = {"networkIP": ni["networkIP"], "natIP": ni["accessConfigs"][0]["natIP"],
             "name": i["name"], "tags": i["tags"]["items"]}[sys.argv[2]]
        print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}
# the rules whose names end in -ext, as JSON (name, targetTags, sourceRanges,
# allowed)
ext_rules() {
	curl -sf "$G_URL/_fake/state" | python3 -c '
import json, sys
print(json.dumps([[f["name"], f.get("targetTags"), f.get("sourceRanges"), f.get("allowed")]
                  for f in json.load(sys.stdin)["firewall_bodies"]
                  if f["name"].endswith("-ext")], sort_keys=True))'
}

t_case "the VM's external ports: one rule, exactly those ports, that VM only"
id=$(printf %s "$W" | sha256sum | cut -c1-10)
start_until_up
v1=$(vm vm1 name) v2=$(vm vm2 name)
[ -n "$v1" ] && [ -n "$v2" ] || t_fail "the VMs are not there: $(g_state instances)"
want="[[\"$v1-ext\", [\"$v1\"], [\"0.0.0.0/0\"], [{\"IPProtocol\": \"tcp\", \"ports\": [\"8080\", \"9443\"]}]]]"
[ "$(ext_rules)" = "$want" ] || t_fail "external rules: $(ext_rules), not $want"
case $v1 in hydro-$id-*) ;; *) t_fail "VM name $v1 is not the deployment's" ;; esac
[ "$(vm vm1 tags)" = "[\"hydro-$id\", \"$v1\"]" ] || t_fail "vm1's tags: $(vm vm1 tags)"
[ "$(vm vm2 tags)" = "[\"hydro-$id\"]" ] || t_fail "vm2's tags: $(vm vm2 tags)"
[ "$(g_state firewalls | wc -w)" -eq 3 ] || t_fail "not three rules: $(g_state firewalls)"
e1=$(vm vm1 natIP) e2=$(vm vm2 natIP)
[ -n "$e1" ] && [ -n "$e2" ] || t_fail "no external address"
# from anywhere to vm1's external ports; not to another port, not to vm2
[ "$(g_reachable 192.0.2.7 "$e1" 8080)" = true ] || t_fail "8080 not reachable on vm1"
[ "$(g_reachable 198.51.100.3 "$e1" 9443)" = true ] || t_fail "9443 not reachable on vm1"
[ "$(g_reachable 192.0.2.7 "$e1" 8081)" = false ] || t_fail "8081 reachable on vm1"
[ "$(g_reachable 192.0.2.7 "$e2" 8080)" = false ] || t_fail "8080 reachable on vm2"
[ "$(g_reachable "$(vm vm2 networkIP)" "$(vm vm1 networkIP)" 8080)" = true ] ||
	t_fail "8080 not reachable on vm1 from vm2"
touch "$RELEASE"
g_finish
t_end

t_case "kill -9 once the rule is made, then hydro down: nothing left"
start_until_up
[ "$(ext_rules)" != "[]" ] || t_fail "no external rule"
g_kill
t_run "$HYDRO" down "$W"
t_expect_rc 0
t_expect_out "removed"
g_expect_empty
t_end

t_case "kill -9, state file deleted, hydro down --sweep: nothing left"
start_until_up
g_kill
rm -f "$W/.hydro/state.json" "$W/.hydro/state.json.prev" "$W/.hydro/state.log"
t_run "$HYDRO" down --sweep "$W"
t_expect_rc 0
g_expect_empty
t_end

t_case "external_ports that are no port stop before anything is made"
python3 - "$W/d.json" >"$W/bad.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["hosts"] = [h for h in d["hosts"] if h["name"] != "vm2"]
d["hosts"][1]["settings"]["external_ports"] = "80,http"
print(json.dumps(d))
EOF
before=$(g_state counts.inserts)
t_run "$HYDRO" run "$W/bad.json"
t_expect_rc 1
t_expect_err "external_ports '80,http' is not a comma-separated list of TCP ports"
[ "$(g_state counts.inserts)" = "$before" ] || t_fail "something was inserted"
g_expect_empty
t_end

t_done
