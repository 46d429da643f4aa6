#!/bin/sh
# The SSH backend's slots against real sshds (tests/lib/hosts.sh), through
# tests/unit/test_ssh.c's driver: machine_id, run, probe, free_port,
# run_dir, record, unpack (a good package, checked with openssl's sha256
# or else sha256sum's; refused ones leave nothing); processes (output,
# stdin, exit and signal statuses, a group signalled or ending with its
# leader, the connection cut and the driver killed: the process ends; kept ones
# survive, cleanup from a record, refused when the start time differs);
# a tunnel to a port only the host sees; two hosts behind one bastion
# sharing one connection to it.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

TOOL=$BUILD/tests/unit/test_ssh
hosts_up 1
hosts_add_behind 1
hosts_add_behind 1
a1=$(host_addr 1) ns1=$(host_ns 1) a2=$(host_addr 2) a3=$(host_addr 3)
unset SSH_AUTH_SOCK
HOME=$T_TMP/home
mkdir -p "$HOME/.ssh"
cp "$HOSTS_KNOWN" "$HOME/.ssh/known_hosts"
export HOME
tool() { timeout 60 "$TOOL" tool --project "$HOME/proj/.hydro" host="$a1" key="$HOSTS_KEY" user=root "$@"; }
# a command on host 1 as its sshd runs it (its mount namespace: its /root)
on1() { ip netns exec "$ns1" nsenter -t "$(host_pid 1)" -m -- "$@"; }

t_case "machine_id names the user, address and port"
t_run tool machine_id
t_expect_rc 0
t_expect_out "ssh:root@$a1:22"
t_end

t_case "run gives the exact argv, the output and the exit status"
t_run tool run -- sh -c 'printf "%s|" "$@"; echo err >&2; exit 3' sh 'a b' "it's" '$HOME' ''
t_expect_rc 3
t_expect_out "a b|it's|\$HOME||"
t_expect_err "err"
t_end

t_case "run_dir is absolute under the host's home; record names no secret"
t_run tool run_dir r1 web
t_expect_rc 0
t_expect_out "/root/.hydro/runs/r1/web"
t_run tool record
t_expect_rc 0
t_expect_out "\"host\":\"$a1\""
t_expect_out "\"key\":\"$HOSTS_KEY\""
grep -q "PRIVATE" "$T_TMP/out" && t_fail "the record holds key material"
t_end

t_case "probe says whether something listens, seen from the host"
port=$(tool free_port)
[ -n "$port" ] || t_fail "no free port"
t_run tool probe 127.0.0.1 "$port"
t_expect_rc 0
t_expect_out "0"
# a listener inside the host's namespace only: this machine cannot see it
ip netns exec "$ns1" python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("up", flush=True)
time.sleep(600)' "$port" >"$T_TMP/listener" 2>&1 &
lpid=$!
while ! grep -qs up "$T_TMP/listener"; do kill -0 $lpid 2>/dev/null || break; sleep 0.02; done
t_run tool probe 127.0.0.1 "$port"
t_expect_rc 0
t_expect_out "1"
kill $lpid
wait $lpid 2>/dev/null
t_end

# packages: a good one from archive_pack, bad ones made by hand
mkdir -p "$T_TMP/pkg" "$T_TMP/files"
echo hello >"$T_TMP/files/a.txt"
printf '#!/bin/sh\necho run\n' >"$T_TMP/files/prog"
chmod 755 "$T_TMP/files/prog"
good=$("$TOOL" pack "$T_TMP/pkg" "$T_TMP/files/prog" "$T_TMP/files/a.txt")
# bad KIND: a gzip tar with a manifest that lists its one file rightly
# (but for "hash"), and the trouble KIND names
bad() {
	python3 - "$1" "$T_TMP/bad-$1.tar.gz" <<'PY'
import hashlib, io, json, sys, tarfile
kind, out = sys.argv[1], sys.argv[2]
data = b"payload\n"
name = {"dotdot": "../x", "abs": "/tmp/x", "link": "x", "hash": "x", "twice": "x"}[kind]
files = [{"name": name.lstrip("/"), "mode": 420, "sha256": hashlib.sha256(data).hexdigest()}]
if kind == "hash":
    files[0]["sha256"] = "0" * 64
t = tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT)
def add(n, d, typ=tarfile.REGTYPE, target=""):
    i = tarfile.TarInfo(n); i.size = len(d); i.mode = 0o644; i.type = typ; i.linkname = target
    if typ != tarfile.REGTYPE: i.size = 0
    t.addfile(i, io.BytesIO(d) if typ == tarfile.REGTYPE else None)
