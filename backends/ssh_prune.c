/*
 * ssh_prune: what hydro left on an SSH host, pruned there by prune.h's
 * policy, at no cost to a run: ~/.hydro/runs/RUN folders beyond the most
 * recent HYDRO_KEEP_RUNS, and packages (~/.hydro/pkgs/HASH, HASH.d, the
 * temporaries of both) by their last use.
 *
 * No hydro connected to the host sees anything go.  Every connection's
 * facts command (ssh_transport.c) marks it before it lists the packages:
 * it makes ~/.hydro/conn.PID (its pid: the shell goes on as the guard,
 * ssh_proc.c, for the connection's life), then waits while a pruner is at
 * work (~/.hydro/pruning, by taking a shared flock(1) on ~/.hydro/lock,
 * which the pruner holds exclusive); builtins only, but for that wait.
 * When the guard has done its work (hydro is gone), it writes "done" in
 * its mark (marks of connections over go once there are more than 32, or
 * with the next pruning) and prunes: it finds what is due without the
 * lock, takes the lock alone (flock -xn: else a pruner is at work and this
 * one leaves it), makes ~/.hydro/pruning, and only if no other mark is of
 * a live process and not done, moves what is due into ~/.hydro/trash.PID;
 * then lets go and removes that.  Marking, then looking for the pruning
 * file, against making it, then looking for marks: one of the two sees
 * the other, so either the connection waits for the pruner or the pruner
 * leaves everything.  A host without flock is not pruned.
 *
 * A run folder stays while a process names it (or a folder in it) in its
 * HYDRO_RUN_DIR, which every service of a run gets: a run left by --keep.
 * A process of the login's own (/proc/PID is its; but init, which is no
 * run's) whose environment cannot be read makes every run folder stay
 * that time.  A package's last use is the latest mtime in its entries:
 * the file (its upload), HASH.d, and HASH.d/used, which every run folder
 * made of it touches (ssh_unpack.c).  Packages are looked at once an hour
 * at most (the seconds since boot of the last look in ~/.hydro/scanned),
 * and the first time an hour after the first look: no package a host has
 * had for less can be due.
 *
 * Only names hydro gives are touched (prune_run_name's form, 64 hex
 * digits); a symbolic link is never followed: one named as a run is left
 * alone, and one named as a package is moved, not what it points to.
 */
#include <stdio.h>

#include "prune.h"
#include "ssh_int.h"

const char ssh_prune_mark[] =
	"[ -d \"$HOME/.hydro\" ] || mkdir -p -- \"$HOME/.hydro\" 2>/dev/null\n"
	"printf '' 2>/dev/null >\"$HOME/.hydro/conn.$$\"\n"
	"if [ -e \"$HOME/.hydro/pruning\" ] && command -v flock >/dev/null &&\n"
	"	{ command exec 9>>\"$HOME/.hydro/lock\"; } 2>/dev/null; then\n"
	"	flock -s 9\n"
	"	exec 9>&-\n"
	"fi\n";

