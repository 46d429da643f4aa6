# A .hf file checked away from its crates: `hydro check` warns at the use
# line and passes, so the front end's checking works on a lone file; a
# build of the same file still fails there.
. "$TOP/tests/lib.sh"

W=$T_TMP/lone
mkdir -p "$W"
cp "$TOP/examples/echo/src/echo_server.hf" "$W/"

t_case "check of a lone file: a warning at the use line, naming where it looked; exit 0"
t_run "$HYDRO" check --color=never "$W/echo_server.hf"
t_expect_rc 0
t_expect_err "warning: unresolved crate \`data_types\`: the program can be checked but not built here"
t_expect_err " --> $W/echo_server.hf:2:1"
t_expect_err "looked in $W up to /"
t_expect_err "put the crate in one of $W/data_types"
t_end

t_case "check --json: the same as a warning"
t_run "$HYDRO" check --json "$W/echo_server.hf"
t_expect_rc 0
t_expect_out '"line":2,"col":1,"severity":"warning"'
t_end

t_case "a real error in the same file still fails the check"
sed 's/-> tee();/-> tee(;/' "$W/echo_server.hf" >"$W/bad.hf"
t_run "$HYDRO" check --color=never "$W/bad.hf"
t_expect_rc 1
t_expect_err "error:"
t_end

t_case "the file beside its crate: no warning"
t_run "$HYDRO" check --color=never "$TOP/examples/echo/src/echo_server.hf"
t_expect_rc 0
grep -q "warning" "$T_TMP/err" && t_fail "$(cat "$T_TMP/err")"
t_end

t_case "a build of the lone file stays an error, at the use line"
cat >"$W/d.json" <<'JSON'
{"version": 1, "hosts": [{"name": "h", "backend": "local"}],
 "services": [{"name": "s", "kind": "hydroflow", "on": "h", "src": "echo_server.hf"}]}
JSON
t_run "$HYDRO" build --color=never "$W/d.json"
t_expect_rc 1
t_expect_err "error: unresolved crate \`data_types\`"
t_expect_err "uses a crate hydro cannot find"
t_end

t_done
