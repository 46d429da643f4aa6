# Handshake edge cases: chatter before ready:, a program that never answers,
# one that exits during the handshake, malformed ready: JSON, a missing
# ack start.  Each is a clear error, and nothing is left running.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

# a pair a -> b; $1: kind, $2: extra options for b's node
pair() {
	cat >"$W/pair.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "a", "kind": "$1", "on": "box", "src": "$SRC", "standin": ["$NODE", "source", "10"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "b", "kind": "$1", "on": "box", "src": "$SRC", "standin": ["$NODE", $2 "sink", "10"],
   "ports": [{"name": "in", "dir": "input"}]}
 ],
 "connections": [{"from": "a.out", "to": "b.in"}]}
JSON
	if [ "$1" = crate ]; then
		sed -i 's/, *"ports": \[[^]]*\]//' "$W/pair.json"
	fi
}

for kind in hydroflow crate; do
	if [ $kind = crate ]; then SRC=.; else SRC=x.hf; fi

	t_case "$kind: lines before ready: are logs, not a broken handshake"
	pair $kind '"--chatter",'
	t_run "$HYDRO" run "$W/pair.json"
	t_expect_rc 0
	t_expect_out "b | ok 10"
	if [ $kind = crate ]; then t_expect_out "b | starting up"; else t_expect_out "b | chatter on stdout"; fi
	t_expect_out "b | started"
	l_expect_clean chatter
	t_end

	t_case "$kind: a program that never answers times out"
	pair $kind '"--silent-handshake",'
	HYDRO_READY_TIMEOUT=0.5 t_run "$HYDRO" run "$W/pair.json"
	t_expect_rc 1
	t_expect_err "service 'b' did not answer 'ready:' within 0.5 s (HYDRO_READY_TIMEOUT sets the limit)"
	l_expect_clean silent
	t_end

	t_case "$kind: a program that exits during the handshake is reported with its status and stderr"
	pair $kind '"--exit-in-handshake", "3",'
	t_run "$HYDRO" run "$W/pair.json"
	t_expect_rc 1
	t_expect_err "service 'b' exited with status 3 during the handshake, before answering 'ready: '"
	t_expect_err "node: giving up in the handshake"
	l_expect_clean exits
	t_end

	t_case "$kind: malformed ready: JSON is an error naming the service"
	pair $kind '"--bad-ready",'
	t_run "$HYDRO" run "$W/pair.json"
	t_expect_rc 1
	t_expect_err "service 'b' answered ready: with malformed JSON"
	l_expect_clean malformed
	t_end

	t_case "$kind: no ack start times out"
	pair $kind '"--no-ack",'
	HYDRO_START_TIMEOUT=0.5 t_run "$HYDRO" run "$W/pair.json"
	t_expect_rc 1
	t_expect_err "service 'b' did not answer 'ack start' within 0.5 s"
	l_expect_clean noack
	t_end
done

t_case "a program that cannot be started is an error naming it"
SRC=x.hf
pair hydroflow ''
sed -i "s|\"$NODE\", \"source\"|\"$T_TMP/no-such-program\", \"source\"|" "$W/pair.json"
t_run "$HYDRO" run "$W/pair.json"
t_expect_rc 1
t_expect_err "cannot run '$T_TMP/no-such-program': No such file or directory"
l_expect_clean nosuch
t_end

t_done
