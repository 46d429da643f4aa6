# The crate of a .hf program, built by hand with cargo and run without hydro:
# the seed's echo server (examples/echo/src/echo_server.hf, verbatim) speaks
# the port protocol, answers each message at its sender's reply address,
# reports an undecodable frame with the port's name, and stops cleanly.
# The build shares build/cargo-target, where hydroflow is compiled once.
. "$TOP/tests/lib.sh"

if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hf_emit: compiled programs # SKIP no cargo"
	t_done
fi
HYDRO_RUST_DIR=$TOP/lang/rust
export HYDRO_RUST_DIR
EMIT=$BUILD/tests/unit/test_hf_emit
TARGET=$TOP/build/cargo-target

t_case "the seed's echo server: emitted, built, run"
t_run "$EMIT" emit "$TOP/examples/echo/src/echo_server.hf" "$T_TMP/server" "$TOP/examples/echo"
t_expect_rc 0
(cd "$T_TMP/server" && nice "${CARGO:-cargo}" build --quiet --target-dir "$TARGET" \
	--message-format=json >"$T_TMP/cargo.json" 2>"$T_TMP/cargo.err")
[ $? -eq 0 ] || t_fail "cargo build: $(tail -20 "$T_TMP/cargo.err")"
exe=$(grep '"executable":"' "$T_TMP/cargo.json" | sed 's/.*"executable":"\([^"]*\)".*/\1/' | tail -1)
[ -x "$exe" ] || t_fail "no executable in cargo's report"
t_run python3 "$TOP/tests/integration/hf/drive.py" "$exe" echo 5
t_expect_rc 0
t_expect_out "echo ping 0"
t_expect_out "echo ping 4"
t_expect_out "exit 0"
t_expect_out 'Got EchoMsg { payload: "ping 3", ts: 2026-01-01T00:00:00Z } from 127.0.0.1:'
t_expect_err "server: port 'inbound': cannot decode a message of 3 bytes as \`(EchoMsg, SocketAddr)\`"
t_expect_err "server: port 'inbound': 1 message(s) could not be decoded"
t_end

t_case "without a control channel: the handshake on stdin and stdout, as Hydro Deploy speaks it"
t_run python3 "$TOP/tests/integration/hf/drive.py" "$exe" stdio 3
t_expect_rc 0
t_expect_out "echo ping 2"
t_expect_out "exit 0"
t_end

t_done
