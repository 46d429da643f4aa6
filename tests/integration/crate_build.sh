# HydroflowCrate services built by hydro with cargo: tests/crates/relay (only
# crates Debian packages, built offline from /usr/share/cargo/registry), run
# between two of hydro's nodes and stopped; an up-to-date crate does not run
# cargo; a touched file does not rebuild, a changed byte does; a compile
# error shows cargo's diagnostic and names the service; a standin wins.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"
. "$TOP/tests/python/lib.sh"
. "$TOP/tests/integration/package/lib.sh"

REAL_CARGO=$(command -v "${CARGO:-cargo}")
if [ -z "$REAL_CARGO" ] || ! ls -d /usr/share/cargo/registry/serde_json-1.* >/dev/null 2>&1; then
	echo "ok - crate_build: hydro builds crates with cargo # SKIP needs cargo and librust-serde-json-dev"
	t_done
fi

# a cargo that counts its builds
pkg_cargo "hydro builds crates with cargo"
builds() { pkg_builds; }

cp -r "$TOP/tests/crates/relay" "$W/relay"
rm -rf "$W/relay/target" "$W/relay/Cargo.lock"
cat >"$W/relay.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "source", "30"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "relay", "kind": "crate", "on": "box", "src": "relay"},
  {"name": "sink", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "--until-complete", "sink", "30"]}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.in"}]}
JSON

t_case "plan says the crate would be built, and why"
t_run "$HYDRO" plan "$W/relay.json"
t_expect_rc 0
t_expect_out "build       crate relay ('relay'): never built"
t_expect_out "1 of 1 crate to build"
[ "$(builds)" = 0 ] || t_fail "plan ran cargo build"
t_end

t_case "hydro build builds it offline, into .hydro/target"
t_run "$HYDRO" -v build "$W/relay.json"
t_expect_rc 0
grep -q "cargo build --profile release.*--offline" "$T_TMP/out" "$T_TMP/err" ||
	t_fail "-v does not show the cargo command: $(cat "$T_TMP/err")"
[ "$(builds)" = 1 ] || t_fail "cargo build ran $(builds) times, not once"
[ -x "$W/.hydro/target/release/relay" ] || t_fail "no program in .hydro/target/release"
t_end

t_case "it runs wired between two nodes, and stops"
"$HYDRO" run "$W/relay.json" >"$T_TMP/out" 2>"$T_TMP/err" &
hp=$!
l_wait "grep -q 'sink  | ok 30' '$T_TMP/out'" 300 || t_fail "never saw 'sink | ok 30': $(tail -5 "$T_TMP/err")"
kill -INT $hp
l_wait "! kill -0 $hp" 100 || { t_fail "hydro did not end"; kill -9 $hp; }
wait $hp
rc=$?
t_expect_rc 130
t_expect_err "relay: stopped"
[ "$(builds)" = 1 ] || t_fail "the run built the crate again"
l_expect_clean run
t_end

t_case "a second build does not run cargo"
t_run "$HYDRO" build "$W/relay.json"
t_expect_rc 0
grep -q "2 tasks up to date" "$T_TMP/out" "$T_TMP/err" || t_fail "not up to date: $(cat "$T_TMP/err")"
[ "$(builds)" = 1 ] || t_fail "cargo build ran again"
t_run "$HYDRO" plan --json "$W/relay.json"
t_expect_rc 0
$PY -c 'import json, sys
plan = json.load(open(sys.argv[1]))["plan"]
c = [p for p in plan if p.get("crate") == "relay"]
assert len(c) == 1 and c[0]["services"] == ["relay"] and not c[0]["run"], plan
assert c[0]["target"] == "x86_64-unknown-linux-gnu" and ".tar." in c[0]["package"], plan' "$T_TMP/out" ||
	t_fail "plan --json: $(cat "$T_TMP/out")"
t_end

t_case "a Python config's HydroflowCrate is the same crate, up to date"
cat >"$W/relay.hydro.py" <<'PY'
from hydro import Deployment

async def main():
    d = Deployment()
    box = d.Localhost()
    d.HydroflowCrate(src="relay", on=box, profile="release")
    await d.deploy()
PY
t_run "$HYDRO" plan "$W/relay.hydro.py"
t_expect_rc 0
t_expect_out "up to date  crate relay"
t_run "$HYDRO" build "$W/relay.hydro.py"
t_expect_rc 0
[ "$(builds)" = 1 ] || t_fail "cargo build ran for the Python config"
t_end

