# tests/fakes/gcp/lib.sh: start the fake Compute Engine for a test.
# Source after tests/lib.sh.  g_start [fake options...] starts it (killed at
# exit), makes a test service account key whose public half the fake checks,
# and exports GOOGLE_APPLICATION_CREDENTIALS and
# CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE; G_URL is the fake's base URL.

G_DIR=$T_TMP/gcp
G_PID=

g_stop() {
	[ -n "$G_PID" ] && kill "$G_PID" 2>/dev/null && wait "$G_PID" 2>/dev/null
	G_PID=
}
t_on_exit g_stop

# wait until "$1" (a shell condition) holds, checking every 0.05 s, at most
# $2 checks (default 400: 20 s)
g_wait() {
	n=0
	while ! eval "$1"; do
		n=$((n + 1))
		[ "$n" -ge "${2:-400}" ] && return 1
		sleep 0.05
	done
	return 0
}

g_start() {
	mkdir -p "$G_DIR"
	if [ ! -f "$G_DIR/key.pem" ]; then
		openssl genrsa -out "$G_DIR/key.pem" 2048 2>/dev/null &&
		openssl rsa -in "$G_DIR/key.pem" -pubout -out "$G_DIR/pub.pem" 2>/dev/null ||
			t_fail "openssl cannot make the test key"
	fi
	rm -f "$G_DIR/port"
	python3 "$TOP/tests/fakes/gcp/fake_gcp.py" --port-file "$G_DIR/port" \
		--pubkey "$G_DIR/pub.pem" "$@" 2>"$G_DIR/fake.log" &
	G_PID=$!
	g_wait "[ -s '$G_DIR/port' ]" || t_fail "the fake did not start: $(cat "$G_DIR/fake.log")"
	G_PORT=$(cat "$G_DIR/port")
	G_URL=http://127.0.0.1:$G_PORT
	python3 - "$G_DIR/key.pem" "$G_URL/token" >"$G_DIR/sa.json" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "hydro-test",
                  "private_key_id": "0123abcd",
                  "private_key": open(sys.argv[1]).read(),
                  "client_email": "hydro@hydro-test.iam.gserviceaccount.com",
                  "client_id": "1234", "token_uri": sys.argv[2]}))
PY
	chmod 600 "$G_DIR/sa.json"
	GOOGLE_APPLICATION_CREDENTIALS=$G_DIR/sa.json
	CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=$G_URL/compute/v1/
	export GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE
}

# configure faults and latencies: g_conf '{"quota": true}'
g_conf() {
	curl -sf -X POST --data "$1" "$G_URL/_fake/config" >/dev/null ||
		t_fail "cannot configure the fake"
}

# a field of the fake's state: g_state instances|firewalls|counts.inserts...
g_state() {
	curl -sf "$G_URL/_fake/state" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
print(" ".join(d) if isinstance(d, list) else d)' "$1"
}

# nothing left in the fake: no instance, no firewall rule
g_expect_empty() {
	i=$(g_state instances) f=$(g_state firewalls)
	[ -z "$i" ] || t_fail "instances left: $i"
	[ -z "$f" ] || t_fail "firewall rules left: $f"
}

# a config in $W/d.json: a local service and N gcp hosts with settings $2
# (a JSON object's members, e.g. '"ttl": "60"')
g_config() {
	python3 - "$1" "${2:-}" "${3:-true}" >"$W/d.json" <<'PY'
import json, sys
n, extra, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3]
hosts = [{"name": "box"}]
for i in range(n):
    s = {"project": "hydro-test", "zone": "us-west1-a"}
    s.update(json.loads("{" + extra + "}"))
    hosts.append({"name": "vm%d" % (i + 1), "backend": "gcp", "settings": s})
print(json.dumps({"version": 1, "hosts": hosts, "services": [
    {"name": "a", "kind": "process", "on": "box", "cmd": cmd.split()}]}))
PY
}

# a hydro the test started in the background: its pid in HP; g_kill kills
# it with -9 (and at exit)
HP=
g_kill() { [ -n "$HP" ] && kill -9 "$HP" 2>/dev/null; wait "$HP" 2>/dev/null; HP=; }
t_on_exit g_kill
# wait for it to end: it must succeed and leave nothing in the fake
g_finish() {
	wait "$HP"
	rc=$?
	HP=
	[ "$rc" -eq 0 ] || t_fail "the run failed ($rc): $(tail -5 "$T_TMP/err")"
	g_expect_empty
}

# the fake's verdict on a TCP connection by the firewall rules:
# g_reachable FROM TO PORT -> true|false
g_reachable() {
	curl -sf "$G_URL/_fake/reachable?from=$1&to=$2&port=$3" |
		python3 -c 'import json, sys; print(str(json.load(sys.stdin)["reachable"]).lower())'
}
