#!/bin/sh
# The SSH backend's transport against real sshds (tests/lib/hosts.sh): host
# keys, logging in by key file, default key and agent, commands with awkward
# argv, uploads that are skipped, verified or cut, ProxyJump, and a host that
# never answers.  Driven through tests/unit/test_ssh.c's "tool" mode.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

TOOL=$BUILD/tests/unit/test_ssh
hosts_up 2
hosts_add_behind 1
a1=$(host_addr 1) a2=$(host_addr 2) a3=$(host_addr 3)
fp() { ssh-keygen -lf "$HOSTS_DIR/h$1/host_ed25519.pub" | cut -d' ' -f2; }

# a fresh $HOME per case: no keys, no known_hosts, no config
fresh_home() {
	HOME=$T_TMP/home$1
	rm -rf "$HOME"
	mkdir -p "$HOME/.ssh"
	export HOME
	PROJ=$HOME/proj/.hydro
}
# the tool on host $1's address with the test key, the project in $PROJ
tool() { a=$1; shift; timeout 60 "$TOOL" tool --project "$PROJ" host="$a" "$@"; }
known() { cp "$HOSTS_KNOWN" "$HOME/.ssh/known_hosts"; }
unset SSH_AUTH_SOCK

t_case "an unknown host is refused with its fingerprint and how to trust it"
fresh_home 1
t_run tool "$a2" key="$HOSTS_KEY" exec -- true
t_expect_rc 255
t_expect_err "host 'web' ($a2) is not a known host"
t_expect_err "$(fp 2)"
t_expect_err "trust_new_host=True"
t_expect_err "hydro run --trust-new-hosts"
[ -e "$PROJ/known_hosts" ] && t_fail "a refused key was recorded"
t_end

t_case "trust_new_host records the key in the project's known_hosts"
t_run tool "$a2" key="$HOSTS_KEY" trust_new_host=true exec -- echo in
t_expect_rc 0
t_expect_out "in"
t_expect_err "recorded in '$PROJ/known_hosts'"
grep -q "^$a2 ssh-ed25519 $(cut -d' ' -f2 "$HOSTS_DIR/h2/host_ed25519.pub")\$" "$PROJ/known_hosts" ||
	t_fail "not recorded: $(cat "$PROJ/known_hosts")"
t_run tool "$a2" key="$HOSTS_KEY" exec -- echo again
t_expect_rc 0
t_expect_out "again"
t_run "$TOOL" tool --project "$PROJ" --trust-new-hosts host="$a1" key="$HOSTS_KEY" exec -- true
t_expect_rc 0
grep -q "^$a1 " "$PROJ/known_hosts" || t_fail "--trust-new-hosts recorded nothing"
t_end

t_case "a changed key is refused, naming the file and line, even when trusting new hosts"
fresh_home 2
{ echo "# hosts"; echo "$a2 $(cut -d' ' -f1-2 "$HOSTS_DIR/h1/host_ed25519.pub")"; } >"$HOME/.ssh/known_hosts"
t_run tool "$a2" key="$HOSTS_KEY" trust_new_host=true exec -- true
t_expect_rc 255
t_expect_err "$(fp 2) that differs from the one '$HOME/.ssh/known_hosts:2' records"
[ -e "$PROJ/known_hosts" ] && t_fail "a changed key was recorded"
t_end

t_case "hashed known_hosts entries are honoured"
fresh_home 3
known
ssh-keygen -q -H -f "$HOME/.ssh/known_hosts" >/dev/null 2>&1
grep -q "$a2" "$HOME/.ssh/known_hosts" && t_fail "ssh-keygen -H left plain names"
t_run tool "$a2" key="$HOSTS_KEY" exec -- echo hashed
t_expect_rc 0
t_expect_out "hashed"
t_end

t_case "logging in: key=, ~/.ssh/id_ed25519, a refused key named"
fresh_home 4
known
ssh-keygen -q -t ed25519 -N '' -f "$T_TMP/other_key"
t_run tool "$a1" key="$T_TMP/other_key" exec -- true
t_expect_rc 255
t_expect_err "cannot log in as 'root': no key was accepted (tried '$T_TMP/other_key')"
t_run tool "$a1" exec -- true
t_expect_rc 255
t_expect_err "tried none"
cp "$HOSTS_KEY" "$HOME/.ssh/id_ed25519"
t_run tool "$a1" exec -- echo default
t_expect_rc 0
t_expect_out "default"
t_end

