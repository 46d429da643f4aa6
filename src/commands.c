#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "buf.h"
#include "build.h"
#include "cli.h"
#include "commands.h"
#include "crate.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "json.h"
#include "package.h"
#include "ports.h"
#include "progress.h"
#include "run.h"
#include "sched.h"
#include "state.h"
#include "str.h"
#include "xmalloc.h"

/* a step of the plan as JSON: {"target": name, "run": true, "why": ...},
 * a crate with the services it is built for (users, taken over); the item */
static cJSON *
add_step(cJSON *plan, const char *kind, const struct build_step *st, cJSON *users)
{
	cJSON *item = cJSON_CreateObject();

	cJSON_AddStringToObject(item, kind, st->name);
	if (users)
		cJSON_AddItemToObject(item, "services", users);
	cJSON_AddBoolToObject(item, "run", st->why != NULL);
	if (st->why)
		cJSON_AddStringToObject(item, "why", st->why);
	cJSON_AddItemToArray(plan, item);
	return item;
}

/* a crate's package in the JSON plan: its path, or null and why not yet */
static void
package_json(cJSON *o, const struct pkg *pk)
{
	if (package_why(pk)) {
		cJSON_AddNullToObject(o, "package");
		cJSON_AddStringToObject(o, "package_why", package_why(pk));
	} else {
		cJSON_AddStringToObject(o, "package", package_path(pk));
	}
}

/* one upload a run would make: a package to a host that is not this
 * machine, for the services there that run it */
struct plan_upload {
	struct host *h;
	const struct pkg *pkg;
	const char *crate;	/* the build it is the package of */
	cJSON *services;	/* their names */
	char hex[HASH_HEX_LEN];	/* its hash, "" before it is made */
	long long size;		/* its size, -1 before it is made */
};

/* the uploads a run of d would make, as lower.c plans them: one per (host,
 * package) for the hosts that are not this machine; their number */
static size_t
plan_uploads(struct deployment *d, struct build *b, struct plan_upload **out)
{
	struct plan_upload *list = xcalloc(d->nservices + 1, sizeof(*list));
	struct build_step st;
	struct stat sb;
	size_t i, k, n = 0;

	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		const struct pkg *pkg = s->nstandin ? NULL : crate_service_package(b, s);
		struct plan_upload *u;
		const char *path;

		if (!pkg || host_is_here(s->host))
			continue;
		for (k = 0; k < n && !(list[k].h == s->host && list[k].pkg == pkg); k++)
			;
		u = &list[k];
		if (k == n) {
			n++;
			u->h = s->host;
			u->pkg = pkg;
			u->services = cJSON_CreateArray();
			u->size = -1;
			for (k = 0; crate_step(b, k, &st); k++)
				if (crate_package(b, k) == pkg)
					u->crate = st.name;
			/* a package is named by its hash: HASH.tar.zst */
			path = package_why(pkg) ? NULL : package_path(pkg);
			if (path && stat(path, &sb) == 0 &&
			    strspn(path_basename(path), "0123456789abcdef") == HASH_HEX_LEN - 1) {
				snprintf(u->hex, sizeof(u->hex), "%s", path_basename(path));
				u->size = (long long)sb.st_size;
			}
		}
		cJSON_AddItemToArray(u->services, cJSON_CreateString(s->name));
	}
	*out = list;
	return n;
}

/* bytes as a person reads them: "812 B", "1.5 KiB", "20.0 MiB" */
static void
print_size(long long n)
{
	if (n < 1024)
		printf("%lld B", n);
	else if (n < 1024 * 1024)
		printf("%.1f KiB", (double)n / 1024);
	else
		printf("%.1f MiB", (double)n / (1024 * 1024));
}

/* the uploads of the plan: a run skips each whose package the host has,
 * which only connecting to it tells; json: appended to plan */
