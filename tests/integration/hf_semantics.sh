# Each program of tests/hf_semantics/ (one per operator family), compiled by
# hydro and run by `hydro run`, prints over several ticks exactly what
# hydroflow 0.10 prints for the same program: the reference crate
# (tests/hf_semantics/reference) puts the same module body, unchanged, in
# hydroflow_syntax! and runs it with run_available(), as a plain hydroflow
# user does.
#
# What makes the comparison fair: the programs have no ports, and their
# ticks are driven from inside (source_iter, and a clock looping through
# defer_tick), so both sides run the same ticks with the same items however
# fast the machine is; items that came through a port would be split into
# ticks by when they arrived.  Every line names its tick
# (context.current_tick()), and the lines are compared sorted, as the order
# of a tick's lines between unordered operators (a join's hash table, one
# subgraph before another) is not part of the semantics; the order inside a
# value (sort's output collected in a Vec) is.  Ports are hf_run.sh's.
#
# The compiled side: hydro emits each program's crate (test_hf_emit emit),
# and the emitted main.rs files build as the binaries of one crate with the
# emitted Cargo.toml and lock, in one cargo call; `hydro run` starts them as
# the standins of hydroflow services (the handshake, the flow under
# run_async, the stop), and stops them once each has printed as many lines
# as the reference (a compiled program runs until stopped; the reference's
# run_available() returns when no work is left).  Both builds use the dev
# profile and the shared build/cargo-target.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

if ! command -v "${CARGO:-cargo}" >/dev/null 2>&1; then
	echo "ok - hf_semantics: compiled programs beside hydroflow # SKIP no cargo"
	t_done
fi
CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_RUST_DIR=$TOP/lang/rust
export CARGO_TARGET_DIR HYDRO_RUST_DIR
S=$TOP/tests/hf_semantics
NAMES=$(cd "$S" && ls *.hf | sed 's/\.hf$//')

# the executables cargo reported in $1 (its JSON messages), one a line
executables() {
	grep '"executable":"' "$1" | sed 's/.*"executable":"\([^"]*\)".*/\1/'
}

t_case "the reference programs build against hydroflow 0.10"
(cd "$S/reference" && nice "${CARGO:-cargo}" build --locked --quiet \
	--message-format=json >"$T_TMP/ref.json" 2>"$T_TMP/ref.err")
[ $? -eq 0 ] || t_fail "cargo build: $(tail -30 "$T_TMP/ref.err")"
REF=$(executables "$T_TMP/ref.json" | tail -1)
[ -x "$REF" ] || t_fail "no reference executable"
for n in $NAMES; do
	"$REF" "$n" | LC_ALL=C sort >"$T_TMP/$n.ref" || t_fail "the reference of $n failed"
	# several ticks, or the comparison says little
	grep -q '^\[3\] ' "$T_TMP/$n.ref" || t_fail "$n: the reference prints nothing in tick 3"
done
t_end

t_case "hydro's crates of the programs build, as one crate's binaries"
P=$T_TMP/programs
mkdir -p "$P/src/bin"
for n in $NAMES; do
	"$BUILD/tests/unit/test_hf_emit" emit "$S/$n.hf" "$T_TMP/emit/$n" >"$T_TMP/out" 2>&1 ||
		t_fail "emit $n: $(cat "$T_TMP/out")"
	cp "$T_TMP/emit/$n/src/main.rs" "$P/src/bin/hfsem_$n.rs"
done
# the emitted manifest (the same for every program without crates of its
# own) without its one [[bin]], so that cargo finds src/bin/*.rs
sed '/^\[\[bin\]\]$/,/^$/d' "$T_TMP/emit/$(echo $NAMES | cut -d' ' -f1)/Cargo.toml" >"$P/Cargo.toml"
cp "$T_TMP/emit/$(echo $NAMES | cut -d' ' -f1)/Cargo.lock" "$P/Cargo.lock"
(cd "$P" && nice "${CARGO:-cargo}" build --locked --quiet \
	--message-format=json >"$T_TMP/progs.json" 2>"$T_TMP/progs.err")
[ $? -eq 0 ] || t_fail "cargo build: $(tail -30 "$T_TMP/progs.err")"
t_end

t_case "hydro runs the compiled programs"
c=
for n in $NAMES; do
	exe=$(executables "$T_TMP/progs.json" | grep "/hfsem_$n\$" | tail -1)
	[ -x "$exe" ] || t_fail "no executable for $n"
	cp "$S/$n.hf" "$W/$n.hf"
	c="$c${c:+,
  }{\"name\": \"$n\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"$n.hf\", \"standin\": [\"$exe\"]}"
done
printf '{"version": 1, "hosts": [{"name": "box"}],\n "services": [%s],\n "connections": []}\n' "$c" >"$W/sem.json"
"$HYDRO" --color=never run "$W/sem.json" >"$T_TMP/run.out" 2>"$T_TMP/run.err" &
hp=$!
# the lines of service $1, without hydro's prefix, sorted
lines_of() {
	grep "^$1 *| " "$T_TMP/run.out" | sed 's/^[^|]*| //' | LC_ALL=C sort
}
for n in $NAMES; do
	want=$(wc -l <"$T_TMP/$n.ref")
	l_wait "[ \$(grep -c '^$n *| ' '$T_TMP/run.out') -ge $want ]" 1200 ||
		t_fail "$n printed $(grep -c "^$n *| " "$T_TMP/run.out") of $want lines: $(tail -5 "$T_TMP/run.err")"
done
kill -INT $hp
l_wait "! kill -0 $hp" 300 || { t_fail "hydro did not end"; kill -9 $hp; }
wait $hp
[ $? -eq 130 ] || t_fail "hydro run ended with $?: $(tail -5 "$T_TMP/run.err")"
grep -q "panicked\|exited with" "$T_TMP/run.err" "$T_TMP/run.out" &&
	t_fail "$(grep "panicked\|exited with" "$T_TMP/run.err" "$T_TMP/run.out")"
l_expect_clean semantics
t_end

for n in $NAMES; do
	t_case "$n: the compiled program prints what hydroflow 0.10 prints"
	lines_of "$n" >"$T_TMP/$n.hydro"
	diff -u "$T_TMP/$n.ref" "$T_TMP/$n.hydro" >"$T_TMP/$n.diff" ||
		t_fail "$n differs (- hydroflow, + hydro): $(head -40 "$T_TMP/$n.diff")"
	t_end
done

t_done