if kind == "link":
    add("x", b"", tarfile.SYMTYPE, "/etc/passwd")
else:
    add(name, data)
if kind == "twice":
    add(name, b"other\n")
m = json.dumps({"format": 1, "kind": "process", "files": files}).encode() + b"\n"
add("hydro-manifest.json", m)
t.close()
PY
	echo "$T_TMP/bad-$1.tar.gz"
}
# what is under the host's runs folder, and its unpacked packages
runs() { tool run -- sh -c 'cd /root/.hydro && find runs pkgs -name "*.d*" -o -path "runs/*" | sort'; }

t_case "unpack: a package's files, modes and nothing else, under a new directory"
t_run tool unpack "$good" /root/.hydro/runs/r1/web
t_expect_rc 0
t_run tool run -- sh -c 'cd /root/.hydro/runs/r1/web && ls -A && cat a.txt && ./prog && stat -c %a prog a.txt'
t_expect_rc 0
[ "$(cat "$T_TMP/out")" = "$(printf 'a.txt\nprog\nhello\nrun\n755\n644')" ] ||
	t_fail "unpacked: $(cat "$T_TMP/out")"
t_run tool unpack "$good" /root/.hydro/runs/r1/web
t_expect_rc 1
t_expect_err "exists already"
t_end

t_case "unpack on a host without zstd: hydro sends the package's tar"
case $good in
*.zst)
	# the package unpacked before is not there to be used
	tool run -- sh -c 'rm -rf /root/.hydro/pkgs/*.d'
	# zstd hidden from host 1's sshd and what it runs (its mount namespace)
	nsenter -t "$(host_pid 1)" -m mount --bind /dev/null /usr/bin/zstd ||
		t_fail "cannot hide zstd"
	t_run tool run -- sh -c 'zstd -V'
	[ "$rc" -eq 0 ] && t_fail "zstd still runs on the host"
	t_run tool unpack "$good" /root/.hydro/runs/r1/nozstd
	t_expect_rc 0
	t_run tool run -- cat /root/.hydro/runs/r1/nozstd/a.txt
	t_expect_out hello
	# unpacked into the zstd package's HASH.d: used from there next time
	t_run tool unpack "$good" /root/.hydro/runs/r1/nozstd2
	t_expect_rc 0
	t_run tool run -- sh -c 'ls -d /root/.hydro/pkgs/*.d | wc -l; cat /root/.hydro/runs/r1/nozstd2/a.txt'
	[ "$(cat "$T_TMP/out")" = "$(printf '1\nhello')" ] || t_fail "unpacked: $(cat "$T_TMP/out")"
	nsenter -t "$(host_pid 1)" -m umount /usr/bin/zstd
	;;
*) echo "# packages are not zstd here" ;;
esac
t_end

t_case "unpack checks every file with sha256sum on a host without openssl"
tool run -- sh -c 'rm -rf /root/.hydro/pkgs/*.d'
nsenter -t "$(host_pid 1)" -m mount --bind /dev/null /usr/bin/openssl ||
	t_fail "cannot hide openssl"
t_run tool unpack "$good" /root/.hydro/runs/r1/noopenssl
t_expect_rc 0
t_run tool run -- cat /root/.hydro/runs/r1/noopenssl/a.txt
t_expect_out hello
tool run -- mkdir -p /root/.hydro/runs/r2
t_run tool unpack "$(bad hash)" /root/.hydro/runs/r2/noopenssl
t_expect_rc 1
t_expect_err "does not match its manifest"
nsenter -t "$(host_pid 1)" -m umount /usr/bin/openssl
t_end

tool run -- mkdir -p /root/.hydro/runs/r2
for k in dotdot abs link hash twice; do
	t_case "unpack refuses a package with $k, leaving nothing"
	before=$(runs)
	t_run tool unpack "$(bad $k)" /root/.hydro/runs/r2/$k
	t_expect_rc 1
	t_expect_err "host 'web': cannot unpack '~/.hydro/pkgs/"
	cat "$T_TMP/err" >>"$T_TMP/refusals"
	after=$(runs)
	[ "$before" = "$after" ] || t_fail "left: $after"
	t_run tool run -- sh -c 'ls /tmp/x /root/.hydro/x /x 2>/dev/null'
	[ -s "$T_TMP/out" ] && t_fail "escaped: $(cat "$T_TMP/out")"
	t_end
