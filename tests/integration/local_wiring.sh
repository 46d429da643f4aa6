# The local backend wires protocol speakers and processes: a ring of 20, a
# fan-out/fan-in of 1 -> 10 -> 1, crates on stdin/stdout, processes through
# HYDRO_PORT_<NAME>; every message arrives exactly once, nothing is left.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

t_case "a ring of 20 hydroflow stand-ins passes every message once"
{
	echo '{"version": 1, "hosts": [{"name": "box"}], "services": ['
	i=0
	while [ $i -lt 20 ]; do
		[ $i -gt 0 ] && echo ','
		if [ $i -eq 0 ]; then mode='"ring", "500"'; else mode='"relay"'; fi
		echo "{\"name\": \"n$i\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\","
		echo " \"standin\": [\"$NODE\", $mode], \"ports\": $PORTS_IO}"
		i=$((i + 1))
	done
	echo '], "connections": ['
	i=0
	while [ $i -lt 20 ]; do
		[ $i -gt 0 ] && echo ','
		echo "{\"from\": \"n$i.out\", \"to\": \"n$(( (i + 1) % 20 )).in\"}"
		i=$((i + 1))
	done
	echo ']}'
} >"$W/ring.json"
t_run "$HYDRO" run "$W/ring.json"
t_expect_rc 0
t_expect_out "n0  | ok 500"
l_expect_clean ring
[ "$(ls "$W"/.hydro/runs/*/logs/*.err | wc -l)" -eq 20 ] || t_fail "not 20 stderr logs"
t_end

t_case "fan-out and fan-in 1 -> 10 -> 1: each message reaches the sink 10 times"
{
	echo '{"version": 1, "hosts": [{"name": "box"}], "services": ['
	echo "{\"name\": \"src\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\","
	echo " \"standin\": [\"$NODE\", \"source\", \"300\"], \"ports\": [{\"name\": \"out\", \"dir\": \"output\"}]},"
	echo "{\"name\": \"sink\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\","
	echo " \"standin\": [\"$NODE\", \"sink\", \"300\", \"10\"], \"ports\": [{\"name\": \"in\", \"dir\": \"input\"}]}"
	i=0
	while [ $i -lt 10 ]; do
		echo ", {\"name\": \"mid$i\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\","
		echo " \"standin\": [\"$NODE\", \"relay\"], \"ports\": $PORTS_IO}"
		i=$((i + 1))
	done
	echo '], "connections": ['
	i=0
	while [ $i -lt 10 ]; do
		[ $i -gt 0 ] && echo ','
		echo "{\"from\": \"src.out\", \"to\": \"mid$i.in\"}, {\"from\": \"mid$i.out\", \"to\": \"sink.in\"}"
		i=$((i + 1))
	done
	echo ']}'
} >"$W/fan.json"
t_run "$HYDRO" run "$W/fan.json"
t_expect_rc 0
t_expect_out "sink | ok 3000"
l_expect_clean fan
t_end

t_case "crates speak on stdin/stdout, with merge() fan-in and demux() fan-out"
cat >"$W/crates.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "src", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "source", "50"]},
  {"name": "a", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "relay"]},
  {"name": "b", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "relay"]},
  {"name": "sink", "kind": "crate", "on": "box", "src": ".", "standin": ["$NODE", "sink", "50", "2"]}
 ],
 "connections": [
  {"from": "src.out", "to": "a.in", "key": 0},
  {"from": "src.out", "to": "b.in", "key": 1},
  {"from": "a.out", "to": "sink.in", "merge": true},
  {"from": "b.out", "to": "sink.in", "merge": true, "tag": 4}
 ]}
JSON
t_run "$HYDRO" run "$W/crates.json"
t_expect_rc 0
t_expect_out "sink | ok 100"
l_expect_clean crates
t_end

t_case "a crate's fan-in without merge() is an error naming the port, nothing runs"
sed 's/, "merge": true//g' "$W/crates.json" >"$W/nomerge.json"
t_run "$HYDRO" run "$W/nomerge.json"
t_expect_rc 1
t_expect_err "'sink.in' has 2 senders: a crate's input accepts one connection"
[ ! -d "$W/.hydro/runs" ] || [ -z "$(ls "$W"/.hydro/runs/*/logs 2>/dev/null | grep -c out)" ] || true
l_expect_clean nomerge
t_end