static void
print_uploads(struct deployment *d, struct build *b, cJSON *plan, const struct options *o)
{
	struct plan_upload *ups;
	size_t i, j, n = plan_uploads(d, b, &ups), nhosts = 0;

	for (i = 0; i < n; i++) {
		struct plan_upload *u = &ups[i];

		for (j = 0; j < i && ups[j].h != u->h; j++)
			;
		nhosts += j == i;
		if (plan) {
			cJSON *item = cJSON_CreateObject();

			cJSON_AddStringToObject(item, "upload", u->h->name);
			cJSON_AddItemToObject(item, "services", u->services);
			if (u->crate)
				cJSON_AddStringToObject(item, "crate", u->crate);
			if (u->size >= 0) {
				cJSON_AddStringToObject(item, "package", package_path(u->pkg));
				cJSON_AddStringToObject(item, "sha256", u->hex);
				cJSON_AddNumberToObject(item, "size", (double)u->size);
			} else {
				cJSON_AddNullToObject(item, "package");
			}
			/* whether it runs is known only on the host */
			cJSON_AddNullToObject(item, "run");
			cJSON_AddStringToObject(item, "why", "skipped if the host has it");
			cJSON_AddItemToArray(plan, item);
			continue;
		}
		printf("  upload      to host '%s' (", u->h->name);
		for (j = 0; j < (size_t)cJSON_GetArraySize(u->services); j++)
			printf("%s'%s'", j ? ", " : "",
			       cJSON_GetArrayItem(u->services, (int)j)->valuestring);
		if (u->size >= 0) {
			printf("): package %.12s (", u->hex);
			print_size(u->size);
			printf("), skipped if the host has it\n");
		} else {
			printf("): the package of %s once made, skipped if the host has it\n",
			       u->crate ? u->crate : "its program");
		}
		cJSON_Delete(u->services);
	}
	if (n && !plan && !o->quiet)
		printf("%zu upload%s to %zu host%s, each skipped where the host has the "
		       "package\n", n, n == 1 ? "" : "s", nhosts, nhosts == 1 ? "" : "s");
	free(ups);
}

/* what build would make and why: json, the model and the plan; text, a line
 * a step */
static int
build_plan(struct deployment *d, int json, const struct options *o)
{
	struct build *b = build_open(d, NULL, o);
	struct graph *g = graph_new();
	struct build_step st;
	size_t i, n, nrun = 0;
	int ret;

	ret = build_add_targets(b, g);
	if (ret == 0)
		ret = crate_add(b, g);
	if (ret == 0 && json) {
		cJSON *root = cJSON_CreateObject(), *plan;
		char *text;

		cJSON_AddItemToObject(root, "deployment", deploy_to_json(d));
		plan = cJSON_AddArrayToObject(root, "plan");
		for (i = 0; build_step(b, i, &st); i++)
			add_step(plan, "target", &st, NULL);
		for (i = 0; crate_step(b, i, &st); i++) {
			cJSON *users = cJSON_CreateArray();
			size_t j;

			for (j = 0; j < d->nservices; j++)
				if (crate_task(b, d->services[j]) == st.task)
					cJSON_AddItemToArray(users,
					                     cJSON_CreateString(d->services[j]->name));
			cJSON *item = add_step(plan, "crate", &st, users);

			cJSON_AddStringToObject(item, "target", crate_target(b, i));
			package_json(item, crate_package(b, i));
		}
		print_uploads(d, b, plan, o);
		text = cJSON_Print(root);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(root);
	} else if (ret == 0) {
		for (n = 0; build_step(b, n, &st); n++) {
			if (!st.why) {
				printf("  up to date  target %s\n", st.name);
			} else {
				printf("  make        target %s: %s\n", st.name, st.why);
				nrun++;
			}
		}
		if (!o->quiet)
			printf("%zu of %zu target%s to make\n", nrun, n, n == 1 ? "" : "s");
		nrun = 0;
		for (n = 0; crate_step(b, n, &st); n++) {
			const struct pkg *pk = crate_package(b, n);

			if (!st.why) {
				printf("  up to date  crate %s (%s)\n", st.name, st.users);
			} else {
				printf("  build       crate %s (%s): %s\n", st.name, st.users, st.why);
				nrun++;
			}
			if (package_why(pk))
				printf("              for %s, package to make: %s\n",
				       crate_target(b, n), package_why(pk));
			else
				printf("              for %s, package %s\n", crate_target(b, n),
				       package_path(pk));
		}
		if (n && !o->quiet)
			printf("%zu of %zu crate%s to build\n", nrun, n, n == 1 ? "" : "s");
		print_uploads(d, b, NULL, o);
	}
	build_close(b);
	graph_free(g);
	run_disconnect(d);
	return ret;
}

/* argv[0..n) on out as a shell would read it */
static void
print_argv(FILE *out, char **argv, size_t n)
{
	char *line = str_shell_line(argv, n);

	fputs(line, out);
	free(line);
}

