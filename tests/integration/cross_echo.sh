# ARM on one machine, end to end: the echo example with its server on a
# Localhost(target="aarch64-unknown-linux-gnu") and its client native.  The
# server is cross-built with Debian's toolchain into the cross twin of
# build/cargo-target (hydroflow for aarch64 is compiled there once: tens of
# minutes cold on a busy machine) and runs under qemu-aarch64; the script
# gets ten echoes.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

ARCH=aarch64-unknown-linux-gnu
if [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/$ARCH/lib ] ||
   ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null ||
   ! command -v "${CARGO:-cargo}" >/dev/null; then
	echo "ok - cross_echo: the echo server on aarch64 # SKIP needs contrib/install-deps.sh --cross"
	t_done
fi
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR
EX=$T_TMP/echo
cp -r "$TOP/examples/echo" "$EX"
sed -i "s/server_machine = deployment.Localhost()/server_machine = deployment.Localhost(target=\"$ARCH\")/" \
	"$EX/echo.hydro.py"
# whatever a failed run left, hydro's own record removes
leftovers() { "$HYDRO" down "$EX" >/dev/null 2>&1; }
t_on_exit leftovers

t_case "the server is built for aarch64, the client for this machine"
t_run "$HYDRO" plan "$EX/echo.hydro.py"
t_expect_rc 0
t_expect_out "src/echo_server.hf --target $ARCH ('echo_server')"
t_expect_out "for x86_64-unknown-linux-gnu, package"
t_run timeout 3600 nice "$HYDRO" --color=never build "$EX/echo.hydro.py"
t_expect_rc 0
t_end

t_case "the ARM server answers the native client: ten echoes"
t_run timeout 120 "$HYDRO" --color=never run "$EX/echo.hydro.py"
t_expect_rc 0
n=$(grep -c 'Got EchoMsg { payload: "ping [0-9]*", ts: .* } from 127.0.0.1:[0-9]*$' "$T_TMP/out")
[ "$n" -ge 10 ] || t_fail "expected 10 echoes, got $n: $(head -c 800 "$T_TMP/out") $(tail -5 "$T_TMP/err")"
"$HYDRO" down --dry-run "$EX" >"$T_TMP/left" 2>&1
[ ! -s "$T_TMP/left" ] || t_fail "left running: $(cat "$T_TMP/left")"
t_end

t_case "'file' says the server's program is ARM aarch64"
t_run "$HYDRO" plan --json "$EX/echo.hydro.py"
pkg=$($PY -c 'import json, sys
plan = json.load(open(sys.argv[1]))["plan"]
print(next(p["package"] for p in plan if p.get("target") == "aarch64-unknown-linux-gnu"))' "$T_TMP/out")
[ -f "$pkg" ] || t_fail "no package for aarch64: $(cat "$T_TMP/out")"
mkdir "$T_TMP/x" && tar -xf "$pkg" -C "$T_TMP/x"
file "$T_TMP"/x/bin/* | grep -q "ARM aarch64" || t_fail "not ARM: $(file "$T_TMP"/x/bin/*)"
grep -q "\"target\":\"$ARCH\"" "$T_TMP/x/hydro-manifest.json" || t_fail "manifest: $(cat "$T_TMP/x/hydro-manifest.json")"
t_end

t_done