t_case "a touched source does not rebuild"
touch "$W/relay/src/main.rs" "$W/relay/Cargo.toml"
t_run "$HYDRO" plan "$W/relay.json"
t_expect_out "up to date  crate relay"
t_run "$HYDRO" build "$W/relay.json"
t_expect_rc 0
[ "$(builds)" = 1 ] || t_fail "cargo build ran after a touch"
t_end

t_case "a changed byte rebuilds, and plan says which file"
sed -i 's/relay: stopped/relay: Stopped/' "$W/relay/src/main.rs"
t_run "$HYDRO" plan "$W/relay.json"
t_expect_out "crate relay ('relay'): input 'relay/src/main.rs' changed"
t_run "$HYDRO" build "$W/relay.json"
t_expect_rc 0
[ "$(builds)" = 2 ] || t_fail "cargo build ran $(builds) times, not twice"
t_end

t_case "a compile error: cargo's diagnostic, the service named, exit 1, nothing running"
printf 'fn broken() -> u32 { "not a number" }\n' >>"$W/relay/src/main.rs"
t_run "$HYDRO" run "$W/relay.json"
t_expect_rc 1
t_expect_err "error[E0308]: mismatched types"
t_expect_err "src/main.rs"
t_expect_err "cargo build of crate 'relay' for service 'relay' failed"
if grep -q "sink  |\|src   |" "$T_TMP/out"; then t_fail "services were launched"; fi
l_expect_clean compile-error
t_end

t_case "services built from one crate share one build"
sed -i '$d' "$W/relay/src/main.rs"
sed 's/"connections": .*/"connections": []}/; s/{"name": "relay", "kind": "crate", "on": "box", "src": "relay"}/&, {"name": "relay2", "kind": "crate", "on": "box", "src": "relay"}/' \
	"$W/relay.json" >"$W/two.json"
t_run "$HYDRO" plan "$W/two.json"
t_expect_out "crate relay ('relay', 'relay2')"
t_expect_out "1 of 1 crate to build"
t_end

t_case "a standin wins over building"
: >"$T_TMP/cargo.log"
sed 's/"src": "relay"}/"src": "relay", "standin": ["true"]}/' "$W/relay.json" >"$W/standin.json"
t_run "$HYDRO" build "$W/standin.json"
t_expect_rc 0
[ "$(builds)" = 0 ] || t_fail "cargo build ran for a service with a standin"
sed 's/profile="release")/profile="release", standin=["true"])/' "$W/relay.hydro.py" \
	>"$W/standin.hydro.py"
t_run "$HYDRO" plan "$W/standin.hydro.py"
t_expect_rc 0
t_expect_out "launch relay on local1 (local, stdin/stdout protocol): true"
t_run "$HYDRO" build "$W/standin.hydro.py"
t_expect_rc 0
[ "$(builds)" = 0 ] || t_fail "cargo build ran for a Python config's crate with a standin"
t_end

t_case "a crate directory without Cargo.toml is a clear error"
mkdir "$W/empty"
sed 's/"src": "relay"}/"src": "empty"}/' "$W/relay.json" >"$W/bad.json"
t_run "$HYDRO" build "$W/bad.json"
t_expect_rc 1
t_expect_err "service 'relay': no Cargo.toml in"
t_end

t_case "a path dependency's sources are in the key"
mkdir -p "$W/helper/src"
printf '[package]\nname = "helper"\nversion = "0.1.0"\nedition = "2021"\n' >"$W/helper/Cargo.toml"
printf 'pub fn n() -> u32 { 1 }\n' >"$W/helper/src/lib.rs"
sed -i 's/^serde_json = "1"$/&\nhelper = { path = "..\/helper" }/' "$W/relay/Cargo.toml"
t_run "$HYDRO" build "$W/relay.json"
t_expect_rc 0
t_run "$HYDRO" plan "$W/relay.json"
t_expect_out "up to date  crate relay"
printf 'pub fn n() -> u32 { 2 }\n' >"$W/helper/src/lib.rs"
t_run "$HYDRO" plan "$W/relay.json"
t_expect_out "crate relay ('relay'): input 'helper/src/lib.rs' changed"
t_end

t_case "no cargo: a clear error that says what to do"
CARGO=$T_TMP/no-cargo t_run "$HYDRO" build "$W/relay.json"
t_expect_rc 1
t_expect_err "cannot run cargo"
t_end

t_done
