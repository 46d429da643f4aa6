# docs/protocol.md: "A program that finds HYDRO_CONTROL_FD in its
# environment speaks on that descriptor; without it, it speaks on
# stdin/stdout."  So a crate (stdin/stdout) and a process must not inherit
# one from hydro's own environment, as when hydro itself runs as a
# hydroflow service of another deployment.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

t_case "a crate and a process get no HYDRO_CONTROL_FD from hydro's environment"
cat >"$W/crates.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "source", "5"]},
  {"name": "sink", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "sink", "5"]},
  {"name": "p", "kind": "process", "on": "box", "cmd": ["sh", "-c", "echo \"fd=[\$HYDRO_CONTROL_FD]\""]}
 ],
 "connections": [{"from": "src.out", "to": "sink.in"}]}
JSON
HYDRO_CONTROL_FD=3 HYDRO_READY_TIMEOUT=2 t_run "$HYDRO" run "$W/crates.json"
t_expect_rc 0
t_expect_out "sink | ok 5"
t_expect_out "p    | fd=[]"
l_expect_clean crates
t_end

t_done
