# The design document's echo.hydro.py word for word (tests/python/
# echo.hydro.py: two GcpMachine(project="hydro-1234", zone="us-west1-a",
# type="e2-micro"), the echo example's compiled .hf programs) run end to end
# against the fake Compute Engine, whose instances are real test hosts
# (tests/lib/hosts.sh: network namespaces, each a real sshd): two VMs
# created, ten echoes across them, both deleted, nothing left in the fake
# (no instance, no firewall rule) nor running on the hosts.
. "$TOP/tests/lib.sh"
. "$TOP/tests/python/lib.sh"	# a Python config: LSan as for those
. "$TOP/tests/lib/hosts.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

CARGO_TARGET_DIR=$TOP/build/cargo-target
HYDRO_CACHE_DIR=$T_TMP/cache
export CARGO_TARGET_DIR HYDRO_CACHE_DIR
unset SSH_AUTH_SOCK

hosts_up 2

# A VM's login is the user its ssh-keys metadata names, 'hydro' (the
# seed's GcpMachine names none): on these hosts 'hydro' is root under
# another name, from a private /etc/passwd in the mount namespace of a
# restarted sshd (home /root, whose authorized_keys holds the test key)
hydro_login() {
	d=$HOSTS_DIR/h$1
	host_stop "$1"
	{ cat /etc/passwd; echo "hydro:x:0:0:hydro:/root:/bin/sh"; } >"$d/passwd"
	(ip netns exec "$(host_ns "$1")" sh -c '
		mount -t tmpfs -o mode=1777 tmpfs /tmp &&
		mount -t tmpfs -o mode=700 tmpfs /root &&
		cp -a /etc/skel/. /root/ &&
		mkdir -m 700 /root/.ssh &&
		cp "$2" /root/.ssh/authorized_keys &&
		mount --bind "$1/passwd" /etc/passwd &&
		exec /usr/sbin/sshd -D -f "$1/sshd_config" -E "$1/sshd.log"' sh "$d" "$HOSTS_KEY.pub" \
		</dev/null >/dev/null 2>"$d/start.err" &)
	n=0
	while [ ! -s "$d/sshd.pid" ] && [ $n -lt 500 ]; do n=$((n + 1)); sleep 0.02; done
	[ -s "$d/sshd.pid" ] || t_fail "sshd of host $1 did not start: $(cat "$d/start.err")"
}
hydro_login 1
hydro_login 2

g_start --op-latency 0.1 --hosts "$HOSTS_KNOWN"
EX=$T_TMP/echo
cp -r "$TOP/examples/echo" "$EX"
cp "$TOP/tests/python/echo.hydro.py" "$EX/echo.hydro.py"
# the deployment's SSH key, made before the run as the run would make it
# (.hydro/gcp/ID_ed25519, ID from the project's path): the test key, which
# the hosts authorize
id=$(printf %s "$EX" | sha256sum | cut -c1-10)
mkdir -p "$EX/.hydro/gcp"
cp "$HOSTS_KEY" "$EX/.hydro/gcp/${id}_ed25519"
cp "$HOSTS_KEY.pub" "$EX/.hydro/gcp/${id}_ed25519.pub"
# whatever a failed run left, hydro's own record removes
leftovers() { "$HYDRO" -C "$EX" down >/dev/null 2>&1; }
t_on_exit leftovers

t_case "the seed's programs compile for its GCP machines"
t_run timeout 1800 nice "$HYDRO" --color=never -C "$EX" build echo.hydro.py
t_expect_rc 0
t_end

t_case "the seed's echo.hydro.py: two VMs, ten echoes across them, both deleted"
t_run timeout -k 10 300 "$HYDRO" --color=never -C "$EX" run echo.hydro.py
t_expect_rc 0
# the script prints the client's first ten lines: echoes from the
# server's VM
a1=$(host_addr 1) a2=$(host_addr 2)
n=$(grep -c "^[0-9-]* [0-9:.]* UTC: Got EchoMsg { payload: \"ping [0-9]*\", ts: .* } from \($a1\|$a2\):[0-9]*\$" "$T_TMP/out")
[ "$n" -eq 10 ] || t_fail "expected 10 echoes from a VM, got $n: $(head -c 800 "$T_TMP/out") $(tail -5 "$T_TMP/err")"
[ "$(g_state counts.inserts)" -eq 2 ] || t_fail "not two VMs created: $(g_state counts.inserts)"
[ "$(g_state counts.deletes)" -ge 2 ] || t_fail "the VMs were not deleted: $(g_state counts.deletes)"
g_expect_empty
for i in 1 2; do
	[ -z "$(host_procs $i)" ] || t_fail "left running on VM $i: $(host_procs $i)"
done
"$HYDRO" -C "$EX" down --dry-run >"$T_TMP/left" 2>&1
grep -qv nothing "$T_TMP/left" && t_fail "records left in the state file: $(cat "$T_TMP/left")"
t_end

t_done
