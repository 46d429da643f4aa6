#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "error.h"
#include "graph.h"
#include "json.h"
#include "progress.h"
#include "sched.h"
#include "term.h"
#include "xmalloc.h"

/* at most this many live lines; the rest are counted on one more */
#define LIVE_MAX 8

enum mode { MODE_QUIET, MODE_JSON, MODE_PLAIN, MODE_LIVE };

struct progress {
	enum mode mode;
	int verbose, color;
	struct task **running;
	size_t nrunning, caprunning;
	size_t total, finished, skipped, ran, failed;
	int live;		/* live lines on the screen now */
	double t0;
};

struct progress *
progress_new(const struct options *o)
{
	struct progress *p = xcalloc(1, sizeof(*p));

	if (o && o->json)
		p->mode = MODE_JSON;
	else if (o && o->quiet)
		p->mode = MODE_QUIET;
	else if (term_interactive(STDERR_FILENO))
		p->mode = MODE_LIVE;
	else
		p->mode = MODE_PLAIN;
	p->verbose = o ? o->verbose : 0;
	p->color = term_color(STDERR_FILENO);
	p->t0 = graph_now();
	return p;
}

static void
clear_live(struct progress *p)
{
	if (p->live)
		fprintf(stderr, "\033[%dA\033[J", p->live);
	p->live = 0;
}

static void
draw_live(struct progress *p)
{
	int width = term_width(STDERR_FILENO);
	size_t i;

	if (p->mode != MODE_LIVE)
		return;
	/* a line is cut at the width, and never past the buffer below */
	if (width > 512)
		width = 512;
	clear_live(p);
	for (i = 0; i < p->nrunning && i < LIVE_MAX; i++) {
		char line[512 + 1];
		size_t done, total;
		int n;

		n = snprintf(line, sizeof(line), "[%zu/%zu] %s %.1fs", p->finished,
		             p->total, task_name(p->running[i]),
		             task_elapsed(p->running[i]));
		task_steps(p->running[i], &done, &total);
		if (total && n > 0 && (size_t)n < sizeof(line))
			n += snprintf(line + n, sizeof(line) - (size_t)n, " (crates %zu/%zu)",
			              done < total ? done : total, total);
		if (n >= width && width > 4)
			snprintf(line + width - 4, sizeof(line) - (size_t)(width - 4), "...");
		fprintf(stderr, "%s%s%s\n", p->color ? "\033[2m" : "", line,
		        p->color ? "\033[0m" : "");
		p->live++;
	}
	if (p->nrunning > LIVE_MAX) {
		fprintf(stderr, "  ... and %zu more\n", p->nrunning - LIVE_MAX);
		p->live++;
	}
	fflush(stderr);
}

static void
json_event(cJSON *o)
{
	char *text = json_print(o);

	printf("%s\n", text);
	fflush(stdout);
	free(text);
	cJSON_Delete(o);
}

static cJSON *
json_task(const char *event, const struct task *t)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "task", task_name(t));
	cJSON_AddStringToObject(o, "kind", task_kind_name(task_kind(t)));
	return o;
}

static void
on_begin(size_t n, size_t skip, void *arg)
{
	struct progress *p = arg;

	p->total = n - skip;
	p->skipped = skip;
	if (p->mode == MODE_JSON) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "begin");
		cJSON_AddNumberToObject(o, "tasks", (double)n);
		cJSON_AddNumberToObject(o, "uptodate", (double)skip);
		json_event(o);
	}
}

static void
on_start(struct task *t, void *arg)
{
	struct progress *p = arg;

	ALLOC_GROW(p->running, p->nrunning, p->caprunning);
	p->running[p->nrunning++] = t;
	switch (p->mode) {
	case MODE_JSON: {
		cJSON *o = json_task("start", t);

		if (task_command(t))
			cJSON_AddStringToObject(o, "command", task_command(t));
		json_event(o);
		break;
	}
	case MODE_LIVE:
	case MODE_PLAIN:
		if (p->verbose && task_command(t)) {
			clear_live(p);
			fprintf(stderr, "%s: %s\n", task_name(t), task_command(t));
		}
		draw_live(p);
		break;
	default:
		break;
	}
}

