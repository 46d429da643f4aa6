#!/bin/sh
# Runs on SSH hosts again with nothing changed (tests/lib/hosts.sh: network
# namespaces running a real sshd): a package is unpacked once per host into
# ~/.hydro/pkgs/HASH.d and each run's folder is made of hard links to it, so
# that a second run runs neither tar nor sha256sum there, and three commands
# and no SFTP session on each host; a HASH.d changed
# since, or without its record, is not trusted; the target triples of
# several hosts are read while planning, and a host that does not answer is
# named once.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

CARGO_TARGET_DIR=$T_TMP/target
export CARGO_TARGET_DIR

hosts_up 3
unset SSH_AUTH_SOCK
P=$T_TMP/proj
mkdir -p "$P/.hydro" "$P/prog/src"
cp "$HOSTS_KNOWN" "$P/.hydro/known_hosts"
# a crate answering the protocol as a service with no ports: it says the
# program it runs as
cat >"$P/prog/Cargo.toml" <<'EOF'
[package]
name = "warm"
version = "0.1.0"
edition = "2021"
publish = false

[[bin]]
name = "warm"
path = "src/main.rs"

[workspace]
EOF
cat >"$P/prog/src/main.rs" <<'EOF'
use std::io::{self, BufRead, Write};

fn main() {
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines();
    let mut out = io::stdout();
    if let Some(Ok(_init)) = lines.next() {
        let _ = writeln!(out, "ready: {{}}").and_then(|_| out.flush());
        let _ = lines.next();
        let _ = writeln!(out, "ack start");
    }
    let exe = std::env::current_exe().unwrap();
    let _ = writeln!(out, "running {}", exe.display());
}
EOF
# a deployment of the crate on hosts 1..$1 (h1.. as hosts, s1.. as
# services), the triples read from the hosts; $2 more settings of the last
deployment() {
	i=0
	hosts= services=
	while [ $i -lt "$1" ]; do
		i=$((i + 1))
		more=
		[ $i -eq "$1" ] && more=$2
		hosts="$hosts${hosts:+,}{\"name\": \"h$i\", \"backend\": \"ssh\", \"settings\":
		  {\"host\": \"$(host_addr $i)\", \"key\": \"$HOSTS_KEY\"$more}}"
		services="$services${services:+,}{\"name\": \"s$i\", \"kind\": \"crate\",
		  \"on\": \"h$i\", \"src\": \"prog\"}"
	done
	printf '{"version": 1, "hosts": [%s], "services": [%s]}\n' "$hosts" "$services" \
		>"$P/d.json"
}
hydro_() { (cd "$P" && timeout 600 "$HYDRO" --color=never "$@"); }
# on host i: a shell command as its sshd runs it (its mount namespace)
on() { i=$1; shift; ip netns exec "$(host_ns $i)" nsenter -t "$(host_pid $i)" -m -- sh -c "$*"; }
# host i's only HASH.d, and the run folder of its service in the last run
dot_d() { on "$1" 'ls -d /root/.hydro/pkgs/*.d'; }
last_run() { echo "/root/.hydro/runs/$(on "$1" 'ls -t /root/.hydro/runs | head -n 1')/s$1"; }
inode() { on "$1" "stat -c %i '$2'"; }
# the programs a warm run must not need, hidden on host i (and shown again)
hide() { for p in tar zstd sha256sum openssl; do on "$1" "mount --bind /dev/null /usr/bin/$p"; done; }
unhide() { for p in tar zstd sha256sum openssl; do on "$1" "umount /usr/bin/$p" 2>/dev/null; done; }
unhide_all() { for i in 1 2; do unhide $i; done; }
t_on_exit unhide_all

t_case "a first run unpacks each host's package once, into ~/.hydro/pkgs/HASH.d"
deployment 2
t_run hydro_ run d.json
t_expect_rc 0
for i in 1 2; do
	grep -q "^s$i | running /root/.hydro/runs/.*/s$i/bin/warm$" "$T_TMP/out" ||
		t_fail "s$i did not run from its run folder: $(cat "$T_TMP/out" "$T_TMP/err")"
	d=$(dot_d $i)
	case $d in /root/.hydro/pkgs/[0-9a-f]*.d) ;; *) t_fail "host $i: no HASH.d: $d" ;; esac
	on $i "test -s '$d/ok' && test -f '$d/pkg/bin/warm'" || t_fail "host $i: $d is not whole"
	[ "$(inode $i "$d/pkg/bin/warm")" = "$(inode $i "$(last_run $i)/bin/warm")" ] ||
		t_fail "host $i: the run folder's program is not a link to $d's"
	on $i "ls -a /root/.hydro/pkgs /root/.hydro/runs/*" | grep -q 'tmp' &&
		t_fail "host $i: a temporary is left: $(on $i 'ls -aR /root/.hydro')"
done
t_end