done

# wait (20 s at most) until process $1 is gone; 1 if it is not
gone() {
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt 400 ]; do
		n=$((n + 1))
		sleep 0.05
	done
	! kill -0 "$1" 2>/dev/null
}
# the driver in the background, its stdout and stderr in $T_TMP/bg.out, .err
bg() {
	: >"$T_TMP/bg.out"
	"$TOOL" tool --project "$HOME/proj/.hydro" host="$a1" key="$HOSTS_KEY" user=root \
		"$@" >"$T_TMP/bg.out" 2>"$T_TMP/bg.err" &
	bgpid=$!
}
# wait until the background driver's stdout has a line; it is in $line
first_line() {
	while ! [ -s "$T_TMP/bg.out" ] && kill -0 $bgpid 2>/dev/null; do sleep 0.02; done
	line=$(head -n 1 "$T_TMP/bg.out")
}

# a remote sleep spawned by the driver in the background; its pid in $rp
sleeper() {
	bg spawn -- sh -c 'echo $$; exec sleep 1000'
	first_line
	rp=$line
	[ -n "$rp" ] && kill -0 "$rp" || t_fail "no process: $(cat "$T_TMP/bg.err")"
}

t_case "spawn: stdout and stderr apart, the exit status, the pid before any output"
t_run tool spawn -- sh -c 'echo out; echo err >&2; exit 3'
t_expect_rc 3
[ "$(cat "$T_TMP/out")" = out ] || t_fail "stdout: $(cat "$T_TMP/out")"
t_expect_err "err"
head -n 1 "$T_TMP/err" | grep -q "^spawned [0-9]* [0-9]* [0-9]*$" || t_fail "no pid first"
t_end

t_case "spawn: stdin goes to the process, its end too"
t_run sh -c 'printf "one\ntwo\n" | "$@"' sh "$TOOL" tool --project "$HOME/proj/.hydro" \
	host="$a1" key="$HOSTS_KEY" user=root spawn --stdin -- sh -c 'read x; echo "got $x"; cat; echo end'
t_expect_rc 0
[ "$(cat "$T_TMP/out")" = "$(printf 'got one\ntwo\nend')" ] || t_fail "stdout: $(cat "$T_TMP/out")"
t_end

t_case "spawn: cwd and environment; a missing cwd fails the spawn"
t_run tool spawn --cwd /tmp --env "A=b c" -- sh -c 'pwd; echo "$A"'
t_expect_rc 0
[ "$(cat "$T_TMP/out")" = "$(printf '/tmp\nb c')" ] || t_fail "stdout: $(cat "$T_TMP/out")"
t_run tool spawn --cwd /nonexistent -- true
t_expect_rc 254
t_expect_err "host 'web': cannot start 'true': cannot change to '/nonexistent' there"
t_end

t_case "signal: a signal's status is 128+n, and it reaches the whole group"
t_run tool spawn --signal 15 -- sh -c 'echo up; exec sleep 100'
t_expect_rc 143
grep -q Terminated "$T_TMP/err" && t_fail "the shell's word reached stderr"
t_run tool spawn --signal 9 -- sh -c 'sleep 100 & echo $!; wait'
t_expect_rc 137
child=$(cat "$T_TMP/out")
[ -n "$child" ] && gone "$child" || t_fail "the group's other process $child lives on"
t_end

t_case "a process's group ends with it, without hydro signalling it; a kept one's stays"
t_run tool spawn -- sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'
t_expect_rc 0
child=$(cat "$T_TMP/out")
[ -n "$child" ] && gone "$child" || t_fail "the group's other process $child lives on"
t_run tool spawn --keep -- sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'
t_expect_rc 0
child=$(cat "$T_TMP/out")
[ -n "$child" ] && kill -0 "$child" 2>/dev/null || t_fail "a kept process's group was killed"
[ -n "$child" ] && kill -9 "$child" 2>/dev/null
t_end

t_case "a process ends when the driver is killed (kill -9)"
sleeper
kill -9 $bgpid
wait $bgpid 2>/dev/null
gone "$rp" || t_fail "process $rp outlived the driver"
t_end

