# GCP's network: the deployment's internal firewall rule allows exactly the
# TCP ports the run wires between its VMs, before the senders connect, and
# SSH's rule port 22 from ssh_from; a rule an earlier run left is made this
# run's.  The fake's instances are real test hosts (tests/lib/hosts.sh),
# where a process on one VM sends to a process on the other; the fake does
# not enforce the rules on them: it judges each connection by them
# (/_fake/reachable, Compute Engine's rules for ingress), which the test asks.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

W=$T_TMP/w
mkdir -p "$W/.hydro/gcp"
hosts_up 4
g_start --op-latency 0.2 --hosts "$HOSTS_KNOWN"
unset SSH_AUTH_SOCK
# the test hosts authorize root with the test key: the deployment's key
id=$(printf %s "$W" | sha256sum | cut -c1-10)
cp "$HOSTS_KEY" "$W/.hydro/gcp/${id}_ed25519"
cp "$HOSTS_KEY.pub" "$W/.hydro/gcp/${id}_ed25519.pub"
leftovers() { "$HYDRO" down "$W" >/dev/null 2>&1; }
t_on_exit leftovers

# sink on vm1 takes one connection, says when and on which port, and stays
# until $HOSTS_DIR/release exists (the hosts have a /tmp of their own);
# source on vm2 sends to it
RELEASE=$HOSTS_DIR/release
cat >"$W/d.json" <<JSON
{"version": 1,
 "hosts": [
  {"name": "vm1", "backend": "gcp", "settings": {"project": "hydro-test", "zone": "us-west1-a",
   "ssh_user": "root", "ttl": "600", "ssh_from": "198.51.100.0/24"}},
  {"name": "vm2", "backend": "gcp", "settings": {"project": "hydro-test", "zone": "us-west1-a",
   "ssh_user": "root", "ttl": "600", "ssh_from": "198.51.100.0/24"}}],
 "services": [
  {"name": "sink", "kind": "process", "on": "vm1", "ports": [{"name": "in", "dir": "input"}],
   "ready": {"port": "in"},
   "cmd": ["python3", "-c", "import os, socket, time\na, p = os.environ['HYDRO_PORT_IN'].rsplit(':', 1)\ns = socket.socket(); s.bind((a, int(p))); s.listen()\nwhile True:\n    c, _ = s.accept(); m = c.recv(100)\n    if m: break\nprint('got', m.decode(), 'on', p, 'at', repr(time.time()), flush=True)\nwhile not os.path.exists('$RELEASE'): time.sleep(0.05)"]},
  {"name": "source", "kind": "process", "on": "vm2", "ports": [{"name": "out", "dir": "output"}],
   "cmd": ["python3", "-c", "import os, socket\na, p = os.environ['HYDRO_PORT_OUT'].rsplit(':', 1)\nc = socket.create_connection((a, int(p))); c.sendall(b'hello')"]}],
 "connections": [{"from": "source.out", "to": "sink.in"}]}
JSON

# a rule's field as JSON: rule internal|ssh allowed|sourceRanges|...
rule() {
	curl -sf "$G_URL/_fake/state" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for f in d["firewall_bodies"]:
    if f["name"].endswith("-" + sys.argv[1]):
        print(json.dumps(f.get(sys.argv[2]), sort_keys=True))' "$1" "$2"
}

# run in the background until the sink got its message; sets PORT, AT
run_until_got() {
	rm -f "$RELEASE"
	"$HYDRO" --color=never run "$W/d.json" >"$T_TMP/out" 2>"$T_TMP/err" &
	HP=$!
	g_wait "grep -q '^sink.*got hello' '$T_TMP/out' || ! kill -0 $HP 2>/dev/null" 1200
	line=$(grep '^sink.*got hello' "$T_TMP/out") ||
		t_fail "the sink got nothing: $(tail -5 "$T_TMP/err")"
	PORT=$(echo "$line" | sed 's/.* on \([0-9]*\) at .*/\1/')
	AT=$(echo "$line" | sed 's/.* at \([0-9.]*\)$/\1/')
}
finish_run() {
	touch "$RELEASE"
	g_finish
}

