/*
 * cli: the options of one hydro invocation, as main.c parsed them.
 *
 * The front ends (main.c, commands.h, the config script's module) read
 * struct cli; the core (run, build, progress) is handed what concerns it as
 * a struct options argument, made by cli_options().
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

/* the type a config reads a parameter as (its default's type) */
enum param_type { PARAM_STR, PARAM_INT, PARAM_FLOAT, PARAM_BOOL };

/* a parameter's value read as its type */
struct param_value {
	const char *str;	/* the text as given (every type) */
	long long i;		/* PARAM_INT */
	double f;		/* PARAM_FLOAT */
	int b;			/* PARAM_BOOL */
};

struct cli {
	const char *command;	/* "run", "build", ... */
	int jobs;		/* -j N; 0: the number of cores */
	int verbose;		/* -v, counted */
	int quiet;		/* -q */
	int json;		/* --json: machine-readable output */
	int keep;		/* run --keep: leave services and machines up */
	int log_prefix;		/* run: prefix log lines with the service name */
	int timestamps;		/* run --timestamps: and with their arrival time */
	int trust_new_hosts;	/* run --trust-new-hosts: record unknown host keys */
	int dry_run;		/* down --dry-run */
	int sweep;		/* down --sweep */
	int strict_params;	/* --strict-params: a -D the config does not read is an error */
	const char *target;	/* build --target: every program for this triple */
	enum graph_format format;	/* graph --format */
	const char *dir;	/* -C DIR, or NULL */
	char **files;		/* the FILE arguments */
	size_t nfiles;
	char **args;		/* arguments after "--", for the script */
	size_t nargs;
	struct param *params;	/* -D name=value */
	size_t nparams;
	char **asked;		/* the names the config asked for, given or not */
	size_t nasked;
};

/* the options of this invocation (set once by main) */
extern struct cli *cli;

/* what the core acts on of an invocation's options, handed to it */
struct options {
	int jobs;		/* tasks at once; 0: the number of cores */
	int verbose;		/* say more (show the commands run), counted */
	int quiet;		/* say only what went wrong */
	int json;		/* machine-readable output */
	int keep;		/* run: leave the services up at the end */
	int log_prefix;		/* run: prefix service logs with the name */
	int timestamps;		/* run: and with each line's arrival time */
	int trust_new_hosts;	/* run: hosts' unknown keys are trusted and
				 * recorded (backend setup) */
	const char *target;	/* build: every program for this triple, or NULL */
	enum graph_format format;	/* graph: how to draw */
};

/* the options of this invocation (cli) that the core acts on */
struct options cli_options(void);

/* add "-D name=value" to c (a name given again takes the new value); -1 with
 * the error reported if arg is not name=value with a name of letters, digits
 * and '_' */
int cli_add_param(struct cli *c, const char *arg);
/* the value of -D name, marking it used (and name asked for); NULL when
 * not given */
const char *cli_param(const char *name);
/* -D name read as type: 1 with *out set when given, 0 when not, -1 with the
 * error reported when the text does not read as type.  int takes 42, -1,
 * 0x2a, 0o17, 0b101; float 2.5, 1e3; bool 1/0, true/false, yes/no, on/off */
int cli_param_typed(const char *name, enum param_type type, struct param_value *out);
/* the name of a type as messages and docs give it ("int") */
const char *cli_param_type_name(enum param_type type);
/* report each -D the config has not read, with the name it asked for that
 * is closest: at its end (at_end) as warnings, or with --strict-params as
 * errors, then also before anything runs (the first deploy()); -1 if errors */
int cli_check_params(const struct cli *c, int at_end);
/* free what c's -D options and the names asked for hold */
void cli_release_params(struct cli *c);

#endif
