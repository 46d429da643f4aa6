# Vec<u8> messages, which hydro_runtime writes and reads whole rather than
# through bincode a byte at a time: the same bytes as bincode's
# (hydro_runtime's own unit tests, which compare them), and every length and
# byte arriving through hydroflow 0.10's deploy side
# (tests/compat/hydroflow_relay passes the frames on).  Dev profile, into
# build/cargo-target as the other tests that compile Rust.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hf_bytes: Vec<u8> messages # SKIP no cargo"
	t_done
fi
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
HYDRO_RUST_DIR=$TOP/lang/rust
export CARGO_TARGET_DIR HYDRO_CACHE_DIR HYDRO_RUST_DIR
cp "$TOP/tests/integration/hf/bytes_src.hf" "$TOP/tests/integration/hf/bytes_sink.hf" "$W/"

t_case "hydro_runtime's codec writes and reads what bincode does"
# a copy, so that cargo's test build writes no lock into the sources
cp -r "$TOP/lang/rust/hydro_runtime" "$T_TMP/rt"
cp "$TOP/lang/rust/Cargo.lock" "$T_TMP/rt/"
t_run timeout 1800 nice "${CARGO:-cargo}" test --offline --quiet --manifest-path "$T_TMP/rt/Cargo.toml" codec
t_expect_rc 0
t_expect_out "test result: ok. 2 passed"
t_end

t_case "Vec<u8> of every length, through hydroflow's deploy side, byte for byte"
ports() { printf '[{"name": "%s", "dir": "%s", "type": "Vec<u8>"}]' "$1" "$2"; }
cat >"$W/bytes.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "hydroflow", "on": "box", "src": "bytes_src.hf", "profile": "dev", "ports": $(ports out output)},
  {"name": "relay", "kind": "crate", "on": "box", "src": "$TOP/tests/compat/hydroflow_relay", "profile": "dev"},
  {"name": "sink", "kind": "hydroflow", "on": "box", "src": "bytes_sink.hf", "profile": "dev", "ports": $(ports inp input)}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.inp"}]}
JSON
t_run timeout 1800 nice "$HYDRO" --color=never build "$W/bytes.json"
t_expect_rc 0
"$HYDRO" --color=never run "$W/bytes.json" >"$T_TMP/out" 2>"$T_TMP/err" &
hp=$!
l_wait "[ \$(grep -c 'bytes [0-9]* ' '$T_TMP/out') -ge 6 ]" 600 ||
	t_fail "saw $(grep -c 'bytes' "$T_TMP/out") of 6 messages: $(tail -5 "$T_TMP/err")"
kill -INT $hp
l_wait "! kill -0 $hp" 300 || { t_fail "hydro did not end"; kill -9 $hp; }
wait $hp
for n in 0 1 7 1000 65536 1048576; do
	grep -q "bytes $n ok\$" "$T_TMP/out" || t_fail "no good message of $n bytes: $(grep bytes "$T_TMP/out")"
done
grep -q "bad\|cannot decode\|panicked" "$T_TMP/out" "$T_TMP/err" &&
	t_fail "$(grep "bad\|cannot decode\|panicked" "$T_TMP/out" "$T_TMP/err")"
l_expect_clean bytes
t_end
t_done