t_case "the internal rule allows exactly the wired port, before the sender connects"
run_until_got
a1=$(host_addr 1) a2=$(host_addr 2)
[ "$(rule internal allowed)" = "[{\"IPProtocol\": \"tcp\", \"ports\": [\"$PORT\"]}]" ] ||
	t_fail "internal rule allows $(rule internal allowed), not tcp $PORT"
[ "$(rule internal disabled)" = false ] || t_fail "internal rule disabled: $(rule internal disabled)"
[ "$(rule internal sourceTags)" = "[\"hydro-$id\"]" ] || t_fail "sources: $(rule internal sourceTags)"
[ "$(rule ssh allowed)" = '[{"IPProtocol": "tcp", "ports": ["22"]}]' ] ||
	t_fail "ssh rule allows $(rule ssh allowed)"
[ "$(rule ssh sourceRanges)" = '["198.51.100.0/24"]' ] || t_fail "ssh from $(rule ssh sourceRanges)"
[ "$(curl -sf "$G_URL/_fake/state" | grep -o '"name": "hydro-[0-9a-f]*-[a-z]*"' | sort -u | wc -l)" -eq 2 ] ||
	t_fail "not two rules: $(g_state firewalls)"
# the wired port, between the VMs, either way the rule's tags allow
[ "$(g_reachable "$a2" "$a1" "$PORT")" = true ] || t_fail "the wired port is not reachable"
# a port not wired, between the same VMs; the wired one from elsewhere
other=$((PORT == 65535 ? PORT - 1 : PORT + 1))
[ "$(g_reachable "$a2" "$a1" "$other")" = false ] || t_fail "port $other, not wired, is reachable"
[ "$(g_reachable "$a2" "$a1" 8080)" = false ] || t_fail "port 8080, not wired, is reachable"
[ "$(g_reachable 192.0.2.7 "$a1" "$PORT")" = false ] || t_fail "the wired port is open to all"
# SSH from ssh_from only
[ "$(g_reachable 198.51.100.9 "$a1" 22)" = true ] || t_fail "SSH not reachable from ssh_from"
[ "$(g_reachable 192.0.2.7 "$a1" 22)" = false ] || t_fail "SSH reachable from outside ssh_from"
# the rule allowed the port before the sink took the connection
curl -sf "$G_URL/_fake/state" | python3 -c '
import json, sys
port, at = sys.argv[1], float(sys.argv[2])
h = [f for f in json.load(sys.stdin)["firewall_history"]
     if f["name"].endswith("-internal") and not f.get("disabled")
     and port in f["allowed"][0].get("ports", [])]
sys.exit(0 if h and h[0]["_at"] <= at else 1)' "$PORT" "$AT" ||
	t_fail "the port was allowed after the connection came"
finish_run
t_end

t_case "a rule an earlier run left is made this run's: its old ports are gone"
curl -sf -X POST "$G_URL/_fake/firewall" --data "{\"project\": \"hydro-test\",
  \"name\": \"hydro-$id-internal\", \"network\": \"global/networks/default\",
  \"direction\": \"INGRESS\", \"sourceTags\": [\"hydro-$id\"], \"targetTags\": [\"hydro-$id\"],
  \"allowed\": [{\"IPProtocol\": \"tcp\"}, {\"IPProtocol\": \"udp\"}]}" >/dev/null ||
	t_fail "cannot seed the rule"
run_until_got
[ "$(rule internal allowed)" = "[{\"IPProtocol\": \"tcp\", \"ports\": [\"$PORT\"]}]" ] ||
	t_fail "internal rule allows $(rule internal allowed), not tcp $PORT"
a3=$(host_addr 3) a4=$(host_addr 4)
[ "$(g_reachable "$a4" "$a3" "$PORT")" = true ] || t_fail "the wired port is not reachable"
[ "$(g_reachable "$a4" "$a3" 8080)" = false ] || t_fail "an old port is still reachable"
finish_run
t_end

t_done
