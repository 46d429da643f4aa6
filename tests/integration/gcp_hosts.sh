# GCP against real test hosts: the fake's instances take the addresses and
# host keys of sshds in network namespaces (tests/lib/hosts.sh), and the
# host keys hydro reads from guest attributes verify those very sshds.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
hosts_up 2
g_start --op-latency 0.1 --hosts "$HOSTS_KNOWN"

t_case "the VMs' host keys from guest attributes verify the real hosts"
g_config 2 '"ttl": "600"' "sleep 3"
"$HYDRO" run "$W/d.json" >"$T_TMP/out" 2>"$T_TMP/err" &
hp=$!
g_wait "[ -s '$W/.hydro/known_hosts' ] && [ \$(grep -c . '$W/.hydro/known_hosts') -ge 4 ]" ||
	t_fail "the host keys were never recorded: $(cat "$T_TMP/err")"
for i in 1 2; do
	t_run ssh -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$W/.hydro/known_hosts" -o GlobalKnownHostsFile=/dev/null \
		-i "$HOSTS_KEY" root@"$(host_addr $i)" echo verified
	t_expect_rc 0
	t_expect_out verified
done
wait $hp
rc=$?
t_expect_rc 0
g_expect_empty
t_end

t_done
