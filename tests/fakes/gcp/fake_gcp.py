#!/usr/bin/env python3
"""A fake of what hydro uses of Google Cloud, for tests only.

Serves on 127.0.0.1 (standard library only):

  POST /token                          OAuth 2.0 token endpoint: the
                                       jwt-bearer grant (the JWT's RS256
                                       signature checked against --pubkey with
                                       the openssl command) and refresh_token
  GET  /computeMetadata/v1/instance/service-accounts/default/token
                                       the metadata server's token
  /compute/v1/projects/P/...           Compute Engine v1: zones/Z/instances
                                       (insert, list, get, delete,
                                       getGuestAttributes), zones/Z/operations
                                       (get, wait), aggregated/instances,
                                       global/firewalls (insert, list, get,
                                       patch, delete), global/operations
                                       (get, wait)
  /_fake/...                           the test's controls: POST /_fake/config
                                       (faults, latencies), GET /_fake/state,
                                       POST /_fake/firewall (a rule left
                                       before), GET /_fake/reachable?from=IP&
                                       to=IP&port=N (the firewall rules'
                                       verdict, which nothing enforces)

With --hosts, instances are real test hosts (tests/lib/hosts.sh): each
takes a host's address and serves its host key through guest attributes.

Operations go PENDING, RUNNING, DONE over --op-latency seconds.  Instances
honour scheduling.maxRunDuration with instanceTerminationAction DELETE (time
runs --time-scale times faster for it).  Error bodies are the documented
{"error": {"code", "message", "errors": [{"message", "domain", "reason"}],
"status"}}.

Faults (POST /_fake/config, JSON): {"burst": {"status": 429|503, "count": N}},
{"capacity_zones": ["z"]}, {"quota": true}, {"fail_ops": true},
{"never_boot": true}, {"op_latency": s}, {"boot_delay": s},
{"token_expires": s}.
"""

import argparse
import base64
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
CONF = {
    "op_latency": 0.3,
    "boot_delay": 0.0,
    "time_scale": 1.0,
    "burst": None,
    "capacity_zones": [],
    "quota": False,
    "fail_ops": False,
    "never_boot": False,
    "token_expires": 3599,
}
TOKENS = set()
INSTANCES = {}   # (project, zone, name) -> dict
FIREWALLS = {}   # (project, name) -> dict
FIREWALL_HISTORY = []  # each rule as its insert or patch left it, with "_at"
OPERATIONS = {}  # name -> dict (with private "_" keys)
COUNTS = {"requests": 0, "inserts": 0, "deletes": 0, "ttl_deleted": 0,
          "faults_served": 0, "tokens": 0}
TIMES = {"first_request": None, "last_booted": None}
HOSTS = []       # real test hosts (--hosts) given to instances in turn
NEXT_IP = [2]
ARGS = None

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED",
                403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED",
                503: "UNAVAILABLE", 500: "INTERNAL"}


def error_body(code, message, reason, domain="global"):
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": domain,
                                  "reason": reason}],
                      "status": STATUS_NAMES.get(code, "UNKNOWN")}}


def base_url(handler):
    return "http://%s/compute/v1/" % handler.headers.get("Host", "127.0.0.1")


def now():
    return time.time()


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000-00:00", time.gmtime(t))


def new_operation(handler, project, zone, kind, target, on_done=None,
                  error=None):
    name = "operation-%d-%s" % (int(now() * 1000), secrets.token_hex(6))
    scope = "projects/%s/%s" % (project, "zones/%s" % zone if zone else "global")
    op = {
        "kind": "compute#operation",
        "id": str(secrets.randbits(63)),
        "name": name,
        "operationType": kind,
        "targetLink": base_url(handler) + target,
        "status": "PENDING",
        "user": "hydro-test@example.iam.gserviceaccount.com",
        "progress": 0,
        "insertTime": rfc3339(now()),
        "selfLink": base_url(handler) + scope + "/operations/" + name,
        "_start": now(),
        "_latency": CONF["op_latency"],
        "_on_done": on_done,
        "_error": error,
        "_done": False,
    }
    if zone:
        op["zone"] = base_url(handler) + "projects/%s/zones/%s" % (project, zone)
    OPERATIONS[name] = op
    return op