t_case "a second run with nothing changed runs no tar, zstd, sha256sum or openssl on the hosts"
first=$(last_run 1)
hide 1
hide 2
on 1 'tar --version' >/dev/null 2>&1 && t_fail "tar still runs on host 1"
t_run hydro_ run d.json
t_expect_rc 0
for i in 1 2; do
	grep -q "^s$i | running " "$T_TMP/out" || t_fail "s$i did not run: $(cat "$T_TMP/err")"
	[ "$(inode $i "$(dot_d $i)/pkg/bin/warm")" = "$(inode $i "$(last_run $i)/bin/warm")" ] ||
		t_fail "host $i: the run folder's program is not a link to the HASH.d's"
done
[ "$(last_run 1)" != "$first" ] || t_fail "no new run folder on host 1"
grep -q "warning" "$T_TMP/err" && t_fail "warned: $(cat "$T_TMP/err")"
t_end

# the sessions host i's sshd started so far: commands (KIND "command") or
# SFTP servers ("subsystem"); its log says each (LogLevel VERBOSE)
sessions() { grep -c "Starting session: $2" "$HOSTS_DIR/h$1/sshd.log"; }

t_case "a run with nothing changed takes three commands per host, and no SFTP"
for i in 1 2; do
	eval "c$i=$(sessions $i command) s$i=$(sessions $i subsystem)"
done
t_run hydro_ run d.json
t_expect_rc 0
for i in 1 2; do
	eval "c=\$c$i s=\$s$i"
	# its facts (then its guard), the unpack, the process
	[ $(($(sessions $i command) - c)) -eq 3 ] ||
		t_fail "host $i: $(($(sessions $i command) - c)) commands, not 3"
	[ "$(sessions $i subsystem)" -eq "$s" ] || t_fail "host $i: an SFTP session"
done
t_end

exe=$(find "$CARGO_TARGET_DIR" "$P/.hydro" -type f -name warm -perm -u+x | head -n 1)
want=$(sha256sum <"$exe" | cut -d' ' -f1)

t_case "a HASH.d whose file was changed through a run folder's link is not trusted"
unhide 1
unhide 2
# one byte of the program written in place, as a service could
on 1 "printf x | dd of='$(last_run 1)/bin/warm' bs=1 seek=4096 conv=notrunc 2>/dev/null"
[ "$(on 1 "sha256sum <'$(dot_d 1)/pkg/bin/warm'" | cut -d' ' -f1)" != "$want" ] ||
	t_fail "the HASH.d's program did not change"
t_run hydro_ run d.json
t_expect_rc 0
t_expect_err "host 'h1': '~/.hydro/pkgs/"
t_expect_err ".d' was changed or is incomplete; unpacking"
grep -q "host 'h2'.*changed" "$T_TMP/err" && t_fail "host 2's copy was not trusted"
[ "$(on 1 "sha256sum <'$(last_run 1)/bin/warm'" | cut -d' ' -f1)" = "$want" ] ||
	t_fail "the new run folder's program is not the package's"
grep -q "^s1 | running " "$T_TMP/out" || t_fail "s1 did not run: $(cat "$T_TMP/err")"
t_end

t_case "a HASH.d without its record, or with another file, is not trusted"
on 1 "rm '$(dot_d 1)/ok'"
on 2 "echo extra >'$(dot_d 2)/pkg/extra'"
t_run hydro_ run d.json
t_expect_rc 0
for i in 1 2; do
	grep -q "host 'h$i': .*changed or is incomplete" "$T_TMP/err" ||
		t_fail "host $i's copy was trusted: $(cat "$T_TMP/err")"
	on $i "test -s '$(dot_d $i)/ok'" || t_fail "host $i: no new record"
done
on 2 "test -e '$(last_run 2)/extra'" && t_fail "the extra file reached the run folder"
t_end

t_case "the target triples of several hosts are read while planning"
deployment 3
logs() { for i in 1 2 3; do wc -l <"$HOSTS_DIR/h$i/sshd.log"; done; }
before=$(logs)
t_run hydro_ plan d.json
t_expect_rc 0
t_expect_out "for x86_64-unknown-linux-gnu"
i=0
for n in $before; do
	i=$((i + 1))
	tail -n +$((n + 1)) "$HOSTS_DIR/h$i/sshd.log" | grep -q "Accepted publickey" ||
		t_fail "host $i was not asked: $(tail -n +$((n + 1)) "$HOSTS_DIR/h$i/sshd.log")"
done
t_end

t_case "a host that does not answer is named once, the others read"
thaw3() { host_thaw 3; }
t_on_exit thaw3
host_freeze 3
deployment 3 ', "connect_timeout": "1", "connect_attempts": "1"'
for cmd in plan run; do
	t_run hydro_ $cmd d.json
	t_expect_rc 1
	[ "$(grep -c "host 'h3'" "$T_TMP/err")" -eq 1 ] ||
		t_fail "$cmd: host 'h3' is not named once: $(cat "$T_TMP/err")"
	[ "$(grep -c "error" "$T_TMP/err")" -eq 1 ] ||
		t_fail "$cmd: more than its error: $(cat "$T_TMP/err")"
	grep -q "host 'h[12]'" "$T_TMP/err" && t_fail "$cmd: another host named: $(cat "$T_TMP/err")"
done
host_thaw 3
t_end

t_done
