# hydro_runtime's own unit tests (lang/rust/hydro_runtime): its codec writes
# and reads what bincode does, and its allocator's cache hands out blocks of
# their class's size, uses a thread's freed blocks again and keeps no more
# than its cap.  Dev profile, into build/cargo-target as the other tests
# that compile Rust.
. "$TOP/tests/lib.sh"

if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hf_runtime: the runtime's unit tests # SKIP no cargo"
	t_done
fi
CARGO_TARGET_DIR=$TOP/build/cargo-target
export CARGO_TARGET_DIR

t_case "hydro_runtime's unit tests pass"
# a copy, so that cargo's test build writes no lock into the sources
cp -r "$TOP/lang/rust/hydro_runtime" "$T_TMP/rt"
cp "$TOP/lang/rust/Cargo.lock" "$T_TMP/rt/"
t_run timeout 1800 nice "${CARGO:-cargo}" test --offline --quiet --manifest-path "$T_TMP/rt/Cargo.toml"
t_expect_rc 0
t_expect_out "test result: ok. 5 passed; 0 failed"
t_end
t_done