t_case "processes get their ports as HYDRO_PORT_<NAME> and join the wiring"
cat >"$W/procs.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "sink", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "sink", "40", "2"],
   "env": {"HYDRO_PORT_SENDERS": "2"}, "ports": [{"name": "in", "dir": "input"}], "ready": {"port": "in"}},
  {"name": "mid", "kind": "hydroflow", "on": "box", "src": "x.hf", "standin": ["$NODE", "relay"],
   "ports": $PORTS_IO},
  {"name": "src", "kind": "process", "on": "box", "cmd": ["$NODE", "--env", "source", "40"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "env", "kind": "process", "on": "box", "cmd": ["sh", "-c", "echo in=\$HYDRO_PORT_IN; printf partial"],
   "ports": [{"name": "in", "dir": "input"}]}
 ],
 "connections": [
  {"from": "src.out", "to": "mid.in"}, {"from": "src.out", "to": "sink.in"},
  {"from": "mid.out", "to": "sink.in"}, {"from": null, "to": "env.in"}
 ]}
JSON
t_run "$HYDRO" run --no-log-prefix "$W/procs.json"
t_expect_rc 0
t_expect_out "ok 80"
grep -q '^in=127\.0\.0\.1:[0-9]' "$T_TMP/out" || t_fail "no TCP address in HYDRO_PORT_IN: $(cat "$T_TMP/out")"
grep -q '^partial$' "$T_TMP/out" || t_fail "the partial last line was not flushed"
l_expect_clean procs
t_end

t_case "reply addresses: an echo server answers each of 3 clients through (T, SocketAddr) ports"
RP='[{"name": "in", "dir": "input", "type": "(EchoMsg, SocketAddr)"}, {"name": "out", "dir": "output", "type": "(EchoMsg, SocketAddr)"}]'
{
	echo '{"version": 1, "hosts": [{"name": "box"}], "services": ['
	echo "{\"name\": \"server\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\", \"standin\": [\"$NODE\", \"echo\"], \"ports\": $RP}"
	for i in 0 1 2; do
		echo ", {\"name\": \"c$i\", \"kind\": \"hydroflow\", \"on\": \"box\", \"src\": \"x.hf\", \"standin\": [\"$NODE\", \"ring\", \"$((100 + i))\"], \"ports\": $RP}"
	done
	echo '], "connections": ['
	for i in 0 1 2; do
		[ $i -gt 0 ] && echo ','
		echo "{\"from\": \"c$i.out\", \"to\": \"server.in\"}, {\"from\": \"server.out\", \"to\": \"c$i.in\"}"
	done
	echo ']}'
} >"$W/echo.json"
t_run "$HYDRO" run "$W/echo.json"
t_expect_rc 0
t_expect_out "server | replied 303"
t_expect_out "c0     | ok 100"
t_expect_out "c1     | ok 101"
t_expect_out "c2     | ok 102"
l_expect_clean echo
t_end

t_case "with colour, each service's prefix has a colour of its own, the same every run"
cat >"$W/two.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "alpha", "kind": "process", "on": "box", "cmd": ["echo", "a"]},
              {"name": "omega", "kind": "process", "on": "box", "cmd": ["echo", "b"]}]}
JSON
t_run "$HYDRO" --color=always run "$W/two.json"
t_expect_rc 0
grep -q "$(printf '\033')\[[0-9]*malpha |$(printf '\033')\[0m a" "$T_TMP/out" || t_fail "no coloured prefix: $(cat -v "$T_TMP/out")"
cp "$T_TMP/out" "$T_TMP/first"
t_run "$HYDRO" --color=always run "$W/two.json"
[ "$(grep alpha "$T_TMP/out")" = "$(grep alpha "$T_TMP/first")" ] || t_fail "alpha's colour changed"
t_end

t_case "targets a service needs are made before it is launched, and only once"
cat >"$W/needs.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "targets": [{"name": "data", "cmd": ["sh", "-c", "echo made >>made.log; seq 3 > data.txt"],
              "outputs": ["data.txt"]}],
 "services": [{"name": "cat", "kind": "process", "on": "box", "cmd": ["cat", "data.txt"],
               "needs": ["data"]}]}
JSON
t_run "$HYDRO" run "$W/needs.json"
t_expect_rc 0
t_expect_out "cat | 3"
t_run "$HYDRO" run "$W/needs.json"
t_expect_rc 0
[ "$(wc -l <"$W/made.log")" -eq 1 ] || t_fail "the target was made again"
t_end

t_done