int
command_launches(struct deployment *d, FILE *out)
{
	struct plan *p;
	size_t i;

	if (deploy_validate(d) < 0)
		return -1;
	p = plan_new(d);
	if (!p)
		return -1;
	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		const struct backend *b;

		if (host_backend(s->host, &b) < 0) {
			plan_free(p);
			return -1;
		}
		fprintf(out, "launch %s on %s (%s, %s): ", s->name, s->host->name, b->name,
		        s->kind == SERVICE_PROCESS ? "process" :
		        s->kind == SERVICE_SCRIPT ? "the config script itself" :
		        service_has_control(s) ? "control channel" : "stdin/stdout protocol");
		if (s->kind == SERVICE_SCRIPT)
			fputs("its own sockets", out);
		else if (s->nstandin)
			print_argv(out, s->standin, s->nstandin);
		else if (s->kind == SERVICE_PROCESS)
			print_argv(out, s->argv, s->argc);
		else
			fputs(s->src ? s->src : "?", out);
		if (s->kind != SERVICE_PROCESS && s->argc) {
			fputc(' ', out);
			print_argv(out, s->argv, s->argc);
		}
		fputc('\n', out);
		for (size_t j = 0; j < s->nports; j++) {
			const struct port *pt = s->ports[j];

			fprintf(out, "         %s %s%s%s\n",
			        pt->dir == PORT_INPUT ? "input " : "output", pt->name,
			        pt->type ? ": " : "", pt->type ? pt->type : "");
		}
	}
	plan_print(p, out);
	plan_free(p);
	return 0;
}

int
command_plan(struct deployment *d, const struct options *o)
{
	if (o->json)
		return build_plan(d, 1, o);
	printf("deployment %s: %zu host%s, %zu service%s, %zu connection%s, %zu target%s\n",
	       d->config, d->nhosts, d->nhosts == 1 ? "" : "s",
	       d->nservices, d->nservices == 1 ? "" : "s",
	       d->nconns, d->nconns == 1 ? "" : "s",
	       d->ntargets, d->ntargets == 1 ? "" : "s");
	fflush(stdout);
	if (command_launches(d, stdout) < 0 || build_plan(d, 0, o) < 0)
		return -1;
	return 0;
}

static struct run *signal_run;
/* the first signal that stopped the run: the exit status is 128 + it */
static volatile sig_atomic_t signal_got;

static void
on_signal(int sig)
{
	if (!signal_got)
		signal_got = sig;
	if (signal_run)
		run_cancel(signal_run);
}

int
command_run(const char *path, const struct options *o)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct deployment *d;
	struct run *r;
	unsigned errors;
	int ret, interrupted;

	d = deploy_load(path);
	if (!d)
		return -1;
	r = run_new(d, MODE_RUN, o);
	if (!r) {
		deployment_free(d);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* the handler only flags and wakes: no thread's read or write is cut */
	sa.sa_flags = SA_RESTART;
	signal_run = r;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* a closed terminal or a dropped ssh session stops the run as cleanly */
	sigaction(SIGHUP, &sa, &old_hup);
	errors = error_count();
	ret = run_deploy(r);
	if (ret == 0)
		ret = run_wait(r);
	interrupted = run_cancelled(r) && !run_failed(r) && !run_leaving(r);
	if (interrupted && signal_got && signal_got != SIGINT)
		note("%s: stopping every service", signal_got == SIGHUP ? "SIGHUP" : "SIGTERM");
	else if (interrupted)
		note("interrupted: stopping every service");
	if (run_finish(r) < 0)
		ret = -1;
	/* as a shell reports a command ended by the signal: 130 for Ctrl-C,
	 * 143 for SIGTERM, 129 for SIGHUP (the first one decides) */
	if (interrupted)
		ret = 128 + (signal_got ? signal_got : SIGINT);
	/* an error said on the way (a log that could not be written) is a
	 * failed run: never an error line and a status of 0 */
	else if (ret == 0 && error_count() > errors)
		ret = -1;
	signal_run = NULL;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	deployment_free(d);
	return ret;
}

/* hydro build */

int
command_build(struct deployment *d, const struct options *o)
{
	struct sched_opts so = SCHED_OPTS_INIT;
	struct progress *p;
	struct state *st;
	struct build *b;
	struct graph *g;
	int ret;

	build_register_state();
	st = state_open(d->dir);
	if (!st)
		return -1;
	b = build_open(d, st, o);
	g = graph_new();
	ret = build_add_targets(b, g);
	if (ret == 0)
		ret = crate_add(b, g);
	if (ret == 0) {
		p = progress_new(o);
		so.jobs = o->jobs;
		so.signals = 1;
		so.events = progress_events();
		so.events_arg = p;
		ret = sched_run(g, &so);
		progress_free(p);
	}
	if (build_close(b) < 0)
		ret = -1;
	graph_free(g);
	state_close(st);
	run_disconnect(d);
	return ret;
}

