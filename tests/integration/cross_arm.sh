# Targets: a crate (tests/crates/relay, built offline) on a Localhost with
# target aarch64-unknown-linux-gnu is cross-built with Debian's toolchain,
# runs under qemu-aarch64 wired between two native nodes, and is packaged;
# the same crate for two targets is built twice, once per target however
# many hosts share it, and a second build builds nothing; build --target;
# an unknown target and a missing toolchain are errors before any build.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"
. "$TOP/tests/python/lib.sh"

ARCH=aarch64-unknown-linux-gnu
if [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/$ARCH/lib ] ||
   ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null ||
   ! command -v "${CARGO:-cargo}" >/dev/null ||
   ! ls -d /usr/share/cargo/registry/serde_json-1.* >/dev/null 2>&1; then
	echo "ok - cross_arm: aarch64 on this machine # SKIP needs contrib/install-deps.sh --cross"
	t_done
fi

# Debian's cargo, counting its builds (rustc beside it, as Debian has it)
mkdir -p "$T_TMP/deb"
cat >"$T_TMP/deb/cargo" <<SH
#!/bin/sh
[ "\$1" = build ] && echo "\$*" >>"$T_TMP/cross.log"
exec nice /usr/bin/cargo "\$@"
SH
chmod +x "$T_TMP/deb/cargo"
ln -s /usr/bin/rustc "$T_TMP/deb/rustc"
: >"$T_TMP/cross.log"
HYDRO_DEBIAN_RUST=$T_TMP/deb
HYDRO_CARGO_OFFLINE=1
export HYDRO_DEBIAN_RUST HYDRO_CARGO_OFFLINE
unset HYDRO_CARGO_REGISTRY
# the shared target directories: build/cargo-target and, beside it, its
# cross twin (build/cargo-target-aarch64 resolved), compiled once for all runs
if [ -d "$TOP/build/cargo-target" ]; then
	CARGO_TARGET_DIR=$TOP/build/cargo-target
	export CARGO_TARGET_DIR
else
	unset CARGO_TARGET_DIR
fi
cross_builds() { wc -l <"$T_TMP/cross.log" | tr -d ' '; }

cp -r "$TOP/tests/crates/relay" "$W/relay"
rm -rf "$W/relay/target" "$W/relay/Cargo.lock"
cat >"$W/arm.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}, {"name": "arm", "settings": {"target": "$ARCH"}}],
 "services": [
  {"name": "src", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "source", "30"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "relay", "kind": "crate", "on": "arm", "src": "relay"},
  {"name": "sink", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "--until-complete", "sink", "30"]}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.in"}]}
JSON

t_case "plan names the target and the package to make"
t_run "$HYDRO" plan "$W/arm.json"
t_expect_rc 0
t_expect_out "crate relay --target $ARCH ('relay')"
t_expect_out "for $ARCH, package to make: its program is to be built"
[ "$(cross_builds)" = 0 ] || t_fail "plan ran cargo build"
t_end

t_case "the crate is cross-built with Debian's cargo, for aarch64"
t_run "$HYDRO" -v build "$W/arm.json"
t_expect_rc 0
grep -q -- "--target $ARCH" "$T_TMP/cross.log" || t_fail "cargo was not given --target: $(cat "$T_TMP/cross.log")"
grep -q "linker=.*aarch64-linux-gnu-gcc" "$T_TMP/cross.log" || t_fail "no cross linker: $(cat "$T_TMP/cross.log")"
[ "$(cross_builds)" = 1 ] || t_fail "cargo build ran $(cross_builds) times, not once"
exe=$(find "$(realpath "${CARGO_TARGET_DIR:-$W/.hydro/target}")-aarch64/$ARCH/release" -maxdepth 1 -name relay -type f)
[ -n "$exe" ] || t_fail "no aarch64 program"
file "$exe" | grep -q "ARM aarch64" || t_fail "not an ARM program: $(file "$exe")"
t_end

