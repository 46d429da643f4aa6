/*
 * cli: the options of one hydro invocation, as main.c parsed them.
 *
 * Every command gets the same struct; the modules read what they need
 * (jobs for the scheduler, params for the config script, and so on).
 */
#ifndef HYDRO_CLI_H
#define HYDRO_CLI_H

#include <stddef.h>

enum graph_format { FORMAT_MERMAID, FORMAT_DOT };

/* what a config is evaluated for */
enum run_mode {
	MODE_RUN,	/* hydro run: build, deploy, start, supervise */
	MODE_BUILD,	/* hydro build: build, then stop at the first deploy() */
	MODE_PLAN,	/* hydro plan: show the deployment at the first deploy() */
	MODE_GRAPH,	/* hydro graph: draw it at the first deploy() */
};

struct param {
	char *name;
	char *value;	/* as given */
	int used;	/* set by whoever reads it; unused ones are warned about */
};

struct cli {
	const char *command;	/* "run", "build", ... */
	int jobs;		/* -j N; 0: the number of cores */
	int verbose;		/* -v, counted */
	int quiet;		/* -q */
	int json;		/* --json: machine-readable output */
	int keep;		/* run --keep: leave services and machines up */
	int log_prefix;		/* run: prefix log lines with the service name */
	int dry_run;		/* down --dry-run */
	const char *target;	/* build --target: every program for this triple */
	enum graph_format format;	/* graph --format */
	const char *dir;	/* -C DIR, or NULL */
	char **files;		/* the FILE arguments */
	size_t nfiles;
	char **args;		/* arguments after "--", for the script */
	size_t nargs;
	struct param *params;	/* -D name=value */
	size_t nparams;
};

/* the options of this invocation (set once by main) */
extern struct cli *cli;

/* add "-D name=value" to c (a name given again takes the new value); -1 with
 * the error reported if arg is not name=value with a name of letters, digits
 * and '_' */
int cli_add_param(struct cli *c, const char *arg);
/* the value of -D name, marking it used; NULL when not given */
const char *cli_param(const char *name);
/* the number of jobs to run at once (-j, or the number of cores) */
int cli_jobs(void);

#endif
