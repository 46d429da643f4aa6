#!/bin/sh
# What hydro leaves on an SSH host is pruned there once a run is done
# (tests/lib/hosts.sh: a real sshd in a network namespace): run folders
# beyond HYDRO_KEEP_RUNS, but one a live process names in HYDRO_RUN_DIR
# (a run left by --keep), one not named as hydro names them, a symbolic
# link, or what it points to; packages unused for PRUNE_AGE, but one used
# lately.  (run_prune.sh: the same here.)
. "$TOP/tests/lib.sh"
. "$TOP/tests/lib/hosts.sh"

hosts_up 1
a1=$(host_addr 1)
hosts_client "$T_TMP/home"
P=$T_TMP/proj
mkdir -p "$P"
on1() { host_sh 1 "$*"; }
stop_all() { for p in $(host_procs 1); do kill -9 $p; done; }
t_on_exit stop_all
printf '{"version": 1, "hosts": [{"name": "far", "backend": "ssh", "settings":
  {"host": "%s", "key": "%s"}}], "services": [{"name": "s", "kind": "process",
  "on": "far", "cmd": ["echo", "hi"]}]}\n' "$a1" "$HOSTS_KEY" >"$P/run.json"

A=$(printf 'a%.0s' $(seq 64)) B=$(printf 'b%.0s' $(seq 64)) C=$(printf 'c%.0s' $(seq 64))
R=/root/.hydro/runs K=/root/.hydro/pkgs

t_case "old run folders and packages on a host go once a run is done, not others"
on1 "mkdir -p $R/notes /root/outside $K && : >/root/outside/mine &&
	ln -s /root/outside $R/20190101-000000-1-0 &&
	for i in 1 2 3 4 5; do mkdir -p $R/20200101-00000\$i-1-0/s; done &&
	mkdir -p $R/20190102-000000-7-0/s &&
	for k in $A $B $C; do
		echo x >$K/\$k && mkdir -p $K/\$k.d/pkg && echo y >$K/\$k.d/pkg/f &&
		: >$K/\$k.d/ok && : >$K/\$k.d/used || exit 1
	done &&
	find $K/$A $K/$A.d $K/$B $K/$B.d -exec touch -h -d '10 days ago' {} + &&
	touch -d '2 hours ago' $K/$B.d/used &&
	echo 99999999999 >/root/.hydro/scanned" || t_fail "cannot set the host up"
# (packages are looked at once an hour, by the seconds since boot: a
# time past them is from before a reboot)
# a process of a kept run, naming its folder
on1 "HYDRO_RUN_DIR=$R/20190102-000000-7-0/s setsid sleep 300 </dev/null >/dev/null 2>&1 &
	echo \$! >/root/kept.pid"
t_run env HYDRO_KEEP_RUNS=3 timeout 120 "$HYDRO" --color=never run "$P/run.json"
t_expect_rc 0
t_expect_out "hi"
# the guard prunes once hydro is gone: wait for the old package to go and
# the pruner to finish
n=0
while { on1 "[ -e $K/$A ] || ls -d /root/.hydro/trash.* " >/dev/null 2>&1; } && [ $n -lt 600 ]; do
	n=$((n + 1))
	sleep 0.1
done
on1 "[ ! -e $K/$A ] && [ ! -e $K/$A.d ]" || t_fail "the package unused for 10 days is left"
on1 "[ -e $K/$B ] && [ -e $K/$B.d/pkg/f ] && [ -e $K/$C ] && [ -e $K/$C.d/pkg/f ]" ||
	t_fail "a package used lately was removed: $(on1 "ls $K")"
left=$(on1 "ls $R" | tr '\n' ' ')
run=$(on1 "ls $R" | grep '^20[0-9]*-[0-9]*-[0-9]*-[0-9]*$' | sort | tail -n 1)
for r in 20200101-000001-1-0 20200101-000002-1-0 20200101-000003-1-0; do
	case " $left " in *" $r "*) t_fail "$r is left: $left" ;; esac
done
for r in 20200101-000004-1-0 20200101-000005-1-0 "$run" 20190102-000000-7-0 notes \
	20190101-000000-1-0; do
	case " $left " in *" $r "*) ;; *) t_fail "$r was removed: $left" ;; esac
done
on1 "[ -L $R/20190101-000000-1-0 ] && [ -e /root/outside/mine ]" ||
	t_fail "the link or what it points to was removed"
t_end

t_case "with the kept run's process gone, its folder goes too"
on1 'kill -9 $(cat /root/kept.pid)'
t_run env HYDRO_KEEP_RUNS=3 timeout 120 "$HYDRO" --color=never run "$P/run.json"
t_expect_rc 0
n=0
while on1 "[ -e $R/20190102-000000-7-0 ] || ls -d /root/.hydro/trash.*" >/dev/null 2>&1 &&
	[ $n -lt 600 ]; do
	n=$((n + 1))
	sleep 0.1
done
on1 "[ ! -e $R/20190102-000000-7-0 ]" || t_fail "the folder of the ended run is left"
[ "$(on1 "ls $R" | grep -c '^20[0-9]*-[0-9]*-[0-9]*-[0-9]*$')" -eq 4 ] ||
	t_fail "not 3 run folders and the link: $(on1 "ls $R" | tr '\n' ' ')"
t_end

t_done