def advance(op):
    """Move an operation along its time line; call with LOCK held."""
    if op["_done"]:
        return
    age = now() - op["_start"]
    lat = op["_latency"]
    if age >= lat:
        op["_done"] = True
        op["status"] = "DONE"
        op["progress"] = 100
        op["endTime"] = rfc3339(now())
        if op["_on_done"]:
            op["_on_done"](op)
        if op["_error"]:
            code, message = op["_error"]
            op["error"] = {"errors": [{"code": code, "message": message}]}
            op["httpErrorStatusCode"] = 400
            op["httpErrorMessage"] = "BAD REQUEST"
    elif age >= lat / 3:
        op["status"] = "RUNNING"
        op["startTime"] = rfc3339(op["_start"])


def public(op):
    return {k: v for k, v in op.items() if not k.startswith("_")}


def fake_hostkey():
    blob = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + os.urandom(32)
    return base64.b64encode(blob).decode()


def reaper():
    """Move operations along whether or not anyone asks about them, and
    delete instances whose maxRunDuration is up, as DELETE says."""
    while True:
        time.sleep(0.05)
        with LOCK:
            for op in OPERATIONS.values():
                advance(op)
            for key, inst in list(INSTANCES.items()):
                ttl = inst.get("_ttl")
                if ttl is None or inst.get("_running_since") is None:
                    continue
                if (now() - inst["_running_since"]) * CONF["time_scale"] >= ttl:
                    del INSTANCES[key]
                    COUNTS["ttl_deleted"] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if ARGS.log:
            sys.stderr.write("fake-gcp: " + (fmt % args) + "\n")

    def send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_DELETE(self):
        self.route("DELETE")

    def do_PATCH(self):
        self.route("PATCH")

    def route(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        raw = self.body()
        try:
            if path.startswith("/_fake/"):
                return self.control(method, path, raw)
            if path == "/token" and method == "POST":
                return self.token(raw)
            if path == "/computeMetadata/v1/instance/service-accounts/default/token":
                return self.metadata_token()
            if path.startswith("/compute/v1/"):
                return self.compute(method, path[len("/compute/v1/"):], query, raw)
            self.send(404, error_body(404, "no such path %s" % path, "notFound"))
        except BrokenPipeError:
            pass

    # ---- the test's controls ----

    def control(self, method, path, raw):
        with LOCK:
            if path == "/_fake/config" and method == "POST":
                CONF.update(json.loads(raw or b"{}"))
                return self.send(200, {"ok": True})
            if path == "/_fake/firewall" and method == "POST":
                # a rule as an earlier run would have left it
                fw = json.loads(raw)
                project = fw.pop("project")
                fw.update({"kind": "compute#firewall",
                           "id": str(secrets.randbits(63)),
                           "creationTimestamp": rfc3339(now())})
                FIREWALLS[(project, fw["name"])] = fw
                return self.send(200, {"ok": True})
            if path == "/_fake/reachable":
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                return self.send(200, reachable(
                    q["from"][0], q["to"][0], q.get("protocol", ["tcp"])[0],
                    int(q["port"][0])))
            if path == "/_fake/state":
                return self.send(200, {
                    "instances": sorted("%s/%s" % (k[1], k[2]) for k in INSTANCES),
                    "instance_bodies": [
                        {k: v for k, v in i.items() if not k.startswith("_")}
                        for i in INSTANCES.values()],
                    "firewalls": sorted(k[1] for k in FIREWALLS),
                    "firewall_bodies": list(FIREWALLS.values()),
                    "firewall_history": FIREWALL_HISTORY,
                    "tokens": sorted(TOKENS),
                    "counts": COUNTS,
                    "times": TIMES,
                })
        self.send(404, error_body(404, "no such control", "notFound"))

    # ---- OAuth ----

    def issue(self):
        tok = "ya29.fake-" + secrets.token_urlsafe(32)
        with LOCK:
            TOKENS.add(tok)
            COUNTS["tokens"] += 1
        self.send(200, {"access_token": tok, "expires_in": CONF["token_expires"],
                        "token_type": "Bearer"})

    def token(self, raw):
        form = urllib.parse.parse_qs(raw.decode())
        grant = form.get("grant_type", [""])[0]
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            why = check_jwt(form.get("assertion", [""])[0],
                            "http://%s/token" % self.headers.get("Host"))
            if why:
                return self.send(400, {"error": "invalid_grant",
                                       "error_description": why})
            return self.issue()
        if grant == "refresh_token":
            want = ARGS.refresh_token
            if not want or form.get("refresh_token", [""])[0] != want:
                return self.send(400, {"error": "invalid_grant",
                                       "error_description": "Bad Request"})
            return self.issue()
        self.send(400, {"error": "unsupported_grant_type",
                        "error_description": "Invalid grant_type: " + grant})

    def metadata_token(self):
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.send(403, {"error": "Missing Metadata-Flavor:Google header"})
        self.issue()

    # ---- Compute Engine ----

    def compute(self, method, path, query, raw):
        auth = self.headers.get("Authorization", "")
        with LOCK:
            COUNTS["requests"] += 1
            if TIMES["first_request"] is None:
                TIMES["first_request"] = now()
            ok = auth.startswith("Bearer ") and auth[7:] in TOKENS
            burst = CONF.get("burst")
            if ok and burst and burst.get("count", 0) > 0:
                burst["count"] -= 1
                COUNTS["faults_served"] += 1
                st = burst.get("status", 429)
                if st == 429:
                    return self.send(429, error_body(
                        429, "Rate Limit Exceeded", "rateLimitExceeded",
                        "usageLimits"))
                return self.send(st, error_body(
                    st, "The service is currently unavailable.", "backendError"))
        if not ok:
            return self.send(401, error_body(
                401, "Request is missing required authentication credential. "
                "Expected OAuth 2 access token.", "required"))
        parts = path.split("/")
        if len(parts) < 2 or parts[0] != "projects":
            return self.send(404, error_body(404, "not found", "notFound"))
        project = parts[1]
        rest = parts[2:]
        with LOCK:
            if rest[:1] == ["zones"] and len(rest) >= 3:
                zone = rest[1]
                if rest[2] == "instances":
                    return self.instances(method, project, zone, rest[3:], query, raw)
                if rest[2] == "operations" and len(rest) >= 4:
                    return self.operation(method, rest[3], rest[4:])
            if rest == ["aggregated", "instances"] and method == "GET":
                return self.aggregated(project, query)
            if rest[:2] == ["global", "firewalls"]:
                return self.firewalls(method, project, rest[2:], raw)
            if rest[:2] == ["global", "operations"] and len(rest) >= 3:
                return self.operation(method, rest[2], rest[3:])
        self.send(404, error_body(404, "not found", "notFound"))

    def operation(self, method, name, tail):
        op = OPERATIONS.get(name)
        if not op:
            return self.send(404, error_body(
                404, "The resource '%s' was not found" % name, "notFound"))
        if tail == ["wait"] and method == "POST":
            # wait: until DONE, or about two minutes (then answers as is)
            end = now() + 120
            while True:
                advance(op)
                if op["_done"] or now() >= end:
                    break
                LOCK.release()
                try:
                    time.sleep(0.02)
                finally:
                    LOCK.acquire()
            return self.send(200, public(op))
        if not tail and method == "GET":
            advance(op)
            return self.send(200, public(op))
        self.send(404, error_body(404, "not found", "notFound"))

    def not_found(self, what):
        self.send(404, error_body(404, "The resource '%s' was not found" % what,
                                  "notFound"))

    def instances(self, method, project, zone, rest, query, raw):
        base = "projects/%s/zones/%s/instances" % (project, zone)
        if not rest and method == "POST":
            return self.insert(project, zone, json.loads(raw or b"{}"))
        if not rest and method == "GET":
            items = [pub_instance(i) for k, i in INSTANCES.items()
                     if k[0] == project and k[1] == zone]
            return self.send(200, {"kind": "compute#instanceList", "items": items,
                                   "selfLink": base_url(self) + base})
        name = rest[0]
        key = (project, zone, name)
        inst = INSTANCES.get(key)
        if len(rest) == 1 and method == "GET":
            if not inst:
                return self.not_found(base + "/" + name)
            return self.send(200, pub_instance(inst))
        if len(rest) == 1 and method == "DELETE":
            if not inst:
                return self.not_found(base + "/" + name)
            inst["status"] = "STOPPING"

            def gone(_op, key=key):
                INSTANCES.pop(key, None)
                COUNTS["deletes"] += 1
            op = new_operation(self, project, zone, "delete", base + "/" + name, gone)
            return self.send(200, public(op))
        if rest[1:] == ["getGuestAttributes"] and method == "GET":
            if not inst:
                return self.not_found(base + "/" + name)
            qp = query.get("queryPath", [""])[0]
            booted = (inst["status"] == "RUNNING" and not inst["_never_boot"] and
                      now() - inst["_running_since"] >= CONF["boot_delay"])
            if not booted or not qp.startswith("hostkeys"):
                return self.send(404, error_body(
                    404, "The resource 'hostkeys/' of instance '%s' was not found"
                    % name, "notFound"))
            TIMES["last_booted"] = now()
            return self.send(200, {
                "kind": "compute#guestAttributes",
                "queryPath": qp,
                "selfLink": base_url(self) + base + "/" + name + "/getGuestAttributes",
                "queryValue": {"items": [{"namespace": "hostkeys",
                                          "key": "ssh-ed25519",
                                          "value": inst["_hostkey"]}]}})
        self.send(404, error_body(404, "not found", "notFound"))

    def insert(self, project, zone, body):
        name = body.get("name", "")
        base = "projects/%s/zones/%s/instances" % (project, zone)
        if not re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", name):
            return self.send(400, error_body(
                400, "Invalid value for field 'resource.name': '%s'. Must be a "
                "match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'" % name,
                "invalid"))
        for field in ("machineType", "disks", "networkInterfaces"):
            if field not in body:
                return self.send(400, error_body(
                    400, "Invalid value for field 'resource.%s'" % field, "invalid"))
        if (project, zone, name) in INSTANCES:
            return self.send(409, error_body(
                409, "The resource '%s/%s' already exists" % (base, name),
                "alreadyExists"))
        if CONF["quota"]:
            return self.send(403, error_body(
                403, "Quota 'CPUS' exceeded.  Limit: 8.0 in region %s."
                % zone.rsplit("-", 1)[0], "quotaExceeded", "usageLimits"))
        COUNTS["inserts"] += 1
        sched = body.get("scheduling", {})
        ttl = None
        if sched.get("instanceTerminationAction") == "DELETE" and \
                "maxRunDuration" in sched:
            ttl = int(sched["maxRunDuration"]["seconds"])
        ip = NEXT_IP[0]
        NEXT_IP[0] += 1
        real = HOSTS.pop(0) if HOSTS else None
        inst = dict(body)
        inst.update({
            "kind": "compute#instance",
            "id": str(secrets.randbits(63)),
            "status": "PROVISIONING",
            "zone": base_url(self) + "projects/%s/zones/%s" % (project, zone),
            "selfLink": base_url(self) + base + "/" + name,
            "creationTimestamp": rfc3339(now()),
            "_ttl": ttl,
            "_running_since": None,
            "_never_boot": CONF["never_boot"],
            "_hostkey": real["hostkey"] if real else fake_hostkey(),
        })
        nis = inst.get("networkInterfaces") or [{}]
        nis[0] = dict(nis[0])
        nis[0]["networkIP"] = real["ip"] if real else \
            "10.128.%d.%d" % (ip // 250, ip % 250 + 2)
        if nis[0].get("accessConfigs"):
            ac = dict(nis[0]["accessConfigs"][0])
            ac["natIP"] = real["ip"] if real else "203.0.113.%d" % (ip % 250 + 2)
            nis[0]["accessConfigs"] = [ac]
        inst["networkInterfaces"] = nis
        key = (project, zone, name)
        INSTANCES[key] = inst
        error = None
        if zone in CONF["capacity_zones"]:
            error = ("ZONE_RESOURCE_POOL_EXHAUSTED",
                     "The zone 'projects/%s/zones/%s' does not have enough "
                     "resources available to fulfill the request.  Try a "
                     "different zone, or try again later." % (project, zone))
        elif CONF["fail_ops"]:
            error = ("INTERNAL_ERROR", "Internal error. Please try again or "
                     "contact Google Support.")

        def done(_op, key=key, error=error):
            i = INSTANCES.get(key)
            if not i:
                return
            if error and error[0].startswith("ZONE_RESOURCE"):
                INSTANCES.pop(key, None)
            elif error:
                i["status"] = "TERMINATED"   # failed midway: left for deletion
            elif not i["_never_boot"]:
                i["status"] = "RUNNING"
                i["_running_since"] = now()
            else:
                i["status"] = "STAGING"
        op = new_operation(self, project, zone, "insert", base + "/" + name,
                           done, error)
        self.send(200, public(op))

    def aggregated(self, project, query):
        flt = query.get("filter", [""])[0]
        m = re.fullmatch(r'\s*labels\.([-a-z0-9_]+)\s*=\s*"?([-a-z0-9_]*)"?\s*', flt)
        items = {}
        for (p, z, _n), inst in INSTANCES.items():
            if p != project:
                continue
            if m and inst.get("labels", {}).get(m.group(1)) != m.group(2):
                continue
            items.setdefault("zones/" + z, {"instances": []})["instances"].append(
                pub_instance(inst))
        self.send(200, {"kind": "compute#instanceAggregatedList", "items": items})

    def firewalls(self, method, project, rest, raw):
        base = "projects/%s/global/firewalls" % project
        if not rest and method == "POST":
            body = json.loads(raw or b"{}")
            name = body.get("name", "")
            if (project, name) in FIREWALLS:
                return self.send(409, error_body(
                    409, "The resource '%s/%s' already exists" % (base, name),
                    "alreadyExists"))
            if not body.get("allowed") and not body.get("denied"):
                return self.send(400, error_body(
                    400, "Invalid value for field 'resource.allowed'", "invalid"))
            fw = dict(body)
            fw.update({"kind": "compute#firewall", "id": str(secrets.randbits(63)),
                       "selfLink": base_url(self) + base + "/" + name,
                       "creationTimestamp": rfc3339(now())})

            def made(_op, key=(project, name), fw=fw):
                FIREWALLS[key] = fw
                FIREWALL_HISTORY.append(dict(fw, _at=now()))
            op = new_operation(self, project, None, "insert", base + "/" + name, made)
            return self.send(200, public(op))
        if not rest and method == "GET":
            return self.send(200, {"kind": "compute#firewallList",
                                   "items": [f for k, f in FIREWALLS.items()
                                             if k[0] == project]})
        name = rest[0]
        fw = FIREWALLS.get((project, name))
        if not fw:
            return self.not_found(base + "/" + name)
        if method == "GET":
            return self.send(200, fw)
        if method == "PATCH":
            # JSON merge patch (RFC 7396): the fields the body names are
            # replaced, arrays whole; name and network cannot change
            body = json.loads(raw or b"{}")
            for field in ("name", "network"):
                if field in body and body[field] != fw.get(field):
                    return self.send(400, error_body(
                        400, "Invalid value for field 'resource.%s': '%s'. "
                        "Cannot be changed." % (field, body[field]), "invalid"))
            merged = merge_patch(fw, body)
            if not merged.get("allowed") and not merged.get("denied"):
                return self.send(400, error_body(
                    400, "Invalid value for field 'resource.allowed'", "invalid"))

            def patched(_op, key=(project, name), body=body):
                cur = FIREWALLS.get(key)
                if cur is not None:
                    FIREWALLS[key] = merge_patch(cur, body)
                    FIREWALL_HISTORY.append(dict(FIREWALLS[key], _at=now()))
            op = new_operation(self, project, None, "patch", base + "/" + name,
                               patched)
            return self.send(200, public(op))
        if method == "DELETE":
            def gone(_op, key=(project, name)):
                FIREWALLS.pop(key, None)
            op = new_operation(self, project, None, "delete", base + "/" + name, gone)
            return self.send(200, public(op))
        self.send(404, error_body(404, "not found", "notFound"))


def merge_patch(target, patch):
    """RFC 7396, as Compute Engine's patch methods apply it."""
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_patch(out[k], v)
        else:
            out[k] = v
    return out


def ip_in(ip, cidr):
    import ipaddress
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)


def port_in(port, spec):
    lo, _, hi = spec.partition("-")
    return int(lo) <= port <= int(hi or lo)


def reachable(src, dst, protocol, port):
    """Whether a connection from address src to dst's protocol/port gets
    through the project's ingress rules, as Compute Engine decides it (the
    implied rule denies every ingress that no enabled rule allows).  src
    may be any address; dst must be an instance's.  Call with LOCK held."""
    def inst_at(ip):
        for (p, _z, _n), i in INSTANCES.items():
            for ni in i.get("networkInterfaces", []):
                nat = [a.get("natIP") for a in ni.get("accessConfigs", [])]
                if ni.get("networkIP") == ip or ip in nat:
                    return p, i
        return None, None
    project, target = inst_at(dst)
    if not target:
        return {"reachable": False, "why": "no instance at %s" % dst}
    _sp, sender = inst_at(src)
    ttags = set(target.get("tags", {}).get("items", []))
    stags = set(sender.get("tags", {}).get("items", [])) if sender else set()
    for (p, name), fw in sorted(FIREWALLS.items()):
        if p != project or fw.get("disabled") or \
                fw.get("direction", "INGRESS") != "INGRESS":
            continue
        if fw.get("targetTags") and not ttags & set(fw["targetTags"]):
            continue
        src_ok = bool(stags & set(fw.get("sourceTags", []))) or any(
            ip_in(src, c) for c in fw.get("sourceRanges", []))
        if not src_ok:
            continue
        for a in fw.get("allowed", []):
            if a.get("IPProtocol") not in (protocol, "all"):
                continue
            if "ports" not in a or any(port_in(port, x) for x in a["ports"]):
                return {"reachable": True, "rule": name}
    return {"reachable": False, "why": "no enabled rule allows it"}


def pub_instance(inst):
    return {k: v for k, v in inst.items() if not k.startswith("_")}


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def check_jwt(assertion, token_uri):
    """Why the JWT is refused, or None: RS256 signature by --pubkey, claims."""
    try:
        h64, c64, s64 = assertion.split(".")
        header = json.loads(b64url_decode(h64))
        claims = json.loads(b64url_decode(c64))
        sig = b64url_decode(s64)
    except (ValueError, json.JSONDecodeError):
        return "Invalid JWT: cannot parse"
    if header.get("alg") != "RS256":
        return "Invalid JWT: alg must be RS256"
    for c in ("iss", "scope", "aud", "iat", "exp"):
        if c not in claims:
            return "Invalid JWT: no %s claim" % c
    if claims["aud"] != token_uri:
        return "Invalid JWT: aud is not %s" % token_uri
    t = now()
    if not claims["iat"] - 300 <= t <= claims["exp"] + 300 or \
            claims["exp"] - claims["iat"] > 3600:
        return "Invalid JWT: Token must be a short-lived token (60 minutes) " \
               "and in a reasonable timeframe."
    with tempfile.NamedTemporaryFile() as f:
        f.write(sig)
        f.flush()
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", ARGS.pubkey,
                            "-signature", f.name],
                           input=("%s.%s" % (h64, c64)).encode(),
                           capture_output=True)
    if r.returncode != 0:
        return "Invalid JWT Signature."
    return None


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pubkey", help="PEM public key of the test service account")
    ap.add_argument("--refresh-token", help="the refresh token the fake accepts")
    ap.add_argument("--op-latency", type=float, default=0.3)
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--hosts", help="a known_hosts file of real test hosts "
                    "(tests/lib/hosts.sh): instances take their address and "
                    "host key, in turn")
    ap.add_argument("--log", action="store_true")
    ARGS = ap.parse_args()
    CONF["op_latency"] = ARGS.op_latency
    CONF["time_scale"] = ARGS.time_scale
    if ARGS.hosts:
        with open(ARGS.hosts) as f:
            for line in f:
                w = line.split()
                if len(w) >= 3 and w[1] == "ssh-ed25519":
                    HOSTS.append({"ip": w[0].strip("[]").split("]:")[0],
                                  "hostkey": w[2]})
    # a listen backlog for many clients at once (the default, 5, drops
    # connections that then wait a second for their SYN to be sent again)
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=reaper, daemon=True).start()
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
