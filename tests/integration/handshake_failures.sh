# A service that dies in the handshake is reported with its exit status and
# its last stderr lines, also when it dies right after an answer
# (ready:, ack start) or between ready: and start:.
. "$TOP/tests/lib.sh"
. "$TOP/tests/integration/local/lib.sh"

# a speaker on the control channel (fd 3) that answers up to $1 (ready or
# ack) and then exits with status $2 at once
cat >"$T_TMP/quick.sh" <<'SH'
#!/bin/sh
read -r line <&3
echo "ready: {}" >&3
if [ "$1" = ack ]; then
	read -r line <&3
	echo "ack start" >&3
fi
[ -n "$3" ] && echo $$ >"$3"
echo "quick: crashing" >&2
exit "$2"
SH
chmod +x "$T_TMP/quick.sh"

one() {
	cat >"$W/one.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [{"name": "a", "kind": "hydroflow", "on": "box", "src": "x.hf",
               "standin": ["$T_TMP/quick.sh", "$1", "3"]}]}
JSON
}

# the answer and the exit come together: whatever the order in which hydro
# sees them, the status must be reported and the run must fail (tried 60
# times: the wrong outcome depends on which thread runs first)
for phase in ready ack; do
	t_case "a service that exits 3 right after its '$phase' answer is reported, every time"
	one $phase
	n=0 bad=0
	while [ $n -lt 60 ]; do
		t_run "$HYDRO" run "$W/one.json"
		if [ "$rc" -ne 1 ] || ! grep -qF "service 'a' exited with status 3" "$T_TMP/err" ||
		   ! grep -qF "quick: crashing" "$T_TMP/err"; then
			bad=$((bad + 1))
			cp "$T_TMP/err" "$T_TMP/bad-err"
			badrc=$rc
		fi
		n=$((n + 1))
	done
	[ $bad -eq 0 ] || t_fail "$bad of 60 runs did not report it (exit status $badrc): $(cat "$T_TMP/bad-err")"
	l_expect_clean "$phase"
	t_end
done

t_case "a service that exits 0 between ready: and start: is reported with its status and stderr"
# a sends to b; b comes up only once hydro has reaped a, so a's start: is
# sent after a has exited
cat >"$W/early.json" <<JSON
{"version": 1, "hosts": [{"name": "box"}],
 "services": [
  {"name": "a", "kind": "hydroflow", "on": "box", "src": "x.hf",
   "standin": ["$T_TMP/quick.sh", "ready", "0", "$T_TMP/a.pid"],
   "ports": [{"name": "out", "dir": "output"}]},
  {"name": "b", "kind": "hydroflow", "on": "box", "src": "x.hf",
   "standin": ["sh", "-c", "while [ ! -s '$T_TMP/a.pid' ] || [ -e /proc/\$(cat '$T_TMP/a.pid') ]; do sleep 0.02; done; exec '$NODE' sink 1"],
   "ports": [{"name": "in", "dir": "input"}]}
 ],
 "connections": [{"from": "a.out", "to": "b.in"}]}
JSON
t_run "$HYDRO" run "$W/early.json"
t_expect_rc 1
t_expect_err "service 'a' exited with status 0"
t_expect_err "quick: crashing"
l_expect_clean early
t_end

t_done
