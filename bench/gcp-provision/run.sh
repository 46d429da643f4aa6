#!/bin/sh
# bench/gcp-provision: `hydro run` of a deployment of 1, 8 and 32 GCP VMs
# against the fake Compute Engine (tests/fakes/gcp) where every operation
# takes a fixed LATENCY seconds to be done.  Provisioning is timed from the
# first API request to the last VM's host keys read (the fake's clock), the
# whole run from start to end (VMs and firewall rules deleted).  When all is
# parallel, provisioning is one operation (the inserts, with the firewall
# rules' alongside) and the run three (insert, delete, the rules' delete):
# the ratio columns are the time over that limit.  Goal: <= 1.3 at 32.
: "${HYDRO:?}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
LATENCY=${LATENCY:-2}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hydro-bench-gcp.XXXXXX")
fpid=
trap '[ -n "$fpid" ] && kill $fpid 2>/dev/null; rm -rf "$tmp"' EXIT

openssl genrsa -out "$tmp/key.pem" 2048 2>/dev/null
openssl rsa -in "$tmp/key.pem" -pubout -out "$tmp/pub.pem" 2>/dev/null

echo "| VMs | op latency (s) | provision (s) | ratio | whole run (s) | ratio |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in 1 8 32; do
	rm -f "$tmp/port"
	python3 "$TOP/tests/fakes/gcp/fake_gcp.py" --port-file "$tmp/port" \
		--pubkey "$tmp/pub.pem" --op-latency "$LATENCY" 2>"$tmp/fake.log" &
	fpid=$!
	while [ ! -s "$tmp/port" ]; do sleep 0.05; done
	url=http://127.0.0.1:$(cat "$tmp/port")
	python3 - "$tmp/key.pem" "$url/token" >"$tmp/sa.json" <<'PY'
import json, sys
print(json.dumps({"type": "service_account", "project_id": "bench",
                  "private_key": open(sys.argv[1]).read(),
                  "client_email": "b@bench.iam.gserviceaccount.com",
                  "token_uri": sys.argv[2]}))
PY
	python3 - "$n" >"$tmp/d.json" <<'PY'
import json, sys
hosts = [{"name": "box"}] + [
    {"name": "vm%d" % i, "backend": "gcp",
     "settings": {"project": "bench", "zone": "us-west1-a"}}
    for i in range(int(sys.argv[1]))]
print(json.dumps({"version": 1, "hosts": hosts, "services": [
    {"name": "a", "kind": "process", "on": "box", "cmd": ["true"]}]}))
PY
	rm -rf "$tmp/.hydro"
	start=$(date +%s%N)
	GOOGLE_APPLICATION_CREDENTIALS=$tmp/sa.json \
	CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=$url/compute/v1/ \
		"$HYDRO" -q run "$tmp/d.json" >/dev/null 2>"$tmp/err" ||
		{ echo "hydro run failed:"; cat "$tmp/err"; exit 1; }
	end=$(date +%s%N)
	curl -sf "$url/_fake/state" | python3 -c '
import json, sys
d = json.load(sys.stdin)
t = d["times"]
assert not d["instances"] and not d["firewalls"], "left behind"
n, lat, run = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) / 1e9
prov = t["last_booted"] - t["first_request"]
print("| %d | %.1f | %.2f | %.2f | %.2f | %.2f |" % (n, lat, prov, prov / lat, run, run / (3 * lat)))
' "$n" "$LATENCY" "$((end - start))"
	kill $fpid
	wait $fpid 2>/dev/null
	fpid=
done
