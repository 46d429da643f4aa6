# Hydro Deploy's example configs, written here against its API as its own
# hydro_cli_examples are (tests/compat/hd_examples: the async_wrapper
# ending, GcpNetwork and GcpComputeEngineHost built but left unused,
# HydroflowCrate(src=, example=, args=), send_to(hydro.demux({...:
# x.merge()})), await svc.stdout() before start(), CustomService ports with
# into_sink and into_source, await svc.exit_code(), three rounds of
# deploy() and start()), run by hydro run and hydro deploy on the local
# backend with crates built on hydroflow 0.10; and the script as a
# participant with a crate and with a compiled .hf program, 10000 messages
# each way, in order.
#
# The crates build into build/cargo-target (CARGO_TARGET_DIR), shared with
# the other tests that compile Rust; without cargo or a reachable crate
# registry, the test is skipped.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"

unset HYDRO_CARGO_OFFLINE
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_RUST_DIR=$TOP/lang/rust
export CARGO_TARGET_DIR HYDRO_RUST_DIR
# in place, as local_compat builds hydroflow_relay: a crate's path is part
# of what cargo builds, so a copy would be rebuilt by every run
E=$TOP/tests/compat/hd_examples
W=$T_TMP/w
mkdir -p "$W"
clean_runs() { rm -rf "$E/.hydro"; }
t_on_exit clean_runs
clean_runs
if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hd_examples: Hydro Deploy's examples # SKIP no cargo"
	t_done
elif ! (cd "$E" && "${CARGO:-cargo}" fetch --quiet) >"$T_TMP/fetch" 2>&1; then
	echo "ok - hd_examples: Hydro Deploy's examples # SKIP the crate registry is not reachable: $(tail -1 "$T_TMP/fetch")"
	t_done
fi

# the services of this test still running: those whose run is in one of
# its directories (every service gets HYDRO_RUN_DIR), whatever else runs
mine() {
	for p in $(pgrep -f '/examples/|/hydroflow_relay( |$)|/reply( |$)' 2>/dev/null); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
			grep -q "^HYDRO_RUN_DIR=\($E\|$W\)/" && echo "$p"
	done
}
left() {
	for p in $(mine); do kill -9 "$p" 2>/dev/null; done
}
t_on_exit left
expect_none_left() {
	[ -z "$(mine)" ] || t_fail "still running: $(ps -o pid,args -p "$(mine | tr '\n' ,)0")"
}

t_case "simple_dedalus: two senders, a demux into two merged receivers, stdout before start, exit codes"
t_run timeout 1800 nice "$HYDRO" --color=never -C "$E" run simple_dedalus.hydro.py -- local local
t_expect_rc 0
t_expect_out "deployed!"
t_expect_out "started!"
[ "$(grep -c '^RECEIVER [12]: echo ("\(Hello\|world\) [01]",)$' "$T_TMP/out")" = 10 ] ||
	t_fail "not 10 lines from the receivers: $(cat "$T_TMP/out")"
[ "$(grep -c '^exit code 0$' "$T_TMP/out")" = 2 ] || t_fail "exit codes: $(cat "$T_TMP/out")"
expect_none_left
t_end

t_case "hydro deploy hydro_python_sender: the script sends through two ports merged into a crate"
t_run "$HYDRO" --color=never -C "$E" deploy hydro_python_sender.hydro.py -- local
t_expect_rc 0
t_expect_out 'receiver said echo "hi 1!"'
t_expect_out 'receiver said echo "hi 2!"'
# display_id names the service: its logs
ls "$E"/.hydro/runs/*/logs/receiver.out >/dev/null 2>&1 || t_fail "no logs of 'receiver'"
expect_none_left
t_end

t_case "dedalus_python_receiver: a crate's demux into the script, deploy() and start() three times"
t_run "$HYDRO" --color=never -C "$E" deploy dedalus_python_receiver.hydro.py -- local 6
t_expect_rc 0
for word in "deployed!" "started!" "again!" "and again!" "{'UnixSocket': '/"; do
	t_expect_out "$word"
done
[ "$(grep -c '^\(Hello\|world\) 123$' "$T_TMP/out")" = 6 ] || t_fail "$(cat "$T_TMP/out")"
expect_none_left
t_end

t_case "the script and hydroflow 0.10's deploy side: 10000 messages through the relay crate, in order"
t_run timeout 1800 nice "$HYDRO" --color=never -C "$E" run relay_participant.hydro.py -- 10000
t_expect_rc 0
t_expect_out "10000 messages back in order"
expect_none_left
t_end

t_case "the script and a compiled .hf program: 10000 strings in, the answers back in order"
mkdir -p "$W/hf"
cp "$TOP/tests/integration/hf/reply.hf" "$TOP/tests/integration/hf/participant.hydro.py" "$W/hf/"
t_run timeout 1800 nice "$HYDRO" --color=never -C "$W/hf" run participant.hydro.py -- 10000
t_expect_rc 0
t_expect_out "out {'UnixSocket': "
t_expect_out "back {'UnixSocket': '/"
t_expect_out "10000 answers in order"
expect_none_left
t_end

t_done
