# Compiled .hf programs run by hydro, end to end: hydro's port semantics
# (fan-in, broadcast, reply addresses, Null ports, a 1 MiB message, a stop
# with messages in flight), params, rustc's errors on the .hf file, and a
# second build that has nothing to do.  The programs (tests/integration/hf/)
# build with the dev profile into build/cargo-target, shared by every test
# that compiles Rust, so hydroflow is compiled there once.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hf_run: compiled programs # SKIP no cargo"
	t_done
fi
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR
HYDRO_RUST_DIR=$TOP/lang/rust
export HYDRO_RUST_DIR
cp "$TOP"/tests/integration/hf/*.hf "$W/"

# a hydroflow service: name, program, args (a JSON list), ports (JSON)
svc() {
	printf '{"name": "%s", "kind": "hydroflow", "on": "box", "src": "%s", "profile": "dev", "args": %s, "ports": %s}' \
		"$1" "$2" "$3" "$4"
}
OUT_U64='[{"name": "out", "dir": "output", "type": "u64"}]'
IN_U64='[{"name": "inp", "dir": "input", "type": "u64"}]'

# write $W/$1.json from services ($2, comma-separated) and connections ($3)
spec() {
	printf '{"version": 1, "hosts": [{"name": "box"}],\n "services": [%s],\n "connections": [%s]}\n' \
		"$2" "$3" >"$W/$1.json"
}

# run $1 until its stdout has $2 lines matching $3, then Ctrl-C it
run_until() {
	"$HYDRO" --color=never run "$1" >"$T_TMP/out" 2>"$T_TMP/err" &
	hp=$!
	l_wait "[ \$(grep -c '$3' '$T_TMP/out') -ge $2 ]" 600 ||
		t_fail "saw $(grep -c "$3" "$T_TMP/out") of $2 lines '$3': $(tail -5 "$T_TMP/err")"
	kill -INT $hp
	l_wait "! kill -0 $hp" 300 || { t_fail "hydro did not end"; kill -9 $hp; }
	wait $hp
	rc=$?
}

t_case "fan-in: ten senders into one input"
s=$(svc sink sink.hf '["--n=100"]' "$IN_U64")
c=
for i in 0 1 2 3 4 5 6 7 8 9; do
	s="$s, $(svc "src$i" src.hf "[\"--id=$i\"]" "$OUT_U64")"
	c="$c${c:+, }{\"from\": \"src$i.out\", \"to\": \"sink.inp\"}"
done
spec fanin "$s" "$c"
t_run timeout 1800 nice "$HYDRO" --color=never build "$W/fanin.json"
t_expect_rc 0
run_until "$W/fanin.json" 1 "got 100 distinct"
t_expect_rc 130
l_expect_clean fanin
t_end

t_case "a second build runs no cargo"
t_run "$HYDRO" --color=never plan "$W/fanin.json"
t_expect_out "up to date  crate sink.hf --profile dev ('sink')"
# a cargo that logs its calls: the first build with it asks for its version
# (the toolchain is remembered per cargo), the second calls nothing
printf '#!/bin/sh\necho "$*" >>"%s"\nexec "%s" "$@"\n' "$T_TMP/cargo.log" \
	"$(command -v "${CARGO:-cargo}")" >"$T_TMP/cargo-spy"
chmod +x "$T_TMP/cargo-spy"
CARGO=$T_TMP/cargo-spy "$HYDRO" --color=never build "$W/fanin.json" >/dev/null 2>&1
: >"$T_TMP/cargo.log"
t_run env CARGO="$T_TMP/cargo-spy" "$HYDRO" --color=never build "$W/fanin.json"
t_expect_rc 0
t_expect_err "nothing to do"
[ -s "$T_TMP/cargo.log" ] && t_fail "cargo was called: $(cat "$T_TMP/cargo.log")"
t_end

t_case "broadcast: one output to ten inputs, every message to each"
s=$(svc src src.hf '[]' "$OUT_U64")
c=
for i in 0 1 2 3 4 5 6 7 8 9; do
	s="$s, $(svc "sink$i" sink.hf '[]' "$IN_U64")"
	c="$c${c:+, }{\"from\": \"src.out\", \"to\": \"sink$i.inp\"}"
done
spec bcast "$s" "$c"
run_until "$W/bcast.json" 10 "got 10 distinct"
t_expect_rc 130
for i in 0 1 2 3 4 5 6 7 8 9; do
	grep -q "^sink$i *| got 10 distinct" "$T_TMP/out" || t_fail "sink$i did not get all ten"
done
l_expect_clean bcast
t_end

t_case "reply addresses: three clients, each gets only its own echoes"
ADDR='(String, SocketAddr)'
s=$(svc server echo.hf '[]' "[{\"name\": \"inbound\", \"dir\": \"input\", \"type\": \"$ADDR\"}, {\"name\": \"outbound\", \"dir\": \"output\", \"type\": \"$ADDR\"}]")
c=
for i in 1 2 3; do
	s="$s, $(svc "client$i" client.hf "[\"--id=$i\"]" "[{\"name\": \"inbound\", \"dir\": \"input\", \"type\": \"$ADDR\"}, {\"name\": \"outbound\", \"dir\": \"output\", \"type\": \"String\"}]")"
	c="$c${c:+, }{\"from\": \"client$i.outbound\", \"to\": \"server.inbound\"}, {\"from\": \"server.outbound\", \"to\": \"client$i.inbound\"}"
done
spec reply "$s" "$c"
run_until "$W/reply.json" 15 "| echo re c"
t_expect_rc 130
for i in 1 2 3; do
	n=$(grep -c "^client$i *| echo re c$i m[0-4]\$" "$T_TMP/out")
	[ "$n" -eq 5 ] || t_fail "client$i got $n of its 5 echoes"
	grep "^client$i *|" "$T_TMP/out" | grep -v "re c$i " | grep -q . &&
		t_fail "client$i got another's echo: $(grep "^client$i *|" "$T_TMP/out")"
done
l_expect_clean reply
t_end

t_case "a Null input, and a 1 MiB message"
s="$(svc big big.hf '[]' "[{\"name\": \"unused\", \"dir\": \"input\", \"type\": \"(String, SocketAddr)\"}, {\"name\": \"out\", \"dir\": \"output\", \"type\": \"String\"}]")"
s="$s, $(svc len biglen.hf '[]' '[{"name": "inp", "dir": "input", "type": "String"}]')"
spec big "$s" '{"from": "big.out", "to": "len.inp"}'
run_until "$W/big.json" 1 "len 1048576"
t_expect_rc 130
grep -q "cannot decode" "$T_TMP/err" "$T_TMP/out" && t_fail "a message did not decode"
l_expect_clean big
t_end

t_case "one message and no traffic after it: written when the flow has nothing left to do"
s="$(svc one src.hf '["--n=1"]' "$OUT_U64"), $(svc sink sink.hf '["--n=1"]' "$IN_U64")"
spec one "$s" '{"from": "one.out", "to": "sink.inp"}'
run_until "$W/one.json" 1 "got 1 distinct"
t_expect_rc 130
l_expect_clean one
t_end

t_case "a burst of 200000 messages in one tick comes through whole"
s="$(svc burst src.hf '["--n=200000"]' "$OUT_U64"), $(svc sink sink.hf '["--n=200000"]' "$IN_U64")"
spec burst "$s" '{"from": "burst.out", "to": "sink.inp"}'
run_until "$W/burst.json" 1 "got 200000 distinct"
t_expect_rc 130
l_expect_clean burst
t_end

t_case "a stop with messages in flight delivers nothing half-written"
s="$(svc ticker ticker.hf '[]' '[{"name": "out", "dir": "output", "type": "String"}]')"
s="$s, $(svc len biglen.hf '[]' '[{"name": "inp", "dir": "input", "type": "String"}]')"
spec flight "$s" '{"from": "ticker.out", "to": "len.inp"}'
run_until "$W/flight.json" 20 "len 65536"
t_expect_rc 130
grep "^len *|" "$T_TMP/out" | grep -v "| len 65536\$" | grep -q . && t_fail "a partial message arrived"
grep -q "cannot decode\|panicked\|exited with" "$T_TMP/err" "$T_TMP/out" &&
	t_fail "$(grep "cannot decode\|panicked\|exited with" "$T_TMP/err" "$T_TMP/out")"
l_expect_clean flight
t_end

t_case "with a crate written for Hydro Deploy v0.10, both ways"
# compiled -> tests/compat/hydroflow_relay (hydroflow's own deploy side) -> compiled
s="$(svc src src.hf '["--n=50"]' "$OUT_U64")"
s="$s, {\"name\": \"relay\", \"kind\": \"crate\", \"on\": \"box\", \"src\": \"$TOP/tests/compat/hydroflow_relay\", \"profile\": \"dev\"}"
s="$s, $(svc sink sink.hf '["--n=50"]' "$IN_U64")"
spec relay "$s" '{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.inp"}'
t_run timeout 1800 nice "$HYDRO" --color=never build "$W/relay.json"
t_expect_rc 0
run_until "$W/relay.json" 1 "got 50 distinct"
t_expect_rc 130
l_expect_clean relay
t_end

t_case "a cargo too old for hydroflow 0.10 is named, with what to install"
printf '#!/bin/sh\necho "cargo 1.63.0"\n' >"$T_TMP/old-cargo"
chmod +x "$T_TMP/old-cargo"
t_run env CARGO="$T_TMP/old-cargo" "$HYDRO" --color=never build "$W/big.json"
t_expect_rc 1
t_expect_err "cargo 1.63.0 is too old for hydroflow 0.10, which needs Rust 1.85 or later"
t_expect_err "rustc-web and cargo-web"
t_end

t_case "a param that does not parse: an error naming the service, the param and the value"
spec param "$(svc sink sink.hf '["--n=lots"]' "$IN_U64")" ""
t_run timeout 120 "$HYDRO" --color=never run "$W/param.json"
[ "$rc" -ne 0 ] || t_fail "the run succeeded"
t_expect_err "sink: error: param 'n': cannot read 'lots' as \`usize\`"
l_expect_clean param
t_end

t_case "a closure type error is shown at its .hf line, with a caret"
spec typo "$(svc typo typo.hf '[]' '[{"name": "out", "dir": "output", "type": "u32"}]')" ""
t_run timeout 600 "$HYDRO" --color=never build "$W/typo.json"
t_expect_rc 1
t_expect_err "error[E0277]: cannot add \`&str\` to \`u32\`"
t_expect_err " --> $W/typo.hf:4:27"
t_expect_err "4 |         -> map(|x: u32| x + \"one\")"
t_expect_err "  |                           ^ no implementation for \`u32 + &str\`"
t_expect_err "cargo build of program 'typo.hf --profile dev' for service 'typo' failed"
grep -q "main.rs" "$T_TMP/err" && t_fail "generated code is named: $(grep main.rs "$T_TMP/err")"
t_end

t_done
