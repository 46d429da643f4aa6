# Crates of the oldest handshake hydro speaks, hydroflow 0.5.0's (a bare
# map of binds as the first line, no "ack start"), deployed by hydro from
# tests/compat/hydroflow05 with its shipped Cargo.lock: wired both ways
# with compiled .hf programs, over TCP between processes, and hydroflow
# 0.5.0's own Hydro Deploy example (two dedalus senders, each a demux into
# two merged receivers).  hydroflow 0.5.1 to 0.10 speak the newer one,
# which hf_run.sh and local_compat.sh check with tests/compat/hydroflow_relay
# (docs/protocol.md, "Versions").
#
# hydroflow 0.5.0 builds once into build/cargo-target, shared with the other
# tests that compile Rust (about 2 minutes cold on 2 cores); without cargo
# or a reachable crate registry, the test is skipped.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

CRATE=$TOP/tests/compat/hydroflow05
unset HYDRO_CARGO_OFFLINE
if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hf_compat: hydroflow 0.5.0's crates # SKIP no cargo"
	t_done
fi
if ! (cd "$CRATE" && "${CARGO:-cargo}" fetch --locked --quiet) >"$T_TMP/fetch" 2>&1; then
	echo "ok - hf_compat: hydroflow 0.5.0's crates # SKIP the crate registry is not reachable: $(tail -1 "$T_TMP/fetch")"
	t_done
fi
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
HYDRO_RUST_DIR=$TOP/lang/rust
export CARGO_TARGET_DIR HYDRO_CACHE_DIR HYDRO_RUST_DIR
cp "$TOP/tests/integration/hf/src.hf" "$TOP/tests/integration/hf/sink.hf" "$W/"

# a service of the crate: name, example, args (a JSON list)
crate() {
	printf '{"name": "%s", "kind": "crate", "on": "box", "src": "%s", "example": "%s", "profile": "dev", "args": %s}' \
		"$1" "$CRATE" "$2" "$3"
}

t_case "compiled -> a hydroflow 0.5.0 crate -> compiled"
cat >"$W/relay.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "hydroflow", "on": "box", "src": "src.hf", "profile": "dev", "args": ["--n=50"],
   "ports": [{"name": "out", "dir": "output", "type": "u64"}]},
  $(crate relay relay05 '[]'),
  {"name": "sink", "kind": "hydroflow", "on": "box", "src": "sink.hf", "profile": "dev", "args": ["--n=50"],
   "ports": [{"name": "inp", "dir": "input", "type": "u64"}]}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.inp"}]}
JSON
t_run timeout 1800 nice "$HYDRO" --color=never build "$W/relay.json"
t_expect_rc 0
l_run_until "$W/relay.json" 1 "got 50 distinct"
t_expect_rc 130
t_expect_err "service 'relay' exited with status 0"
grep -q "panicked\|warning" "$T_TMP/err" && t_fail "$(grep "panicked\|warning" "$T_TMP/err")"
l_expect_clean relay
t_end

t_case "hydroflow 0.5.0 over TCP, between processes"
cat >"$W/tcp.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "sink", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "--until-complete", "sink", "40"],
   "env": {"HYDRO_PORT_SENDERS": "1"}, "ports": [{"name": "in", "dir": "input"}], "ready": {"port": "in"}},
  $(crate relay relay05 '[]'),
  {"name": "src", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "source", "40"],
   "ports": [{"name": "out", "dir": "output"}]}
 ],
 "connections": [{"from": "src.out", "to": "relay.input"}, {"from": "relay.output", "to": "sink.in"}]}
JSON
l_run_until "$W/tcp.json" 1 "sink  | ok 40"
t_expect_rc 130
t_expect_err "service 'relay' exited with status 0"
l_expect_clean tcp
t_end

t_case "hydroflow 0.5.0's simple_dedalus: senders demux into merged receivers"
cat >"$W/dedalus.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  $(crate sender0 dedalus_sender '["[[0, 1], 0]"]'),
  $(crate sender1 dedalus_sender '["[[0, 1], 1]"]'),
  $(crate receiver1 dedalus_receiver '[]'),
  $(crate receiver2 dedalus_receiver '[]')
 ],
 "connections": [
  {"from": "sender0.broadcast", "to": "receiver1.broadcast", "key": 0, "merge": true},
  {"from": "sender0.broadcast", "to": "receiver2.broadcast", "key": 1, "merge": true},
  {"from": "sender1.broadcast", "to": "receiver1.broadcast", "key": 0, "merge": true},
  {"from": "sender1.broadcast", "to": "receiver2.broadcast", "key": 1, "merge": true}
 ]}
JSON
t_run timeout 1800 nice "$HYDRO" --color=never build "$W/dedalus.json"
t_expect_rc 0
# each sender sends both lines to both receivers, every second
l_run_until "$W/dedalus.json" 8 'echo ("\(Hello\|world\) [01]",)'
t_expect_rc 130
for r in receiver1 receiver2; do
	for m in "Hello 0" "world 0" "Hello 1" "world 1"; do
		grep -q "^$r *| echo (\"$m\",)\$" "$T_TMP/out" || t_fail "$r never printed '$m'"
	done
done
l_expect_clean dedalus
t_end

t_done
