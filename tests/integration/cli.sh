# The command line: help, version, usage errors.
. "$TOP/tests/lib.sh"

t_case "--help lists every command"
t_run "$HYDRO" --help
t_expect_rc 0
for c in run build plan graph down check help; do t_expect_out "  $c "; done
t_end

t_case "--version"
t_run "$HYDRO" --version
t_expect_rc 0
t_expect_out "hydro "
t_end

t_case "each command has its own --help"
for c in run build plan graph down check; do
	t_run "$HYDRO" "$c" --help
	t_expect_rc 0
	t_expect_out "usage: hydro $c"
	t_run "$HYDRO" help "$c"
	t_expect_rc 0
	t_expect_out "usage: hydro $c"
done
t_end

t_case "unknown command exits 2 with a hint"
t_run "$HYDRO" frobnicate
t_expect_rc 2
t_expect_err "unknown command 'frobnicate'"
t_expect_err "hint:"
[ "$(wc -l <"$T_TMP/err")" -eq 2 ] || t_fail "expected two lines: $(cat "$T_TMP/err")"
t_end

t_case "a near miss suggests the command"
t_run "$HYDRO" chekc x.hf
t_expect_rc 2
t_expect_err "did you mean 'hydro check'?"
t_end

t_case "two letters swapped suggest the command"
t_run "$HYDRO" rnu x.py
t_expect_rc 2
t_expect_err "did you mean 'hydro run'?"
t_end

t_case "help of help"
for a in --help -h help; do
	t_run "$HYDRO" help "$a"
	t_expect_rc 0
	t_expect_out "usage: hydro help [COMMAND]"
	[ -s "$T_TMP/err" ] && t_fail "help $a: $(cat "$T_TMP/err")"
done
t_run "$HYDRO" help rnu
t_expect_rc 2
t_expect_err "did you mean 'hydro run'?"
t_end

t_case "unknown option exits 2 with a hint"
t_run "$HYDRO" run --frobnicate x.py
t_expect_rc 2
t_expect_err "unknown option '--frobnicate'"
t_expect_err "hint:"
t_end

t_case "an option of another command is refused"
t_run "$HYDRO" check --keep x.hf
t_expect_rc 2
t_expect_err "not known to hydro check"
t_end

t_case "missing file argument"
t_run "$HYDRO" run
t_expect_rc 2
t_expect_err "needs a file"
t_end

t_case "bad -j and -D values"
t_run "$HYDRO" -j zero build x.json
t_expect_rc 2
t_expect_err "bad job count"
t_run "$HYDRO" run -D novalue x.py
t_expect_rc 2
t_expect_err "bad parameter"
t_run "$HYDRO" run -D 9x=1 x.py
t_expect_rc 2
t_expect_err "bad parameter name"
t_end

t_case "--color takes auto, always or never"
t_run "$HYDRO" --color=sometimes --help
t_expect_rc 2
t_expect_err "bad colour mode"
t_end

t_case "-C to a missing directory"
t_run "$HYDRO" -C "$T_TMP/nope" check x.hf
t_expect_rc 2
t_expect_err "cannot change to directory"
t_end

t_case "a config that is neither Python nor JSON"
: >"$T_TMP/x.lua"
: >"$T_TMP/x.txt"
t_run "$HYDRO" run "$T_TMP/x.lua"
t_expect_rc 1
t_expect_err "Lua configs are not supported yet"
t_run "$HYDRO" build "$T_TMP/x.txt"
t_expect_rc 1
t_expect_err "cannot tell what '$T_TMP/x.txt' is"
t_end

t_done
