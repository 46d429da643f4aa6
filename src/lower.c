#include <pthread.h>
#include <stdlib.h>

#include "backend.h"
#include "crate.h"
#include "deploy.h"
#include "launch.h"
#include "lower.h"
#include "package.h"
#include "ports.h"
#include "xmalloc.h"

/* a step of the run; the service of the first to fail is kept, so that a
 * binding can name the line that declared it (run_failed_service) */
static int
step(struct task *t, void *arg)
{
	struct launch_arg *a = arg;
	int ret = a->fn(t, a);

	if (ret < 0 && a->v && !task_cancelled(t)) {
		pthread_mutex_lock(&a->r->lock);
		if (!a->r->failed_service)
			a->r->failed_service = a->v->s;
		pthread_mutex_unlock(&a->r->lock);
	}
	return ret;
}

static struct task *
add_task(struct graph *g, enum task_kind kind, task_fn *fn, struct run *r,
         struct svc *v, struct host *h)
{
	struct launch_arg *a = xcalloc(1, sizeof(*a));
	char *name;
	struct task *t;

	a->r = r;
	a->v = v;
	a->h = h;
	a->fn = fn;
	name = xasprintf("%s %s", task_kind_name(kind), v ? v->s->name : h->name);
	t = graph_add(g, kind, name, step, a);
	free(name);
	task_set_free(t, free);
	task_set_class(t, CLASS_IO);
	return t;
}

/*
 * Start tasks: a speaker starts once it is wired (its wire task, when wire
 * is given, or already, when the start was deferred), and after any of its
 * receivers that declares readiness.  Deploying without a deferred start
 * puts them in the deploy graph itself, so that a service starts as soon as
 * its own receivers are bound rather than after every launch.
 */
void
lower_start(struct run *r, struct graph *g, struct task **wire)
{
	struct deployment *d = r->d;
	struct task **start = xcalloc(d->nservices + 1, sizeof(*start));
	struct service **rcv;
	size_t i, j, n;

	for (i = 0; i < d->nservices; i++) {
		if (!service_speaks(d->services[i]))
			continue;
		if (wire ? !wire[i] : !r->svcs[i].wired || r->svcs[i].started)
			continue;
		start[i] = add_task(g, TASK_START, launch_start, r, &r->svcs[i], NULL);
		if (wire)
			task_after(start[i], wire[i]);
	}
	for (i = 0; i < d->nservices; i++) {
		if (!start[i])
			continue;
		n = plan_receivers(r->plan, d->services[i], &rcv);
		for (j = 0; j < n; j++)
			if (start[rcv[j]->index] && rcv[j]->ready.kind != READY_NONE)
				task_after(start[i], start[rcv[j]->index]);
		free(rcv);
	}
	free(start);
}

/*
 * Uploads: a task per (host, package) for the hosts that are not this
 * machine, after the package's task and the host's provision, before the
 * launch of every service of that host that runs it.  Hosts on this machine
 * run their programs from the build's cache: no task.
 */
static void
lower_uploads(struct run *r, struct build *b, struct graph *g, struct task **prov,
              struct task **launch)
{
	struct deployment *d = r->d;
	struct task **up = xcalloc(d->nservices + 1, sizeof(*up));
	size_t i, k;

	for (k = 0; k < r->nuploads; k++)
		free(r->uploads[k].remote);
	free(r->uploads);
	r->uploads = xcalloc(d->nservices + 1, sizeof(*r->uploads));
	r->nuploads = 0;
	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		const struct pkg *pkg = s->nstandin ? NULL : crate_service_package(b, s);
		struct launch_arg *a;
		char *name;

		if (!pkg || host_is_here(s->host))
			continue;
		for (k = 0; k < r->nuploads; k++)
			if (r->uploads[k].h == s->host && r->uploads[k].pkg == pkg)
				break;
		if (k == r->nuploads) {
			r->uploads[k].h = s->host;
			r->uploads[k].pkg = pkg;
			r->uploads[k].s = s;
			r->nuploads++;
			a = xcalloc(1, sizeof(*a));
			a->r = r;
			a->u = &r->uploads[k];
			a->fn = launch_upload;
			name = xasprintf("upload %s to %s", s->name, s->host->name);
			up[k] = graph_add(g, TASK_UPLOAD, name, step, a);
			free(name);
			task_set_free(up[k], free);
			task_set_class(up[k], CLASS_IO);
			task_after(up[k], package_task(pkg));
			task_after(up[k], prov[s->host->index]);
		}
		task_after(launch[i], up[k]);
	}
	free(up);
}

/* lower the targets and services to target, provision -> (upload ->)
 * launch -> wire (-> start) tasks */
void
lower_deploy(struct run *r, struct build *b, struct graph *g)
{
	struct deployment *d = r->d;
	struct task **prov = xcalloc(d->nhosts + 1, sizeof(*prov));
	struct task **launch = xcalloc(d->nservices + 1, sizeof(*launch));
	struct task **wire = xcalloc(d->nservices + 1, sizeof(*wire));
	struct service **rcv;
	size_t i, j, n;

	for (i = 0; i < d->nhosts; i++) {
		d->hosts[i]->index = i;
		prov[i] = add_task(g, TASK_PROVISION, launch_provision, r, NULL, d->hosts[i]);
	}
	for (i = 0; i < d->nservices; i++) {
		struct svc *v = &r->svcs[i];
		launch[i] = add_task(g, TASK_LAUNCH, launch_service, r, v, NULL);
		task_after(launch[i], prov[v->s->host->index]);
		for (j = 0; j < v->s->nneeds; j++) {
			struct target *tg = deploy_find_target(d, v->s->needs[j]);
			struct task *tt = tg ? build_task(b, tg) : NULL;
			if (tt)
				task_after(launch[i], tt);
		}
		if (crate_task(b, v->s))
			task_after(launch[i], crate_task(b, v->s));
		if (service_speaks(v->s))
			wire[i] = add_task(g, TASK_WIRE, launch_wire, r, v, NULL);
	}
	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		n = plan_receivers(r->plan, s, &rcv);
		for (j = 0; j < n; j++) {
			size_t k = rcv[j]->index;
			/* a process receiver's ports are chosen by its provision */
			task_after(launch[i], prov[rcv[j]->host->index]);
			if (wire[i]) {
				task_after(wire[i], launch[k]);
			} else if (service_speaks(rcv[j]) || rcv[j]->ready.kind != READY_NONE) {
				/* a process needs the address (or readiness) at spawn */
				task_after(launch[i], launch[k]);
			}
		}
		if (wire[i])
			task_after(wire[i], launch[i]);
		free(rcv);
	}
	lower_uploads(r, b, g, prov, launch);
	if (!r->defer_start)
		lower_start(r, g, wire);
	free(prov);
	free(launch);
	free(wire);
}
