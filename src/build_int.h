/*
 * build_int: what build.c (targets) and crate.c (crates) share: the build's
 * state, the input files of a key, and running a step's command.  Nothing
 * outside them includes it.
 */
#ifndef HYDRO_BUILD_INT_H
#define HYDRO_BUILD_INT_H

#include "buf.h"
#include "build.h"
#include "cache.h"

struct tgt;
struct crt;

struct build {
	struct deployment *d;
	struct state *st;
	int verbose;		/* show the output of commands that succeed */
	const char *target;	/* build --target: the triple of every build, or NULL */
	struct cache *cache;
	struct tgt *tgts;	/* by target index */
	size_t ntgts;
	struct crt **crts;	/* crates to build, one per distinct spec */
	size_t ncrts;
	struct crt **svc_crt;	/* by service index: its crate, or NULL */
};

struct files {
	struct cache_file *v;
	size_t n;
};

/* a command a task runs, recorded in the state file while it runs */
struct command {
	const char *id;		/* its record's id: the target's name, "crate X" */
	const char *what;	/* for hydro down: "target 'gen'" */
	char *const *argv;
	size_t argc;
	const struct kv *env;	/* set for it, over hydro's environment */
	size_t nenv;
	const char *cwd;	/* absolute */
	/* its stdout, when set; otherwise kept with its stderr */
	void (*on_out)(void *arg, const char *data, size_t n);
	void *arg;
};

/* free the files' paths and empty f */
void build_files_release(struct files *f);
/* why the recorded inputs of e differ from in ("input 'a.c' changed"), a
 * new string, or NULL */
char *build_input_change(const struct cache_entry *e, const struct files *in);
/* run a step's command c for task (cancelled: it is stopped), recorded in
 * the state file while it runs; its output in out (stdout and stderr, or
 * stderr alone when c->on_out takes stdout), its exit status in *status and
 * the signal that killed it (or 0) in *sig; 0, -1 with the error reported,
 * -2 when it was stopped */
int build_run_command(struct build *b, struct task *task, const struct command *c,
                      struct buf *out, int *status, int *sig);
/* a command's kept output as notes */
void build_show_output(const struct buf *out);

/* free a crate (crate.c) */
void crate_free(struct crt *c);

#endif