static void
on_finish(struct task *t, void *arg)
{
	struct progress *p = arg;
	enum task_state st = task_state(t);
	size_t i;

	for (i = 0; i < p->nrunning; i++) {
		if (p->running[i] == t) {
			memmove(&p->running[i], &p->running[i + 1],
			        (p->nrunning - i - 1) * sizeof(*p->running));
			p->nrunning--;
			break;
		}
	}
	p->finished++;
	if (st == TASK_DONE || st == TASK_FAILED)
		p->ran++;
	if (st == TASK_FAILED)
		p->failed++;
	if (p->mode == MODE_JSON) {
		cJSON *o = json_task("finish", t), *msgs;

		cJSON_AddStringToObject(o, "state", task_state_name(st));
		cJSON_AddNumberToObject(o, "seconds", task_elapsed(t));
		if (st == TASK_CANCELLED && task_cause(t))
			cJSON_AddStringToObject(o, "cause", task_name(task_cause(t)));
		if (task_nmsgs(t)) {
			msgs = cJSON_AddArrayToObject(o, "messages");
			for (i = 0; i < task_nmsgs(t); i++) {
				const struct error_msg *m = task_msg(t, i);
				cJSON *mo = cJSON_CreateObject();

				cJSON_AddStringToObject(mo, "level", m->level == LEVEL_ERROR ?
				                        "error" : m->level == LEVEL_WARNING ?
				                        "warning" : "note");
				cJSON_AddStringToObject(mo, "text", m->text);
				cJSON_AddItemToArray(msgs, mo);
			}
		}
		json_event(o);
		/* the messages reach stderr too, for a person reading it */
		if (st == TASK_FAILED)
			task_report(t);
		return;
	}
	clear_live(p);
	if (p->mode != MODE_QUIET) {
		if (st == TASK_DONE)
			fprintf(stderr, "[%zu/%zu] %s%s%s %.1fs\n", p->finished, p->total,
			        p->color ? "\033[1;32m" : "", task_name(t),
			        p->color ? "\033[0m" : "", task_elapsed(t));
		else if (st == TASK_UPTODATE && p->verbose)
			fprintf(stderr, "[%zu/%zu] %s: up to date\n", p->finished, p->total,
			        task_name(t));
		else if (st == TASK_FAILED)
			fprintf(stderr, "[%zu/%zu] %s%s failed%s %.1fs\n", p->finished,
			        p->total, p->color ? "\033[1;31m" : "", task_name(t),
			        p->color ? "\033[0m" : "", task_elapsed(t));
	}
	if (p->mode != MODE_QUIET || st == TASK_FAILED)
		task_report(t);
	draw_live(p);
}

static void
on_tick(void *arg)
{
	draw_live(arg);
}

static void
on_end(int ret, void *arg)
{
	struct progress *p = arg;
	double secs = graph_now() - p->t0;

	clear_live(p);
	if (p->mode == MODE_JSON) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "event", "end");
		cJSON_AddBoolToObject(o, "ok", ret == 0);
		cJSON_AddNumberToObject(o, "ran", (double)p->ran);
		cJSON_AddNumberToObject(o, "uptodate", (double)p->skipped);
		cJSON_AddNumberToObject(o, "failed", (double)p->failed);
		cJSON_AddNumberToObject(o, "seconds", secs);
		json_event(o);
		return;
	}
	if (p->mode == MODE_QUIET || ret != 0)
		return;
	if (!p->ran && !p->skipped)
		fprintf(stderr, "nothing to do\n");
	else if (!p->ran)
		fprintf(stderr, "nothing to do: %zu task%s up to date\n", p->skipped,
		        p->skipped == 1 ? "" : "s");
	else
		fprintf(stderr, "ran %zu task%s in %.1fs%s\n", p->ran,
		        p->ran == 1 ? "" : "s", secs,
		        p->skipped ? "; the others were up to date" : "");
}

const struct sched_events *
progress_events(void)
{
	static const struct sched_events ev = {
		on_begin, on_start, on_finish, on_tick, on_end,
	};

	return &ev;
}

void
progress_free(struct progress *p)
{
	if (!p)
		return;
	clear_live(p);
	free(p->running);
	free(p);
}