t_case "a process ends when its connection is cut (sshd's session killed)"
sleeper
for p in $(ip netns pids "$ns1"); do
	[ "$p" != "$(host_pid 1)" ] && [ "$(cat /proc/$p/comm 2>/dev/null)" = sshd ] && kill -9 "$p"
done
wait $bgpid
[ $? -eq 255 ] || t_fail "the driver did not see the loss"
grep -q "the connection was lost; the exit status of process $rp is not known" "$T_TMP/bg.err" ||
	t_fail "stderr: $(cat "$T_TMP/bg.err")"
gone "$rp" || t_fail "process $rp outlived its connection"
t_end

t_case "a kept process outlives the driver, writing on; cleanup ends it only if its start time matches"
t_run tool spawn --keep --detach -- sh -c 'i=0; while :; do i=$((i + 1)); echo $i; echo $i >/tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.02; done'
t_expect_rc 0
set -- $(cat "$T_TMP/err")
pid=$2 pgid=$3 ident=$4
n0=$(tool run -- cat /tmp/n)
while n=$(tool run -- cat /tmp/n) && [ "$n" -lt $((n0 + 20)) ] && kill -0 "$pid"; do sleep 0.05; done
kill -0 "$pid" 2>/dev/null || t_fail "the kept process died"
t_run tool cleanup "$pid" "$pgid" $((ident + 1))
t_expect_rc 0
kill -0 "$pid" 2>/dev/null || t_fail "a record with another start time killed it"
t_run tool cleanup "$pid" "$pgid" "$ident"
t_expect_rc 0
gone "$pid" || t_fail "cleanup left it"
t_run tool cleanup "$pid" "$pgid" "$ident"
t_expect_rc 0
t_end

# an echo server on 127.0.0.1 inside host 1's namespace; its port in $eport
echo_up() {
	eport=$(tool free_port)
	ip netns exec "$ns1" python3 -c '
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("up", flush=True)
def serve(c):
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()' "$eport" >"$T_TMP/echo" 2>&1 &
	epid=$!
	while ! grep -qs up "$T_TMP/echo"; do kill -0 $epid 2>/dev/null || break; sleep 0.02; done
}

t_case "tunnel: a local port reaching a port only the host sees, both ways, many connections"
echo_up
cat >"$T_TMP/client.py" <<'PY'
import os, socket, threading
port = int(os.environ["HYDRO_TUNNEL_PORT"])
data = os.urandom(1 << 20)
def one(ok):
    c = socket.create_connection(("127.0.0.1", port))
    threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR))).start()
    got = b""
    while True:
        d = c.recv(65536)
        if not d: break
        got += d
    ok.append(got == data)
oks = []
ts = [threading.Thread(target=one, args=(oks,)) for _ in range(3)]
[t.start() for t in ts]
[t.join() for t in ts]
print("echoed" if oks == [True] * 3 else "wrong: %r" % oks)
PY
t_run tool tunnel 127.0.0.1 "$eport" -- "python3 $T_TMP/client.py"
t_expect_rc 0
t_expect_out "echoed"
kill $epid
wait $epid 2>/dev/null
t_end

t_case "two hosts behind one bastion share one connection to it"
cat >"$HOME/.ssh/config" <<EOF2
Host bastion
	HostName $a1
	User root
	IdentityFile $HOSTS_KEY
Host hid2
	HostName $a2
	User root
	ProxyJump bastion
Host hid3
	HostName $a3
	User root
	ProxyJump bastion
EOF2
logins() { grep -c "Accepted publickey" "$HOSTS_DIR/h1/sshd.log"; }
before=$(logins)
t_run timeout 60 "$TOOL" tool --project "$HOME/proj/.hydro" host=hid2 key="$HOSTS_KEY" pair hid3 -- sh -c 'hostname -I'
t_expect_rc 0
t_expect_out "$a2"
t_expect_out "$a3"
[ $(($(logins) - before)) -eq 1 ] || t_fail "$(($(logins) - before)) logins to the bastion"
t_run timeout 60 "$TOOL" tool --project "$HOME/proj/.hydro" host=hid2 key="$HOSTS_KEY" spawn -- sh -c 'echo via; exit 4'
t_expect_rc 4
t_expect_out "via"
rm -f "$HOME/.ssh/config"
t_end

[ -n "$VERBOSE" ] && cat "$T_TMP/refusals" >&2
t_done