/* $3 run folders kept, $4 packages kept, $5 their age, $6 their recent */
const char ssh_prune_script[] =
	"exec >/dev/null 2>&1 </dev/null\n"
	"h=$HOME/.hydro\n"
	/* this connection is over: its mark says so (removed with others) */
	"printf 'done\\n' 2>/dev/null >\"$h/conn.$$\"\n"
	"LC_ALL=C\n"
	"export LC_ALL\n"
	"isrun() {\n"
	"	case $1 in\n"
	"	[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]-[0-9]*-[0-9]*) ;;\n"
	"	*) return 1 ;;\n"
	"	esac\n"
	"	case ${1#*-*-} in *[!0-9-]*|*-*-*) return 1 ;; esac\n"
	"}\n"
	/* what there is, by globs and builtins */
	"runs=0\n"
	"for f in \"$h\"/runs/*; do\n"
	"	isrun \"${f##*/}\" && [ -d \"$f\" ] && [ ! -L \"$f\" ] && runs=$((runs + 1))\n"
	"done\n"
	"old=$((runs - $3))\n"
	/* the packages are looked at once a recent (the seconds since boot, in
	 * $h/scanned: builtins), for none goes sooner after its last use; not
	 * at first (what a host's first runs upload is recent) */
	"pkgs=\n"
	"for f in \"$h\"/pkgs/*; do [ -e \"$f\" ] && pkgs=1 && break; done\n"
	"read -r up x </proc/uptime && up=${up%%.*} || up=\n"
	"last=\n"
	"[ ! -f \"$h/scanned\" ] || read -r last x <\"$h/scanned\"\n"
	"case $up in ''|*[!0-9]*) ;; *)\n"
	"	case $last in\n"
	"	''|*[!0-9]*) [ -z \"$pkgs\" ] || printf '%s\\n' \"$up\" >\"$h/scanned\"; pkgs= ;;\n"
	"	*) [ \"$up\" -lt \"$last\" ] || [ $((up - last)) -ge \"$6\" ] || pkgs= ;;\n"
	"	esac ;;\n"
	"esac\n"
	/* the marks of connections over, once they are many */
	"n=0\n"
	"for m in \"$h\"/conn.*; do n=$((n + 1)); done\n"
	"if [ \"$n\" -gt 32 ]; then\n"
	"	over=\n"
	"	for m in \"$h\"/conn.*; do\n"
	"		x=\n"
	"		read -r x <\"$m\" 2>/dev/null\n"
	"		[ \"$x\" = done ] || [ ! -d \"/proc/${m##*/conn.}\" ] && over=\"$over $m\"\n"
	"	done\n"
	"	rm -f -- $over\n"
	"fi\n"
	"[ \"$old\" -gt 0 ] || [ -n \"$pkgs\" ] || exit 0\n"
	/* behind whatever the host runs meanwhile: the next run, for one */
	"renice -n 19 -p $$ >/dev/null 2>&1\n"
	"t=$h/trash.$$\n"
	"mkdir -- \"$t\" && printf '' >\"$t/stamp\" || exit 0\n"
	/* what is due, found without the lock: the runs the login's processes
	 * name (all of them, or no run goes), the packages by last use */
	"if [ \"$old\" -gt 0 ]; then\n"
	"	own=\n"
	"	for p in /proc/[0-9]*; do\n"
	"		[ \"$p\" != /proc/1 ] && [ -O \"$p\" ] && own=\"$own $p/environ\"\n"
	"	done\n"
	"	grep -zaho '^HYDRO_RUN_DIR=.*' $own 2>\"$t/err\" | tr '\\0' '\\n' >\"$t/env\"\n"
	"	grep -qv -e 'No such file or directory' -e 'No such process' \"$t/err\" && old=0\n"
	"	live=' '\n"
	"	while IFS= read -r l; do\n"
	"		l=${l#HYDRO_RUN_DIR=}\n"
	"		case $l in\n"
	"		\"$h/runs/\"*) l=${l#\"$h/runs/\"} ;;\n"
	"		.hydro/runs/*) l=${l#.hydro/runs/} ;;\n"
	"		*) continue ;;\n"
	"		esac\n"
	"		live=\"$live${l%%/*} \"\n"
	"	done <\"$t/env\"\n"
	"fi\n"
	": >\"$t/due\"\n"
	"if [ -n \"$pkgs\" ] && now=$(date +%s); then\n"
	"	find \"$h/pkgs\" -mindepth 1 -maxdepth 2 -printf '%T@ %P\\n' |\n"
	"	awk '{ k = $2; sub(/[.\\/].*/, \"\", k); t = int($1)\n"
	"	       if (length(k) == 64 && k !~ /[^0-9a-f]/ && !(k in w && w[k] >= t)) w[k] = t }\n"
	"	     END { for (k in w) print w[k], k }' | sort -rn >\"$t/used\"\n"
	"	kept=0\n"
	"	while read -r w k; do\n"
	"		a=$((now - w))\n"
	"		if [ \"$a\" -gt \"$6\" ] && { [ \"$kept\" -ge \"$4\" ] || [ \"$a\" -gt \"$5\" ]; }; then\n"
	"			printf '%s\\n' \"$k\" >>\"$t/due\"\n"
	"		else\n"
	"			kept=$((kept + 1))\n"
	"		fi\n"
	"	done <\"$t/used\"\n"
	"	[ -s \"$t/due\" ] || [ -z \"$up\" ] || printf '%s\\n' \"$up\" >\"$h/scanned\"\n"
	"fi\n"
	/* moved aside holding the lock alone, and only then removed */
	"if { [ \"$old\" -gt 0 ] || [ -s \"$t/due\" ]; } && command -v flock >/dev/null &&\n"
	"	{ command exec 8>>\"$h/lock\"; } && flock -xn 8 && printf '' >\"$h/pruning\"; then\n"
	"	busy=\n"
	"	dead=\n"
	"	for m in \"$h\"/conn.*; do\n"
	"		p=${m##*/conn.}\n"
	"		case $p in ''|*[!0-9]*) continue ;; esac\n"
	"		x=\n"
	"		read -r x <\"$m\" 2>/dev/null\n"
	"		if [ \"$x\" != done ] && [ -d \"/proc/$p\" ]; then busy=1; else dead=\"$dead $m\"; fi\n"
	"	done\n"
	"	[ -z \"$busy\" ] || old=0\n"
	"	[ -z \"$busy\" ] || : >\"$t/due\"\n"
	"	i=0\n"
	"	for f in \"$h\"/runs/*; do\n"
	"		[ \"$i\" -lt \"$old\" ] || break\n"
	"		r=${f##*/}\n"
	"		isrun \"$r\" && [ -d \"$f\" ] && [ ! -L \"$f\" ] || continue\n"
	"		i=$((i + 1))\n"
	"		case $live in *\" $r \"*) continue ;; esac\n"
	"		mv -T -- \"$f\" \"$t/$r\"\n"
	"	done\n"
	"	while read -r k; do\n"
	"		p=$h/pkgs/$k\n"
	/* used since it was found due: it stays */
	"		[ \"$p\" -nt \"$t/stamp\" ] || [ \"$p.d\" -nt \"$t/stamp\" ] ||\n"
	"		[ \"$p.d/used\" -nt \"$t/stamp\" ] && continue\n"
	"		for f in \"$p\" \"$p\".*; do\n"
	"			[ -e \"$f\" ] || [ -L \"$f\" ] || continue\n"
	"			mv -T -- \"$f\" \"$t/${f##*/}\"\n"
	"		done\n"
	"	done <\"$t/due\"\n"
	"	[ ! -s \"$t/due\" ] || [ -z \"$up\" ] || printf '%s\\n' \"$up\" >\"$h/scanned\"\n"
	"	rm -f -- \"$h/pruning\" $dead\n"
	"	exec 8>&-\n"
	"fi\n"
	"rm -rf -- \"$t\"\n"
	/* what a pruner that died left */
	"for x in \"$h\"/trash.*; do\n"
	"	[ -d \"$x\" ] && [ ! -d \"/proc/${x##*.}\" ] && rm -rf -- \"$x\"\n"
	"done\n"
	"exit 0\n";

void
ssh_prune_args(char out[4][16])
{
	snprintf(out[0], sizeof(out[0]), "%u", prune_runs_kept());
	snprintf(out[1], sizeof(out[1]), "%d", PRUNE_KEEP);
	snprintf(out[2], sizeof(out[2]), "%d", PRUNE_AGE);
	snprintf(out[3], sizeof(out[3]), "%d", PRUNE_RECENT);
}
