#!/bin/sh
# A process on a GCP VM through the SSH backend: the fake's instance is a
# real test host (tests/lib/hosts.sh), reached at its address with the
# deployment's key and the host key read from guest attributes; the VM is
# deleted after.  Driven through tests/unit/test_ssh.c's tool.
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

TOOL=$BUILD/tests/unit/test_ssh
W=$T_TMP/w
mkdir -p "$W/.hydro/gcp"
# one host per VM the cases make: the fake hands them out in turn
hosts_up 4
g_start --op-latency 0.1 --hosts "$HOSTS_KNOWN"
unset SSH_AUTH_SOCK
HOME=$T_TMP/home
mkdir -p "$HOME/.ssh"
export HOME
# the test hosts authorize root with the test key: it is the deployment's
# key here, made before the run as the run would make it
id=$(printf %s "$W" | sha256sum | cut -c1-10)
cp "$HOSTS_KEY" "$W/.hydro/gcp/${id}_ed25519"
cp "$HOSTS_KEY.pub" "$W/.hydro/gcp/${id}_ed25519.pub"
vm() {
	timeout 120 "$TOOL" tool --project "$W/.hydro" --backend gcp project=hydro-test \
		zone=us-west1-a ssh_user=root ttl=600 "$@"
}

t_case "a process on a VM: its output and status, its host key verified, the VM gone after"
t_run vm spawn -- sh -c 'echo on-vm; hostname -I; exit 5'
t_expect_rc 5
t_expect_out "on-vm"
t_expect_out "$(host_addr 1)"
grep -q "^$(host_addr 1) ssh-ed25519 " "$W/.hydro/known_hosts" || t_fail "no host key recorded"
g_expect_empty
t_end

t_case "the VM's slots: run, run_dir, machine_id and record through SSH"
t_run vm run -- sh -c 'echo "$HOME"'
t_expect_rc 0
t_expect_out "/root"
t_run vm record
t_expect_out "\"host\":\"$(host_addr 3)\""
t_expect_out "\"user\":\"root\""
t_run vm machine_id
t_expect_out "ssh:root@$(host_addr 4):22"
g_expect_empty
t_end

t_done
