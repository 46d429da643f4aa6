#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "graph.h"
#include "xmalloc.h"

const char *
task_kind_name(enum task_kind kind)
{
	static const char *const names[] = {
		[TASK_TARGET] = "target", [TASK_BUILD] = "build",
		[TASK_PACKAGE] = "package", [TASK_PROVISION] = "provision",
		[TASK_UPLOAD] = "upload", [TASK_LAUNCH] = "launch",
		[TASK_WIRE] = "wire", [TASK_START] = "start",
		[TASK_CLEANUP] = "cleanup",
	};

	if ((size_t)kind < sizeof(names) / sizeof(names[0]) && names[kind])
		return names[kind];
	return "task";
}

const char *
task_state_name(enum task_state state)
{
	static const char *const names[] = {
		[TASK_WAITING] = "waiting", [TASK_READY] = "ready",
		[TASK_RUNNING] = "running", [TASK_DONE] = "done",
		[TASK_UPTODATE] = "up to date", [TASK_FAILED] = "failed",
		[TASK_CANCELLED] = "cancelled",
	};

	if ((size_t)state < sizeof(names) / sizeof(names[0]) && names[state])
		return names[state];
	return "unknown";
}

double
graph_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct graph *
graph_new(void)
{
	return xcalloc(1, sizeof(struct graph));
}

void
graph_free(struct graph *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->ntasks; i++) {
		struct task *t = g->tasks[i];

		if (t->free_arg)
			t->free_arg(t->arg);
		error_log_release(&t->log);
		free(t->deps);
		free(t->users);
		free(t->name);
		free(t->command);
		free(t);
	}
	free(g->tasks);
	free(g);
}

struct task *
graph_add(struct graph *g, enum task_kind kind, const char *name, task_fn *fn, void *arg)
{
	struct task *t = xcalloc(1, sizeof(*t));

	t->name = xstrdup(name);
	t->kind = kind;
	t->class = CLASS_CPU;
	t->state = TASK_WAITING;
	t->fn = fn;
	t->arg = arg;
	t->graph = g;
	t->index = g->ntasks;
	ALLOC_GROW(g->tasks, g->ntasks, g->cap);
	g->tasks[g->ntasks++] = t;
	return t;
}

void
task_set_free(struct task *t, void (*fn)(void *))
{
	t->free_arg = fn;
}

void
task_set_class(struct task *t, enum task_class c)
{
	t->class = c;
}

void
task_after(struct task *t, struct task *dep)
{
	size_t i;

	for (i = 0; i < t->ndeps; i++)
		if (t->deps[i] == dep)
			return;
	ALLOC_GROW(t->deps, t->ndeps, t->capdeps);
	t->deps[t->ndeps++] = dep;
	ALLOC_GROW(dep->users, dep->nusers, dep->capusers);
	dep->users[dep->nusers++] = t;
}

const char *
task_name(const struct task *t)
{
	return t->name;
}

enum task_kind
task_kind(const struct task *t)
{
	return t->kind;
}

enum task_state
task_state(const struct task *t)
{
	return t->state;
}

void *
task_arg(const struct task *t)
{
	return t->arg;
}

int
task_cancelled(const struct task *t)
{
	const int *cancel = t->graph ? t->graph->cancel : NULL;

	return t->kind != TASK_CLEANUP && cancel && __atomic_load_n(cancel, __ATOMIC_SEQ_CST);
}

size_t
graph_size(const struct graph *g)
{
	return g->ntasks;
}

struct task *
graph_task(const struct graph *g, size_t i)
{
	return i < g->ntasks ? g->tasks[i] : NULL;
}

size_t
task_ndeps(const struct task *t)
{
	return t->ndeps;
}

struct task *
task_dep(const struct task *t, size_t i)
{
	return i < t->ndeps ? t->deps[i] : NULL;
}

void
task_uptodate(struct task *t)
{
	t->uptodate = 1;
	if (t->state == TASK_WAITING)
		t->state = TASK_UPTODATE;
}

void
task_set_key(struct task *t, const struct hash *key)
{
	t->key = *key;
	t->haskey = 1;
}

const struct hash *
task_key(const struct task *t)
{
	return t->haskey ? &t->key : NULL;
}

struct task *
task_cause(const struct task *t)
{
	return t->cause;
}

void
task_set_command(struct task *t, const char *text)
{
	free(t->command);
	t->command = text ? xstrdup(text) : NULL;
}

const char *
task_command(const struct task *t)
{
	return t->command;
}

void
task_set_steps(struct task *t, size_t done, size_t total)
{
	atomic_store(&t->steps_total, total);
	atomic_store(&t->steps_done, done);
}

void
task_steps(const struct task *t, size_t *done, size_t *total)
{
	*done = atomic_load(&((struct task *)t)->steps_done);
	*total = atomic_load(&((struct task *)t)->steps_total);
}

double
task_elapsed(const struct task *t)
{
	if (!t->start)
		return 0;
	return (t->end ? t->end : graph_now()) - t->start;
}

size_t
task_nmsgs(const struct task *t)
{
	return t->log.n;
}

const struct error_msg *
task_msg(const struct task *t, size_t i)
{
	return i < t->log.n ? &t->log.msgs[i] : NULL;
}

enum { WHITE, GREY, BLACK };

/* Depth-first search without recursion (a chain of thousands of tasks must
 * not overflow the stack): stack[] holds the path from a root, pos[] the next
 * dependency to visit of each task on it. */
int
graph_check(struct graph *g)
{
	struct task **stack;
	size_t *pos, i, n, k;
	int ret = 0;

	for (i = 0; i < g->ntasks; i++)
		g->tasks[i]->mark = WHITE;
	stack = xcalloc(g->ntasks + 1, sizeof(*stack));
	pos = xcalloc(g->ntasks + 1, sizeof(*pos));
	for (i = 0; i < g->ntasks && !ret; i++) {
		if (g->tasks[i]->mark != WHITE)
			continue;
		n = 0;
		stack[n] = g->tasks[i];
		pos[n++] = 0;
		g->tasks[i]->mark = GREY;
		while (n && !ret) {
			struct task *t = stack[n - 1], *d;

			if (pos[n - 1] == t->ndeps) {
				t->mark = BLACK;
				n--;
				continue;
			}
			d = t->deps[pos[n - 1]++];
			if (d->mark == WHITE) {
				d->mark = GREY;
				stack[n] = d;
				pos[n++] = 0;
			} else if (d->mark == GREY) {
				struct buf b = BUF_INIT;

				for (k = 0; stack[k] != d; k++)
					;
				for (; k < n; k++)
					buf_printf(&b, "'%s' -> ", stack[k]->name);
				buf_printf(&b, "'%s'", d->name);
				ret = error("dependency cycle: %s", buf_str(&b));
				buf_release(&b);
			}
		}
	}
	free(stack);
	free(pos);
	return ret;
}

void
task_report(const struct task *t)
{
	error_log_replay(&t->log, t->name);
	if (t->state == TASK_FAILED && !t->log.nerrors)
		error("%s: failed", t->name);
}
