#!/bin/sh
# hydro plan lists the uploads a run would make: one per (host, package)
# for the hosts that are not this machine, with the package's hash and size
# once it is made, each skipped if the host has it (which only connecting
# tells: the plan connects to no host).
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/package/lib.sh"

pkg_cargo "plan lists uploads"

W=$T_TMP/w
pkg_tiny "$W/tiny"
# two SSH hosts at an address of TEST-NET-1, which nothing answers: a plan
# that connected would fail, or wait for the timeout
cat >"$W/d.json" <<'JSON'
{"version": 1,
 "hosts": [{"name": "box", "backend": "local"},
           {"name": "far", "backend": "ssh",
            "settings": {"host": "192.0.2.1", "target": "x86_64-unknown-linux-gnu", "connect_timeout": "30"}},
           {"name": "farther", "backend": "ssh",
            "settings": {"host": "192.0.2.2", "target": "x86_64-unknown-linux-gnu", "connect_timeout": "30"}}],
 "services": [{"name": "a", "kind": "crate", "on": "far", "src": "tiny"},
              {"name": "b", "kind": "crate", "on": "far", "src": "tiny"},
              {"name": "c", "kind": "crate", "on": "farther", "src": "tiny"},
              {"name": "d", "kind": "crate", "on": "box", "src": "tiny"}]}
JSON

t_case "before the build: an upload per host and package, its package to make"
t_run timeout 20 "$HYDRO" plan "$W/d.json"
t_expect_rc 0
t_expect_out "  upload      to host 'far' ('a', 'b'): the package of tiny once made, skipped if the host has it"
t_expect_out "  upload      to host 'farther' ('c'): the package of tiny once made, skipped if the host has it"
t_expect_out "2 uploads to 2 hosts, each skipped where the host has the package"
grep -q "'d'" "$T_TMP/out" && grep "upload.*'d'" "$T_TMP/out" && t_fail "an upload to this machine"
[ "$(pkg_builds)" = 0 ] || t_fail "plan ran cargo build"
t_end

t_case "once built: each upload names the package's hash and size"
t_run "$HYDRO" build "$W/d.json"
t_expect_rc 0
pkg=$(ls "$W"/.hydro/packages/*.tar.*)
hash=$(basename "$pkg" | cut -c1-64)
size=$(stat -c %s "$pkg")
t_run timeout 20 "$HYDRO" plan "$W/d.json"
t_expect_rc 0
t_expect_out "  upload      to host 'far' ('a', 'b'): package $(echo "$hash" | cut -c1-12) ("
t_expect_out "), skipped if the host has it"
[ "$(grep -c '^  upload ' "$T_TMP/out")" = 2 ] || t_fail "uploads: $(cat "$T_TMP/out")"
t_end

t_case "plan --json: the uploads among the steps, whether they run unknown"
t_run timeout 20 "$HYDRO" plan --json "$W/d.json"
t_expect_rc 0
python3 -c '
import json, sys
plan = json.load(open(sys.argv[1]))["plan"]
ups = [p for p in plan if "upload" in p]
assert [u["upload"] for u in ups] == ["far", "farther"], ups
u = ups[0]
assert u["services"] == ["a", "b"] and u["crate"] == "tiny", u
assert u["sha256"] == sys.argv[2] and u["size"] == int(sys.argv[3]), u
assert u["package"].endswith(sys.argv[2] + ".tar.zst") or ".tar." in u["package"], u
assert u["run"] is None and "skipped" in u["why"], u
' "$T_TMP/out" "$hash" "$size" || t_fail "plan --json: $(cat "$T_TMP/out")"
t_end

t_done