t_case "logging in through ssh-agent"
fresh_home 5
known
agent_stop() { [ -n "$SSH_AGENT_PID" ] && kill "$SSH_AGENT_PID" 2>/dev/null; }
t_on_exit agent_stop
eval "$(ssh-agent -s -a "$T_TMP/agent.sock")" >/dev/null
ssh-add -q "$HOSTS_KEY" 2>/dev/null
t_run tool "$a1" exec -- echo agent
t_expect_rc 0
t_expect_out "agent"
ssh-add -q -D 2>/dev/null
t_run tool "$a1" exec -- true
t_expect_rc 255
t_expect_err "the agent's 0 keys"
agent_stop
unset SSH_AUTH_SOCK SSH_AGENT_PID
t_end

fresh_home 6
known
t_case "commands: an awkward argv arrives exactly, output streams, statuses"
nl='
'
set -- 'a b' "it's" '"q"' '$HOME' '' '*' '`id`' ';ls' '\' "x${nl}y" ' lead' 'tab	x' '--'
printf '[%s]\n' "$@" >"$T_TMP/want"
t_run tool "$a1" key="$HOSTS_KEY" exec -- printf '[%s]\n' "$@"
t_expect_rc 0
cmp -s "$T_TMP/out" "$T_TMP/want" || t_fail "argv changed on the way: $(cat "$T_TMP/out")"
t_run tool "$a1" key="$HOSTS_KEY" exec -- sh -c 'echo out; echo err >&2; exit 7'
t_expect_rc 7
t_expect_out "out"
t_expect_err "err"
t_run tool "$a1" key="$HOSTS_KEY" exec -- sh -c 'kill -TERM $$'
t_expect_rc 143
t_run tool "$a1" key="$HOSTS_KEY" compress=true exec -- printf '[%s]\n' "$@"
cmp -s "$T_TMP/out" "$T_TMP/want" || t_fail "argv changed over a compressed connection"
t_run tool "$a1" key="$HOSTS_KEY" compress=maybe exec -- true
t_expect_rc 255
t_expect_err "host 'web': compress must be true or false, not 'maybe'"
t_end

t_case "one connection carries every command of a host"
before=$(grep -c "Accepted publickey" "$HOSTS_DIR/h1/sshd.log")
t_run tool "$a1" key="$HOSTS_KEY" repeat 5 -- echo x
t_expect_rc 0
[ "$(grep -c x "$T_TMP/out")" -eq 5 ] || t_fail "not 5 runs: $(cat "$T_TMP/out")"
after=$(grep -c "Accepted publickey" "$HOSTS_DIR/h1/sshd.log")
[ $((after - before)) -eq 1 ] || t_fail "$((after - before)) logins for 5 commands"
t_end

t_case "the target triple is read from the host"
t_run tool "$a1" key="$HOSTS_KEY" triple
t_expect_rc 0
t_expect_out "$(uname -m)-unknown-linux-gnu"
t_run tool "$a1" key="$HOSTS_KEY" target=aarch64-unknown-linux-musl triple
t_expect_out "aarch64-unknown-linux-musl"
t_end

t_case "the host's glibc is read with its triple and \$HOME"
t_run tool "$a1" key="$HOSTS_KEY" libc
t_expect_rc 0
t_expect_out "$(getconf GNU_LIBC_VERSION)"
t_run tool "$a1" key="$HOSTS_KEY" provision
t_expect_rc 0
t_end

head -c 3000000 /dev/urandom >"$T_TMP/pkg"
hex=$(sha256sum "$T_TMP/pkg" | cut -d' ' -f1)
remote() { tool "$a2" key="$HOSTS_KEY" exec -- sh -c "$1"; }
t_case "an upload lands verified at ~/.hydro/pkgs/<hash>, and is skipped once there"
t_run tool "$a2" key="$HOSTS_KEY" upload "$T_TMP/pkg"
t_expect_rc 0
t_expect_out "copied"
t_run remote "sha256sum ~/.hydro/pkgs/$hex; ls -a ~/.hydro/pkgs"
t_expect_out "$hex  /root/.hydro/pkgs/$hex"
grep -q tmp "$T_TMP/out" && t_fail "a temporary was left: $(cat "$T_TMP/out")"
t_run tool "$a2" key="$HOSTS_KEY" upload "$T_TMP/pkg"
t_expect_rc 0
t_expect_out "present"
t_end

t_case "an upload that arrives damaged never gets its name"
head -c 1000 "$T_TMP/pkg" >"$T_TMP/short"
other=$(printf '%064d' 1)
t_run tool "$a2" key="$HOSTS_KEY" upload "$T_TMP/short" "$other"
t_expect_rc 1
t_expect_err "arrived damaged"
t_expect_err "expected $other"
t_run remote "ls -a ~/.hydro/pkgs"
grep -q "$other" "$T_TMP/out" && t_fail "a damaged upload is there: $(cat "$T_TMP/out")"
t_end