/* one record as `hydro down --json` prints it */
static cJSON *
down_record(struct state *st, size_t i)
{
	const char *kind, *id, *status;
	const struct state_kind *k;
	const cJSON *details;
	cJSON *o = cJSON_CreateObject();
	char *what;

	state_get(st, i, &kind, &id, &status, &details);
	k = state_find_kind(kind);
	what = k && k->describe ? k->describe(kind, id, details) : xasprintf("%s '%s'", kind, id);
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddStringToObject(o, "what", what);
	if (details)
		cJSON_AddItemToObject(o, "details", cJSON_Duplicate(details, 1));
	free(what);
	return o;
}

static int
same_record(const cJSON *rec, struct state *st, size_t i)
{
	const char *kind, *id, *status;
	const cJSON *details;

	state_get(st, i, &kind, &id, &status, &details);
	return !strcmp(json_str(rec, "kind"), kind) && !strcmp(json_str(rec, "id"), id);
}

/* down with --json: each record, newest first, one JSON object a line on
 * stdout, with what became of it ("removed", "left", or "would remove") */
static int
down_json(struct state *st, int dry_run)
{
	size_t n = state_count(st), i, j;
	cJSON **recs = xcalloc(n + 1, sizeof(*recs));
	int ret = 0;

	for (i = 0; i < n; i++)
		recs[i] = down_record(st, n - 1 - i);
	if (!dry_run)
		ret = state_down(st, 0);
	for (i = 0; i < n; i++) {
		const char *action = "would remove";
		char *text;

		if (!dry_run) {
			action = "removed";
			for (j = 0; j < state_count(st); j++)
				if (same_record(recs[i], st, j))
					action = "left";
		}
		cJSON_AddStringToObject(recs[i], "action", action);
		text = json_print(recs[i]);
		printf("%s\n", text);
		free(text);
		cJSON_Delete(recs[i]);
	}
	free(recs);
	fflush(stdout);
	return ret;
}

/* hydro down --sweep: what the backends find labelled with DIR's deployment */
static int
sweep(const char *dir, int ret)
{
	char *abs = path_absolute(dir);

	if (backends_sweep(abs) < 0)
		ret = -1;
	free(abs);
	return ret;
}

int
command_down(const char *path, int dry_run, int sweep_too, const struct options *o)
{
	struct stat sb;
	struct state *st;
	char *dir, *hd;
	size_t n;
	int ret;

	if (!path)
		dir = xstrdup(".");
	else if (stat(path, &sb) < 0)
		return error_errno("cannot find '%s'; give the directory of a run or its "
		                   "config", path);
	else if (S_ISDIR(sb.st_mode))
		dir = xstrdup(path);
	else
		dir = path_dirname(path);
	run_register_state_kinds();
	hd = path_join(dir, ".hydro");
	if (!path_exists(hd)) {
		if (!o->quiet && !o->json)
			printf("nothing to remove: no '%s'\n", hd);
		free(hd);
		ret = sweep_too && !dry_run ? sweep(dir, 0) : 0;
		free(dir);
		return ret;
	}
	free(hd);
	build_register_state();
	st = state_open(dir);
	if (!st) {
		free(dir);
		return -1;
	}
	{
		struct backend_env env;
		char *abs = path_absolute(dir);

		memset(&env, 0, sizeof(env));
		env.hydro_dir = state_dir(st);
		env.state = st;
		env.project_dir = abs;
		ret = backends_setup(&env);
		free(abs);
		if (ret < 0) {
			state_close(st);
			free(dir);
			return -1;
		}
	}
	if (o->json) {
		ret = down_json(st, dry_run);
		state_close(st);
		ret = sweep_too && !dry_run ? sweep(dir, ret) : ret;
		free(dir);
		return ret;
	}
	n = state_count(st);
	ret = state_down(st, dry_run);
	if (!o->quiet && !dry_run) {
		size_t left = state_count(st);

		if (!n)
			printf("nothing to remove\n");
		else
			printf("removed %zu of %zu recorded thing%s\n", n - left, n,
			       n == 1 ? "" : "s");
	}
	state_close(st);
	ret = sweep_too && !dry_run ? sweep(dir, ret) : ret;
	free(dir);
	return ret;
}

int
command_config(const char *path, enum run_mode mode, const struct options *o)
{
	struct deployment *d;
	int ret = 0;

	if (mode == MODE_RUN)
		return command_run(path, o);
	d = deploy_load(path);
	if (!d)
		return -1;
	switch (mode) {
	case MODE_BUILD:
		ret = command_build(d, o);
		break;
	case MODE_PLAN:
		ret = command_plan(d, o);
		break;
	case MODE_GRAPH:
		deploy_graph(d, o->format, stdout);
		break;
	case MODE_RUN:
		break;
	}
	deployment_free(d);
	return ret;
}
