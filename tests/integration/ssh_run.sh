#!/bin/sh
# What a run gives the SSH backend, against a real sshd (tests/lib/hosts.sh):
# the project's .hydro/known_hosts and hydro run --trust-new-hosts (setup),
# bad settings refused at plan time naming where the host was declared
# (check), and the connection closed at the end of the run (disconnect).
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

hosts_up 1
a1=$(host_addr 1)
unset SSH_AUTH_SOCK
# no keys and no known_hosts of this machine's user
HOME=$T_TMP/home
mkdir -p "$HOME/.ssh" "$T_TMP/proj" "$T_TMP/elsewhere"
export HOME
P=$T_TMP/proj
# a config of one SSH host and no services; $1 more settings
config() {
	printf '{"version": 1, "hosts": [{"name": "web", "backend": "ssh", "settings":
	  {"host": "%s", "key": "%s"%s}}], "services": []}\n' "$a1" "$HOSTS_KEY" "$1" \
		>"$P/remote.json"
}
# hydro from a directory that is not the project's
hydro_() { (cd "$T_TMP/elsewhere" && timeout 60 "$HYDRO" --color=never "$@"); }

t_case "an unknown host is refused by hydro run, pointing at the project's known_hosts"
config ""
t_run hydro_ run ../proj/remote.json
t_expect_rc 1
t_expect_err "host 'web' ($a1) is not a known host"
t_expect_err "hydro run --trust-new-hosts"
t_expect_err "proj/.hydro/known_hosts'"
[ -e "$P/.hydro/known_hosts" ] && t_fail "a refused key was recorded"
t_end

t_case "hydro run --trust-new-hosts records the key in the project's .hydro, not the cwd's"
t_run hydro_ run --trust-new-hosts ../proj/remote.json
t_expect_rc 0
t_expect_err "trusted its new ssh-ed25519 key"
grep -q "^$a1 ssh-ed25519 $(cut -d' ' -f2 "$HOSTS_DIR/h1/host_ed25519.pub")\$" \
	"$P/.hydro/known_hosts" || t_fail "not recorded in the project: $(cat "$P/.hydro/known_hosts")"
[ -e "$T_TMP/elsewhere/.hydro" ] && t_fail "the cwd got a .hydro"
t_run hydro_ run ../proj/remote.json
t_expect_rc 0
grep -q "trusted" "$T_TMP/err" && t_fail "trusted again: $(cat "$T_TMP/err")"
t_end

t_case "the run closes its connection to the host at its end"
log=$HOSTS_DIR/h1/sshd.log
before=$(wc -l <"$log")
t_run hydro_ run ../proj/remote.json
t_expect_rc 0
# an SSH disconnect sent by hydro, which waits for sshd to close its side
# (and sshd logs it before that): not a connection that merely dropped
tail -n +$((before + 1)) "$log" | grep -q "Received disconnect from .*: bye" ||
	t_fail "no disconnect: $(tail -n +$((before + 1)) "$log")"
t_end

t_case "--trust-new-hosts is an option of run only"
t_run hydro_ plan --trust-new-hosts ../proj/remote.json
t_expect_rc 2
t_end

t_case "a port that is not a number is refused at plan time, naming the config"
config ', "port": "twenty-two"'
before=$(wc -l <"$log")
t_run hydro_ plan ../proj/remote.json
t_expect_rc 1
t_expect_err "remote.json: host 'web': bad port 'twenty-two'; give a number from 1 to 65535"
t_run hydro_ run ../proj/remote.json
t_expect_rc 1
t_expect_err "bad port 'twenty-two'"
tail -n +$((before + 1)) "$log" | grep -q "Accepted\|Connection from" &&
	t_fail "a host with a bad setting was reached"
t_end

t_case "an unreadable key file is refused at plan time, naming the declaring line"
cat >"$P/remote.hydro.py" <<PY
import hydro
d = hydro.Deployment()

web = d.SshHost("$a1", key="$T_TMP/no-such-key", name="web")
PY
t_run hydro_ plan ../proj/remote.hydro.py
t_expect_rc 1
t_expect_err "remote.hydro.py:4: host 'web'"
t_expect_err "cannot read its key file '$T_TMP/no-such-key'"
t_end

t_case "bad numbers and flags among the settings are refused at plan time"
config ', "connect_timeout": "soon", "trust_new_host": "maybe"'
t_run hydro_ plan ../proj/remote.json
t_expect_rc 1
t_expect_err "bad connect_timeout 'soon'"
config ', "connect_attempts": "0"'
t_run hydro_ plan ../proj/remote.json
t_expect_rc 1
t_expect_err "bad connect_attempts '0'"
t_end

t_done