t_case "an upload cut mid-way does not count, and is done again over a new connection"
mkfifo "$T_TMP/fifo" "$T_TMP/gate"
hex2=$(head -c 2000000 /dev/urandom | tee "$T_TMP/pkg2" | sha256sum | cut -d' ' -f1)
timeout 60 "$TOOL" tool --project "$PROJ" host="$a2" key="$HOSTS_KEY" \
	upload "$T_TMP/fifo" "$hex2" >"$T_TMP/cut.out" 2>"$T_TMP/cut.err" &
tool_pid=$!
writer_stop() { kill "$tool_pid" $w_pid 2>/dev/null; }
t_on_exit writer_stop
# the first half, then hold the pipe open until the connection is cut
( exec 3>"$T_TMP/fifo"; head -c 1000000 "$T_TMP/pkg2" >&3; : >"$T_TMP/half"
  read -r _ <"$T_TMP/gate" ) &
w_pid=$!
n=0
while [ ! -e "$T_TMP/half" ] && [ $n -lt 3000 ] && kill -0 "$tool_pid" 2>/dev/null; do
	n=$((n + 1)); sleep 0.01
done
[ -e "$T_TMP/half" ] || t_fail "the upload never started: $(cat "$T_TMP/cut.err")"
# cut: every process of host 2 but its sshd listener
for p in $(ip netns pids "$(host_ns 2)"); do
	[ "$p" = "$(host_pid 2)" ] || kill -9 "$p" 2>/dev/null
done
echo go >"$T_TMP/gate"
wait "$w_pid"
# the retry reads the whole file again (a reader that never comes: the
# writer goes with the tool)
cat "$T_TMP/pkg2" >"$T_TMP/fifo" &
w_pid=$!
wait "$tool_pid"
rc=$?
kill "$w_pid" 2>/dev/null
[ "$rc" -eq 0 ] || t_fail "the retried upload failed ($rc): $(cat "$T_TMP/cut.err")"
grep -q copied "$T_TMP/cut.out" || t_fail "not copied: $(cat "$T_TMP/cut.out")"
grep -q error "$T_TMP/cut.err" && t_fail "a failure that a retry mended was reported"
t_run remote "sha256sum ~/.hydro/pkgs/$hex2"
t_expect_out "$hex2  "
t_end

t_case "ProxyJump: a host reachable only through another"
cat >"$HOME/.ssh/config" <<EOF2
Host bastion
	HostName $a1
	IdentityFile $HOSTS_KEY
Host hidden
	HostName $a3
	User root
	ProxyJump bastion
EOF2
t_run tool hidden key="$HOSTS_KEY" connect_timeout=5 exec -- sh -c 'hostname -I'
t_expect_rc 0
t_expect_out "$a3"
t_run tool "$a3" key="$HOSTS_KEY" connect_timeout=1 connect_attempts=1 exec -- true
[ "$rc" -eq 0 ] && t_fail "host 3 answered without its bastion"
t_run tool hidden key="$HOSTS_KEY" address
t_expect_out "$a3"
rm -f "$HOME/.ssh/config"
t_end

t_case "a run provisions an ssh host: its key checked, recorded when trusted"
fresh_home 7
mkdir -p "$HOME/p"
cat >"$HOME/p/d.json" <<EOF2
{"version": 1,
 "hosts": [{"name": "web", "backend": "ssh", "settings": {"host": "$a1", "key": "$HOSTS_KEY"}}],
 "services": [{"name": "s", "kind": "process", "on": "web", "cmd": ["echo", "hi"]}]}
EOF2
t_run sh -c 'cd "$HOME/p" && timeout 60 "$HYDRO" run d.json'
t_expect_rc 1
t_expect_err "host 'web' ($a1) is not a known host"
sed 's/"key"/"trust_new_host": "true", "key"/' "$HOME/p/d.json" >"$HOME/p/t.json"
t_run sh -c 'cd "$HOME/p" && timeout 60 "$HYDRO" run t.json'
t_expect_err "recorded in '$HOME/p/.hydro/known_hosts'"
grep -q "^$a1 ssh-ed25519 " "$HOME/p/.hydro/known_hosts" || t_fail "no key in the project's known_hosts"
t_end

t_case "a host that never answers fails after its timeout, named, after retries"
host_thaw_2() { host_thaw 2 2>/dev/null; }
t_on_exit host_thaw_2
host_freeze 2
t_run tool "$a2" key="$HOSTS_KEY" connect_timeout=0.5 connect_attempts=2 exec -- true
host_thaw 2
t_expect_rc 255
t_expect_err "host 'web' ($a2:22) did not answer within 0.5 s"
t_expect_err "gave up after 2 attempts"
t_end

t_case "a refused connection is retried, then named"
host_stop 2
t_run tool "$a2" key="$HOSTS_KEY" connect_timeout=2 exec -- true
t_expect_rc 255
t_expect_err "cannot connect to $a2:22: Connection refused"
t_expect_err "gave up after 3 attempts"
t_end

t_done
