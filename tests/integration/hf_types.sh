# Connections are checked by type at plan time, before anything is built:
# an output of T or (T, SocketAddr) feeds an input of T or (T, SocketAddr)
# with the same T; anything else is an error naming both ports and types.
. "$TOP/tests/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
: >"$W/c.hf"
: >"$W/s.hf"
spec() {
	cat >"$W/spec.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "client", "kind": "hydroflow", "on": "box", "src": "c.hf", "standin": ["true"],
   "ports": [{"name": "outbound", "dir": "output", "type": "$1"}]},
  {"name": "server", "kind": "hydroflow", "on": "box", "src": "s.hf", "standin": ["true"],
   "ports": [{"name": "inbound", "dir": "input", "type": "$2"}]}],
 "connections": [{"from": "client.outbound", "to": "server.inbound"}]}
JSON
}

t_case "String into (EchoMsg, SocketAddr) is an error naming both ports and types"
spec "String" "(EchoMsg, SocketAddr)"
t_run "$HYDRO" plan "$W/spec.json"
t_expect_rc 1
t_expect_err "cannot connect 'client.outbound' to 'server.inbound': the output is \`String\` and the input \`(EchoMsg, SocketAddr)\`"
t_end

t_case "T feeds (T, SocketAddr), paths and spaces aside"
spec "data_types::EchoMsg" "( EchoMsg , SocketAddr )"
t_run "$HYDRO" plan "$W/spec.json"
t_expect_rc 0
spec "(EchoMsg, std::net::SocketAddr)" "EchoMsg"
t_run "$HYDRO" plan "$W/spec.json"
t_expect_rc 0
t_end

t_done
