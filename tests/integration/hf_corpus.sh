# The .hf corpus: every tests/hf/NAME.hf checks as NAME.expected says
# (tests/hf/README), and `hydro graph` draws the valid ones.
. "$TOP/tests/lib.sh"

cd "$TOP/tests/hf" || exit 1
for hf in *.hf; do
	name=${hf%.hf}
	t_case "check $name"
	"$HYDRO" check --color=never "$hf" >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	{ echo "status $rc"; cat "$T_TMP/err"; } >"$T_TMP/got"
	if [ -n "$HF_CORPUS_UPDATE" ]; then
		cp "$T_TMP/got" "$name.expected"
	fi
	if [ ! -f "$name.expected" ]; then
		t_fail "no $name.expected"
	elif ! cmp -s "$T_TMP/got" "$name.expected"; then
		t_fail "differs from $name.expected:
$(diff "$name.expected" "$T_TMP/got" | head -20)"
	fi
	[ -s "$T_TMP/out" ] && t_fail "stdout is not empty"
	t_end
done

t_case "several files at once: exit 1 if any has errors"
t_run "$HYDRO" check --color=never op-map.hf err-missing-args.hf op-join.hf
t_expect_rc 1
t_expect_err "err-missing-args.hf:2:5"
t_run "$HYDRO" check --color=never op-map.hf warn-unused-port.hf op-join.hf
t_expect_rc 0
t_expect_err "warning: module port"
t_end

t_case "a missing file is an error"
t_run "$HYDRO" check --color=never no-such-file.hf
t_expect_rc 1
t_expect_err "no-such-file.hf"
t_end

t_case "--color=always colours the diagnostics"
t_run "$HYDRO" check --color=always err-missing-args.hf
t_expect_rc 1
grep -q "$(printf '\033')\[1;31merror" "$T_TMP/err" || t_fail "no colour: $(head -3 "$T_TMP/err")"
t_end

t_case "graph draws the strata as Mermaid subgraphs"
t_run "$HYDRO" graph graph-strata.hf
t_expect_rc 0
t_expect_out "flowchart TD"
t_expect_out 'subgraph stratum_0 ["stratum 0"]'
t_expect_out 'subgraph stratum_1 ["stratum 1"]'
t_expect_out 'subgraph stratum_2 ["stratum 2"]'
t_expect_out "<code>difference()</code>"
t_expect_out '--x|"neg"|'
t_end

t_case "graph --format=dot"
t_run "$HYDRO" graph --format=dot graph-strata.hf
t_expect_rc 0
t_expect_out "digraph hydroflow {"
t_expect_out "subgraph cluster_stratum_1 {"
t_expect_out 'label="neg"'
t_end

t_case "graph shows tick edges and the ports of the module"
t_run "$HYDRO" graph graph-negative-cycle-deferred.hf
t_expect_rc 0
t_expect_out '-.->'
t_run "$HYDRO" graph seed-echo-server.hf
t_expect_rc 0
t_expect_out "input inbound: (EchoMsg, SocketAddr)"
t_expect_out '-->|"1"|'
t_end

t_case "graph of every valid program"
for hf in op-*.hf seed-*.hf hf-*.hf syntax-*.hf graph-*.hf; do
	"$HYDRO" graph "$hf" >"$T_TMP/out" 2>"$T_TMP/err" || t_fail "$hf: $(head -3 "$T_TMP/err")"
	"$HYDRO" graph --format=dot "$hf" >"$T_TMP/out" 2>"$T_TMP/err" || t_fail "$hf (dot): $(head -3 "$T_TMP/err")"
done
t_end

t_case "graph refuses a program that does not check"
t_run "$HYDRO" graph err-negative-loop.hf
t_expect_rc 1
t_expect_err "Negative edge"
t_expect_err "cannot draw"
[ -s "$T_TMP/out" ] && t_fail "something was drawn"
t_end

t_case "the examples check clean"
for hf in "$TOP"/examples/echo/src/*.hf; do
	t_run "$HYDRO" check "$hf"
	t_expect_rc 0
	[ -s "$T_TMP/err" ] && t_fail "$hf: $(head -3 "$T_TMP/err")"
done
t_end

t_done