t_case "its package holds the program and a manifest for aarch64"
pkg=$(ls "$W"/.hydro/packages/*.tar.* 2>/dev/null)
[ "$(echo "$pkg" | wc -w)" = 1 ] || t_fail "not one package: $pkg"
tar -xOf "$pkg" hydro-manifest.json >"$T_TMP/manifest" 2>/dev/null || t_fail "no manifest in '$pkg'"
grep -q "\"target\":\"$ARCH\"" "$T_TMP/manifest" || t_fail "manifest: $(cat "$T_TMP/manifest")"
grep -q '"program":"bin/relay"' "$T_TMP/manifest" || t_fail "manifest: $(cat "$T_TMP/manifest")"
case $(basename "$pkg") in "$(sha256sum "$pkg" | cut -c1-64)".tar.*) ;;
*) t_fail "the package is not named by its hash: $pkg" ;; esac
t_run "$HYDRO" plan "$W/arm.json"
t_expect_out "up to date  crate relay --target $ARCH"
t_expect_out "for $ARCH, package $pkg"
t_end

t_case "it runs under qemu-aarch64, wired between two native nodes"
"$HYDRO" run "$W/arm.json" >"$T_TMP/out" 2>"$T_TMP/err" &
hp=$!
l_wait "grep -q 'sink  | ok 30' '$T_TMP/out'" 600 || t_fail "never saw 'sink | ok 30': $(tail -5 "$T_TMP/err")"
kill -INT $hp
l_wait "! kill -0 $hp" 100 || { t_fail "hydro did not end"; kill -9 $hp; }
wait $hp
[ "$(cross_builds)" = 1 ] || t_fail "the run built the crate again"
l_expect_clean run
t_end

t_case "one crate on hosts of two targets: one build per target"
cat >"$W/two.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}, {"name": "arm1", "settings": {"target": "$ARCH"}},
  {"name": "arm2", "settings": {"target": "$ARCH"}}],
 "services": [
  {"name": "r1", "kind": "crate", "on": "arm1", "src": "relay"},
  {"name": "r2", "kind": "crate", "on": "arm2", "src": "relay"},
  {"name": "r3", "kind": "crate", "on": "box", "src": "relay"}
 ]}
JSON
t_run "$HYDRO" plan "$W/two.json"
t_expect_rc 0
t_expect_out "up to date  crate relay --target $ARCH ('r1', 'r2')"
t_expect_out "crate relay ('r3')"
t_expect_out "for x86_64-unknown-linux-gnu, package"
t_run "$HYDRO" build "$W/two.json"
t_expect_rc 0
[ "$(cross_builds)" = 1 ] || t_fail "the aarch64 build ran again"
[ "$(ls "$W"/.hydro/packages/*.tar.* | wc -l)" = 2 ] || t_fail "not two packages: $(ls "$W/.hydro/packages")"
t_run "$HYDRO" build "$W/two.json"
t_expect_rc 0
t_expect_err "nothing to do"
t_run "$HYDRO" plan --json "$W/two.json"
$PY -c 'import json, sys
plan = [p for p in json.load(open(sys.argv[1]))["plan"] if "crate" in p]
targets = sorted(p["target"] for p in plan)
assert targets == ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"], plan
assert all(p["package"] and not p["run"] for p in plan), plan' "$T_TMP/out" ||
	t_fail "plan --json: $(cat "$T_TMP/out")"
t_end

t_case "build --target builds for a target without such a host"
sed "s/\"settings\": {\"target\": \"$ARCH\"}/\"settings\": {}/" "$W/arm.json" >"$W/native.json"
t_run "$HYDRO" plan --target $ARCH "$W/native.json"
t_expect_out "up to date  crate relay --target $ARCH ('relay')"
t_run "$HYDRO" build --target $ARCH "$W/native.json"
t_expect_rc 0
[ "$(cross_builds)" = 1 ] || t_fail "cargo ran for an up-to-date target"
t_run "$HYDRO" build --target sparc-unknown-linux-gnu "$W/native.json"
t_expect_rc 1
t_expect_err "target 'sparc-unknown-linux-gnu' is not supported"
t_end

t_case "an unknown target is an error before any build"
sed "s/$ARCH/x86_64-unknown-linux-musl/" "$W/arm.json" >"$W/musl.json"
t_run "$HYDRO" build "$W/musl.json"
t_expect_rc 1
t_expect_err "target 'x86_64-unknown-linux-musl' is not supported (did you mean 'x86_64-unknown-linux-gnu'?)"
[ "$(cross_builds)" = 1 ] || t_fail "cargo ran"
t_end

t_case "a missing cross toolchain names what to install, before any build"
t_run env HYDRO_DEBIAN_RUST=/nonexistent RUSTC=/nonexistent "$HYDRO" build "$W/arm.json"
t_expect_rc 1
t_expect_err "cannot build for '$ARCH': this machine lacks its Rust standard library"
t_expect_err "apt-get install rustc-web cargo-web libstd-rust-web-dev:arm64"
t_end

t_case "a Python config's Localhost(target=...) is the same"
cat >"$W/arm.hydro.py" <<PY
from hydro import Deployment

async def main():
    d = Deployment()
    arm = d.Localhost(target="$ARCH")
    d.HydroflowCrate(src="relay", on=arm)
    await d.deploy()
PY
t_run "$HYDRO" plan "$W/arm.hydro.py"
t_expect_rc 0
t_expect_out "up to date  crate relay --target $ARCH"
t_end

t_done
