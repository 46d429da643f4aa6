/*
 * gcp: the Google Compute Engine backend.  provision() creates the host's
 * VM over the Compute Engine v1 REST API (gcp_api.c), after the
 * deployment's firewall rules, and reads back its addresses and host keys;
 * terminate() deletes it and waits.  Every VM is made with
 * scheduling.maxRunDuration and instanceTerminationAction DELETE, so a VM
 * outlives a crashed hydro by at most its ttl.
 *
 * The network: in each project a VM is made in, an SSH rule (port 22 from
 * ssh_from) and an internal rule between the deployment's VMs, made
 * disabled; allow() patches the internal rule to the TCP ports the run
 * wires, before a sender on a VM connects.  A VM with external_ports gets
 * a tag of its own and a rule opening exactly those to everyone.
 *
 * The state protocol: a "vm" record (project, zone, name) is added before
 * the insert, updated with the operation, then with the instance; it is
 * removed once the API confirms the delete (not found counts as gone).
 * "firewall" records likewise.  `hydro down` deletes what the records name;
 * `hydro down --sweep` every instance labelled hydro-deployment=<id> and
 * every firewall rule named hydro-<id>-*, in every project the records,
 * .hydro/gcp/<id>.projects and the credentials name, for when the state
 * file is lost.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "backend.h"
#include "error.h"
#include "fs.h"
#include "gcp.h"
#include "hash.h"
#include "json.h"
#include "proc.h"
#include "ssh.h"
#include "state.h"
#include "str.h"
#include "xmalloc.h"

#define DEFAULT_IMAGE "debian-cloud/debian-12"
#define DEFAULT_TYPE "e2-micro"
#define DEFAULT_TTL 4 * 3600L
#define DEFAULT_SSH_FROM "0.0.0.0/0"
#define DEFAULT_BOOT_TIMEOUT 300L
#define SSH_USER "hydro"

/* the run's: set by gcp_setup() */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct state *state;
static char *hydro_dir;
static char deployment[16];	/* 10 hex digits of the project directory's hash */
/* a firewall rule of the run's */
struct fwrule {
	char *name;
	char *op;		/* its insert (or patch) operation */
	int maybe;		/* it may exist: asked for, not refused */
};
/* the deployment's rules in one project: each project a VM is made in
 * gets its own: the internal rule, the SSH rule, then one per VM with
 * external ports */
struct fwset {
	char *project;
	int made;		/* 1 asked for (maybe in part), -1 failed */
	struct fwrule *rules;
	size_t nrules, rules_alloc;
};
static struct fwset *fws;
static size_t nfws, fws_alloc;
static size_t live;		/* VMs provisioned and not terminated */
static size_t busy;		/* hosts being provisioned */
/* the TCP ports senders on the deployment's VMs are wired to (sorted); the
 * internal rule allows those of generation allowed_gen (gcp_allow()) */
static int *wired;
static size_t nwired, wired_alloc;
static unsigned long wired_gen, allowed_gen;
static pthread_mutex_t patch_lock = PTHREAD_MUTEX_INITIALIZER;
/* the projects hydro down's state records name, for --sweep */
static char **down_projects;
static size_t ndown_projects;

/* a VM while the run holds it (h->runtime) */
struct vm {
	char *project, *zone, *name;
	char *internal_ip, *external_ip;
	/* the VM as an SSH host (its external address, else its internal
	 * one; the deployment's key): the SSH backend's slots do the work */
	struct host ssh;
	struct kv kv[4];
	char *key;
	/* external_ports: open to everyone by the VM's own rule */
	int *ports;
	size_t nports;
	/* terminate deleted it; the struct stays until disconnect, as the
	 * run's processes on it are released only then, through vm->ssh */
	int deleted;
};


static void
deployment_id(const char *project_dir, char out[16])
{
	struct hash hs;
	char hex[HASH_HEX_LEN];

	hash_bytes(project_dir, strlen(project_dir), &hs);
	hash_hex(&hs, hex);
	memcpy(out, hex, 10);
	out[10] = '\0';
}

/* where the run's state and keys live; called by the run before provision */
void
gcp_setup(const char *dir, struct state *st, const char *project_dir)
{
	pthread_mutex_lock(&lock);
	free(hydro_dir);
	hydro_dir = xstrdup(dir);
	state = st;
	deployment_id(project_dir, deployment);
	while (nfws > 0) {
		struct fwset *f = &fws[--nfws];
		while (f->nrules > 0) {
			f->nrules--;
			free(f->rules[f->nrules].name);
			free(f->rules[f->nrules].op);
		}
		free(f->rules);
		free(f->project);
	}
	live = busy = 0;
	nwired = 0;
	wired_gen = allowed_gen = 0;
	pthread_mutex_unlock(&lock);
}

static void
describe_failure(struct buf *b, const char *what, const struct gcp_reply *r)
{
	buf_printf(b, "%s: ", what);
	gcp_reply_describe(b, r);
}

/* DELETE a resource and wait for it: 0 once gone (404 too), -1 with an error */
static int
delete_and_wait(const char *project, const char *zone, const char *path,
                const char *what)
{
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	char *code, *msg;
	const char *op;
	int ret = 0;

	if (gcp_call("DELETE", path, NULL, &r) < 0) {
		if (r.status == 404) {
			gcp_reply_release(&r);
			return 0;
		}
		describe_failure(&d, "", &r);
		ret = error("cannot delete %s%s", what, d.data);
		buf_release(&d);
		gcp_reply_release(&r);
		return ret;
	}
	op = json_str(r.json, "name");
	if (op && zone)
		ret = gcp_wait_op(project, zone, op, &code, &msg);
	else if (op)
		ret = 0;	/* global operations: polled below by the caller's get */
	if (ret < 0) {
		if (code && !strcmp(code, "RESOURCE_NOT_FOUND"))
			ret = 0;
		else
			error("cannot delete %s: %s%s%s", what, code ? code : "",
			      code ? ": " : "", msg ? msg : "");
		free(code);
		free(msg);
	}
	gcp_reply_release(&r);
	return ret;
}

/* wait for a global operation (firewalls) to be done */
static int
wait_global(const char *project, const char *op, const char *what)
{
	struct gcp_reply r;
	char *path = xasprintf("projects/%s/global/operations/%s/wait", project, op);
	const cJSON *err;
	int ret = -1;

	for (;;) {
		if (gcp_call("POST", path, NULL, &r) < 0) {
			struct buf d = BUF_INIT;
			gcp_reply_describe(&d, &r);
			error("cannot %s: %s", what, d.data);
			buf_release(&d);
			break;
		}
		if (!json_str(r.json, "status") || strcmp(json_str(r.json, "status"), "DONE")) {
			gcp_reply_release(&r);
			continue;
		}
		err = cJSON_GetObjectItem(r.json, "error");
		if (err) {
			const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(err, "errors"), 0);
			error("cannot %s: %s: %s", what, e0 ? json_str(e0, "code") : "?",
			      e0 ? json_str(e0, "message") : "?");
		} else {
			ret = 0;
		}
		break;
	}
	gcp_reply_release(&r);
	free(path);
	return ret;
}

/* DELETE the rule; *op its operation, NULL when it was gone already */
static int
delete_firewall_start(const char *project, const char *name, char **op)
{
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	char *path = xasprintf("projects/%s/global/firewalls/%s", project, name);
	int ret = 0;

	*op = NULL;
	if (gcp_call("DELETE", path, NULL, &r) < 0) {
		if (r.status != 404) {
			gcp_reply_describe(&d, &r);
			ret = error("cannot delete firewall rule '%s': %s", name, d.data);
		}
	} else if (json_str(r.json, "name")) {
		*op = xstrdup(json_str(r.json, "name"));
	}
	gcp_reply_release(&r);
	buf_release(&d);
	free(path);
	return ret;
}

/* wait for the delete started: 0 once the rule is gone */
static int
delete_firewall_wait(const char *project, const char *name, char *op)
{
	char *what;
	int ret;

	if (!op)
		return 0;
	what = xasprintf("delete firewall rule '%s'", name);
	ret = wait_global(project, op, what);
	free(what);
	free(op);
	return ret;
}

static int
delete_firewall(const char *project, const char *name)
{
	char *op;

	if (delete_firewall_start(project, name, &op) < 0)
		return -1;
	return delete_firewall_wait(project, name, op);
}

/* ---- the firewall rules: one per deployment for its VMs, one for SSH ---- */

/* POST the rule (recorded first) for the VMs tagged target, or PATCH it
 * to this when an earlier run left it; its operation's name into *op, to
 * wait for before the VMs are used */
static int
insert_firewall(const char *project, const char *network, const char *name,
                const char *target, cJSON *rule, char **op, int *maybe)
{
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	char *path = xasprintf("projects/%s/global/firewalls", project);
	char *id = xasprintf("%s/%s", project, name);
	cJSON *rec = cJSON_CreateObject();
	int ret = 0;

	*op = NULL;
	*maybe = 0;
	cJSON_AddStringToObject(rec, "project", project);
	cJSON_AddStringToObject(rec, "name", name);
	cJSON_AddStringToObject(rec, "deployment", deployment);
	if (state_add(state, "firewall", id, rec) < 0) {
		cJSON_Delete(rule);
		free(path);
		free(id);
		return -1;
	}
	cJSON_AddStringToObject(rule, "name", name);
	cJSON_AddStringToObject(rule, "network", network);
	cJSON_AddStringToObject(rule, "direction", "INGRESS");
	cJSON_AddStringToObject(rule, "description",
	                        "hydro deployment; hydro down removes it");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(rule, "targetTags"),
	                     cJSON_CreateString(target));
	ret = gcp_call("POST", path, rule, &r);
	/* made, there already, or no sure answer: it may exist */
	*maybe = ret == 0 || r.status == 409 || r.status == 0 || r.status >= 500;
	if (ret < 0 && r.status == 409) {
		/* left by an earlier run of this deployment: made what this run
		 * asks for (firewalls.patch replaces the fields the body names) */
		gcp_reply_release(&r);
		free(path);
		path = xasprintf("projects/%s/global/firewalls/%s", project, name);
		if (gcp_call("PATCH", path, rule, &r) == 0) {
			ret = 0;
		} else {
			gcp_reply_describe(&d, &r);
			ret = error("cannot update firewall rule '%s' in project '%s', "
			            "left by an earlier run: %s", name, project, d.data);
		}
	} else if (ret < 0) {
		gcp_reply_describe(&d, &r);
		ret = error("cannot create firewall rule '%s' in project '%s': %s",
		            name, project, d.data);
		if (!*maybe)
			state_remove(state, "firewall", id);
	}
	if (ret == 0 && json_str(r.json, "name")) {
		*op = xstrdup(json_str(r.json, "name"));
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "operation", *op);
		state_update(state, "firewall", id, rec);
	}
	gcp_reply_release(&r);
	cJSON_Delete(rule);
	buf_release(&d);
	free(path);
	free(id);
	return ret;
}

/* the rule's "allowed": TCP on the ports (none: port 22, which the SSH
 * rule opens anyway, for a disabled rule) */
static cJSON *
allowed_tcp(const int *ports, size_t n)
{
	cJSON *allowed = cJSON_CreateArray(), *a = cJSON_CreateObject(), *list;
	char num[16];
	size_t i;

	cJSON_AddStringToObject(a, "IPProtocol", "tcp");
	list = cJSON_AddArrayToObject(a, "ports");
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%d", ports[i]);
		cJSON_AddItemToArray(list, cJSON_CreateString(num));
	}
	if (!n)
		cJSON_AddItemToArray(list, cJSON_CreateString("22"));
	cJSON_AddItemToArray(allowed, a);
	return allowed;
}

static char *
network_url(const struct host *h)
{
	const char *n = host_get(h, "network");

	if (!n)
		n = "default";
	if (strchr(n, '/'))
		return xstrdup(n);
	return xasprintf("global/networks/%s", n);
}

/* the host's external_ports ("80,443") into *ports, in order, each once;
 * -1 with an error if one is no TCP port */
static int
external_ports(const struct host *h, int **ports, size_t *n)
{
	const char *list = host_get(h, "external_ports");
	char **items = str_split(list ? list : "", ',', n);
	size_t i, j, k = 0;
	long v;
	int ret = 0;

	*ports = xcalloc(*n + 1, sizeof(**ports));
	for (i = 0; i < *n && ret == 0; i++) {
		const char *item = str_trim(items[i]);
		if (!*item)
			continue;
		if (str_to_long(item, 1, 65535, &v) < 0) {
			error_clear();
			ret = error("host '%s': external_ports '%s' is not a comma-separated "
			            "list of TCP ports (1 to 65535)", h->name, list);
			break;
		}
		for (j = 0; j < k && (*ports)[j] != v; j++)
			;
		if (j == k)
			(*ports)[k++] = (int)v;
	}
	str_free_list(items);
	*n = k;
	if (ret < 0) {
		free(*ports);
		*ports = NULL;
		*n = 0;
	}
	return ret;
}

/* the project's rules, or NULL; with lock held */
static struct fwset *
fw_find(const char *project)
{
	size_t i;

	for (i = 0; i < nfws; i++)
		if (!strcmp(fws[i].project, project))
			return &fws[i];
	return NULL;
}

/* a new rule (named name, taken) of the set; with lock held */
static struct fwrule *
fw_add(struct fwset *f, char *name)
{
	struct fwrule *r;

	ALLOC_GROW(f->rules, f->nrules, f->rules_alloc);
	r = &f->rules[f->nrules++];
	memset(r, 0, sizeof(*r));
	r->name = name;
	return r;
}

/* the deployment's rules in the project, asked for once per run by the
 * first host there; firewall_ready() waits for them */
static int
ensure_firewall(struct host *h, const char *project)
{
	char *net = network_url(h), *tag;
	const char *from = host_get(h, "ssh_from");
	struct fwset *f;
	struct fwrule *r;
	cJSON *rule, *allowed, *a;
	int ret = 0;

	pthread_mutex_lock(&lock);
	f = fw_find(project);
	if (f) {
		ret = f->made < 0 ? error("host '%s': the deployment's firewall rules "
		                          "in project '%s' could not be made", h->name,
		                          project) : 0;
		pthread_mutex_unlock(&lock);
		free(net);
		return ret;
	}
	ALLOC_GROW(fws, nfws, fws_alloc);
	f = &fws[nfws++];
	memset(f, 0, sizeof(*f));
	f->project = xstrdup(project);
	tag = xasprintf("hydro-%s", deployment);
	/* its VMs reach each other on the TCP ports the run wires, which
	 * gcp_allow() puts in once they are chosen: till then the rule is
	 * disabled and opens nothing (a rule must name something to allow) */
	r = fw_add(f, xasprintf("hydro-%s-internal", deployment));
	rule = cJSON_CreateObject();
	cJSON_AddItemToObject(rule, "sourceTags", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItem(rule, "sourceTags"), cJSON_CreateString(tag));
	cJSON_AddItemToObject(rule, "allowed", allowed_tcp(NULL, 0));
	cJSON_AddBoolToObject(rule, "disabled", 1);
	ret = insert_firewall(project, net, r->name, tag, rule, &r->op, &r->maybe);
	/* SSH from the operator */
	if (ret == 0) {
		r = fw_add(f, xasprintf("hydro-%s-ssh", deployment));
		rule = cJSON_CreateObject();
		cJSON_AddItemToObject(rule, "sourceRanges", cJSON_CreateArray());
		cJSON_AddItemToArray(cJSON_GetObjectItem(rule, "sourceRanges"),
		                     cJSON_CreateString(from ? from : DEFAULT_SSH_FROM));
		allowed = cJSON_AddArrayToObject(rule, "allowed");
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "IPProtocol", "tcp");
		cJSON_AddItemToObject(a, "ports", cJSON_CreateArray());
		cJSON_AddItemToArray(cJSON_GetObjectItem(a, "ports"), cJSON_CreateString("22"));
		cJSON_AddItemToArray(allowed, a);
		ret = insert_firewall(project, net, r->name, tag, rule, &r->op, &r->maybe);
	}
	/* even failed, a rule may exist: drop_firewall() deletes both */
	f->made = ret == 0 ? 1 : -1;
	pthread_mutex_unlock(&lock);
	free(tag);
	free(net);
	return ret;
}

/* the VM's external ports open to everyone: rule <VM name>-ext, TCP on
 * exactly those ports from 0.0.0.0/0 to the VM's own tag (its name); one
 * of the project's set, deleted with the others */
static int
open_external(struct host *h, struct vm *vm)
{
	char *net = network_url(h), *name = xasprintf("%s-ext", vm->name);
	struct fwrule made = { NULL, NULL, 0 }, *r;
	struct fwset *f;
	cJSON *rule = cJSON_CreateObject();
	int ret;

	cJSON_AddItemToArray(cJSON_AddArrayToObject(rule, "sourceRanges"),
	                     cJSON_CreateString("0.0.0.0/0"));
	cJSON_AddItemToObject(rule, "allowed", allowed_tcp(vm->ports, vm->nports));
	ret = insert_firewall(vm->project, net, name, vm->name, rule, &made.op, &made.maybe);
	pthread_mutex_lock(&lock);
	/* the set is there: ensure_firewall() made it, and it stays while
	 * this host is being provisioned */
	f = fw_find(vm->project);
	if (made.maybe) {
		r = fw_add(f, name);
		r->op = made.op;
		r->maybe = made.maybe;
	} else {
		free(name);
		free(made.op);
	}
	pthread_mutex_unlock(&lock);
	free(net);
	return ret;
}

/* wait until the rules' operations are done */
static int
firewall_ready(const char *project)
{
	struct fwset *f;
	char **ops;
	size_t i, n = 0;
	int ret = 0;

	pthread_mutex_lock(&lock);
	f = fw_find(project);
	ops = xcalloc(f ? f->nrules + 1 : 1, sizeof(*ops));
	for (i = 0; f && i < f->nrules; i++)
		if (f->rules[i].op)
			ops[n++] = xstrdup(f->rules[i].op);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < n && ret == 0; i++)
		ret = wait_global(project, ops[i], "create the deployment's firewall rules");
	str_free_list(ops);
	return ret;
}

/* delete the rules of one project (f, taken from the run's list) */
static int
drop_fwset(struct fwset *f)
{
	struct fwrule *r;
	int ret = 0;
	size_t i;

	/* a rule still being made would be "not found" now and there later */
	for (i = 0; i < f->nrules; i++) {
		r = &f->rules[i];
		if (r->op && wait_global(f->project, r->op, "create a firewall rule") < 0)
			error_clear();
		free(r->op);
		r->op = NULL;
	}
	/* every delete asked for, then every one waited for */
	for (i = 0; i < f->nrules; i++) {
		r = &f->rules[i];
		if (r->maybe && delete_firewall_start(f->project, r->name, &r->op) < 0)
			r->maybe = -1;
	}
	for (i = 0; i < f->nrules; i++) {
		char *id;
		r = &f->rules[i];
		id = xasprintf("%s/%s", f->project, r->name);
		if (r->maybe < 0 ||
		    (r->maybe && delete_firewall_wait(f->project, r->name, r->op) < 0))
			ret = -1;
		else if (r->maybe)
			state_remove(state, "firewall", id);
		free(id);
		free(r->name);
	}
	free(f->rules);
	free(f->project);
	return ret;
}

/* remove the deployment's rules, in every project, once no VM of it is
 * left */
static int
drop_firewall(void)
{
	struct fwset *sets;
	size_t n, i;
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (!nfws || live > 0 || busy > 0) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	sets = fws;
	n = nfws;
	fws = NULL;
	nfws = fws_alloc = 0;
	nwired = 0;
	wired_gen = allowed_gen = 0;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < n; i++)
		if (drop_fwset(&sets[i]) < 0)
			ret = -1;
	free(sets);
	return ret;
}

/* add port to the wired set (sorted); whether it is new */
static int
wire_port(int port)
{
	size_t i = 0;

	while (i < nwired && wired[i] < port)
		i++;
	if (i < nwired && wired[i] == port)
		return 0;
	ALLOC_GROW(wired, nwired, wired_alloc);
	memmove(wired + i + 1, wired + i, (nwired - i) * sizeof(*wired));
	wired[i] = port;
	nwired++;
	return 1;
}

/* PATCH the internal rule to allow exactly the ports, enabled, and wait */
static int
patch_internal(const char *project, const int *ports, size_t n)
{
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	char *name = xasprintf("hydro-%s-internal", deployment);
	char *path = xasprintf("projects/%s/global/firewalls/%s", project, name);
	char *what, *op;
	cJSON *body = cJSON_CreateObject();
	int ret;

	cJSON_AddItemToObject(body, "allowed", allowed_tcp(ports, n));
	cJSON_AddBoolToObject(body, "disabled", 0);
	ret = gcp_call("PATCH", path, body, &r);
	if (ret < 0) {
		gcp_reply_describe(&d, &r);
		error("cannot open the wired ports in firewall rule '%s' of project "
		      "'%s': %s", name, project, d.data);
	} else if (json_str(r.json, "name")) {
		op = xstrdup(json_str(r.json, "name"));
		what = xasprintf("open the wired ports in firewall rule '%s'", name);
		ret = wait_global(project, op, what);
		free(what);
		free(op);
	}
	gcp_reply_release(&r);
	cJSON_Delete(body);
	buf_release(&d);
	free(path);
	free(name);
	return ret;
}

/*
 * allow: a sender on a VM of the deployment is about to connect to ports of
 * its VMs; the internal rule is made to allow every port wired so far in
 * the run, and no other.  Patches are one at a time: one that finds its
 * ports allowed by another's returns at once.  A sender elsewhere (this
 * machine, an SSH host) is not the rule's business: it reaches a VM as its
 * backend routes it (a tunnel through SSH).
 */
static int
gcp_allow(struct host *from, const struct host_port *to, size_t n)
{
	unsigned long gen, g;
	char **projects = NULL;
	int *ports = NULL;
	size_t i, k = 0, np = 0;
	int ret = 0;

	if (!from->backend || strcmp(from->backend, "gcp"))
		return 0;
	pthread_mutex_lock(&lock);
	for (i = 0; i < n; i++)
		if (wire_port(to[i].port))
			wired_gen++;
	gen = wired_gen;
	projects = xcalloc(nfws + 1, sizeof(*projects));
	for (i = 0; i < nfws; i++)
		if (fws[i].made > 0)
			projects[np++] = xstrdup(fws[i].project);
	pthread_mutex_unlock(&lock);
	if (!np) {
		free(projects);
		return error("host '%s': the deployment's firewall rules were not made",
		             from->name);
	}
	pthread_mutex_lock(&patch_lock);
	pthread_mutex_lock(&lock);
	if (allowed_gen < gen) {
		ports = xcalloc(nwired + 1, sizeof(*ports));
		memcpy(ports, wired, nwired * sizeof(*ports));
		k = nwired;
	}
	g = wired_gen;
	pthread_mutex_unlock(&lock);
	if (ports) {
		/* each project's rule: VMs of a project reach each other */
		for (i = 0; i < np && ret == 0; i++)
			ret = patch_internal(projects[i], ports, k);
		pthread_mutex_lock(&lock);
		if (ret == 0 && allowed_gen < g)
			allowed_gen = g;
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_unlock(&patch_lock);
	free(ports);
	str_free_list(projects);
	return ret;
}

/* ---- the deployment's SSH key ---- */

/* the ssh-keys line (USER:KEY) of the deployment's key, made on first use:
 * .hydro/gcp/<id>_ed25519 (0600) and its .pub */
static char *
ssh_public_key(const char *user)
{
	char *dir = path_join(hydro_dir, "gcp");
	char *key = xasprintf("%s/%s_ed25519", dir, deployment);
	char *pub = xasprintf("%s.pub", key);
	struct buf text = BUF_INIT;
	char *line = NULL;

	pthread_mutex_lock(&lock);
	if (!path_exists(key)) {
		char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
		                 "hydro", "-f", key, NULL };
		struct proc p = PROC_INIT;
		p.argv = argv;
		p.out = PROC_NULL;
		p.err = PROC_NULL;
		if (dir_private(dir) < 0 || proc_start(&p) < 0 || proc_finish(&p) != 0)
			error("cannot make the deployment's SSH key '%s' with ssh-keygen", key);
	}
	if (path_exists(key) && read_file(pub, &text) == 0) {
		line = xasprintf("%s:%s", user, str_trim(text.data));
	}
	pthread_mutex_unlock(&lock);
	buf_release(&text);
	free(dir);
	free(key);
	free(pub);
	return line;
}

/* add p to the list unless it is there */
static void
add_project(char ***list, size_t *n, const char *p)
{
	size_t i;

	if (!p || !*p)
		return;
	for (i = 0; i < *n; i++)
		if (!strcmp((*list)[i], p))
			return;
	*list = xrealloc(*list, (*n + 2) * sizeof(**list));
	(*list)[(*n)++] = xstrdup(p);
	(*list)[*n] = NULL;
}

/* the projects file of the deployment: every project a run made a VM or
 * rule in, one a line, kept for hydro down --sweep when the state file is
 * lost; a new string */
static char *
projects_file(const char *dir, const char *id)
{
	return xasprintf("%s/gcp/%s.projects", dir, id);
}

/* note the project in the projects file before anything is made there */
static int
remember_project(const char *project)
{
	char *dir = path_join(hydro_dir, "gcp"), *file = projects_file(hydro_dir, deployment);
	char **have = NULL;
	size_t n = 0, i;
	struct buf text = BUF_INIT;
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (path_exists(file) && read_file(file, &text) < 0) {
		pthread_mutex_unlock(&lock);
		free(dir);
		free(file);
		return -1;
	}
	have = str_split(text.data ? text.data : "", '\n', &n);
	for (i = 0; i < n && strcmp(have[i], project); i++)
		;
	if (i == n) {
		buf_printf(&text, "%s\n", project);
		if (dir_private(dir) < 0 ||
		    write_file_atomic(file, text.data, text.len, 0600) < 0)
			ret = error("cannot note project '%s' in '%s'", project, file);
	}
	pthread_mutex_unlock(&lock);
	str_free_list(have);
	buf_release(&text);
	free(dir);
	free(file);
	return ret;
}

/* ---- instances ---- */

static long
ttl_seconds(const struct host *h, int *off)
{
	const char *t = host_get(h, "ttl");
	long v = DEFAULT_TTL;

	*off = 0;
	if (!t)
		return v;
	if (!strcasecmp(t, "none") || !strcmp(t, "0")) {
		*off = 1;
		return 0;
	}
	if (str_to_long(t, 30, 120L * 86400, &v) < 0) {
		error_clear();
		return -1;
	}
	return v;
}

static char *
image_url(const struct host *h)
{
	const char *img = host_get(h, "image");
	const char *slash;

	if (!img)
		img = DEFAULT_IMAGE;
	if (str_starts(img, "projects/") || strstr(img, "://"))
		return xstrdup(img);
	slash = strchr(img, '/');
	if (!slash)
		return xasprintf("global/images/%s", img);
	/* project/family, as gcloud's --image-project and --image-family */
	return xasprintf("projects/%.*s/global/images/family/%s", (int)(slash - img),
	                 img, slash + 1);
}

static cJSON *
meta_item(const char *key, const char *value)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "value", value);
	return o;
}

static cJSON *
instance_body(const struct host *h, const char *name, const char *zone,
              const char *pubkey, long ttl, int ttl_off, int external)
{
	const char *type = host_get(h, "type");
	const char *disk = host_get(h, "disk_gb");
	const char *spot = host_get(h, "spot");
	cJSON *b = cJSON_CreateObject(), *o, *arr, *d, *ip, *ni, *ac;
	char *s;

	cJSON_AddStringToObject(b, "name", name);
	s = xasprintf("zones/%s/machineTypes/%s", zone, type ? type : DEFAULT_TYPE);
	cJSON_AddStringToObject(b, "machineType", s);
	free(s);
	o = cJSON_AddObjectToObject(b, "labels");
	cJSON_AddStringToObject(o, "hydro-deployment", deployment);
	o = cJSON_AddObjectToObject(b, "tags");
	arr = cJSON_AddArrayToObject(o, "items");
	s = xasprintf("hydro-%s", deployment);
	cJSON_AddItemToArray(arr, cJSON_CreateString(s));
	free(s);
	/* its own tag, which only its external ports' rule targets */
	if (external)
		cJSON_AddItemToArray(arr, cJSON_CreateString(name));
	arr = cJSON_AddArrayToObject(b, "disks");
	d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "boot", 1);
	cJSON_AddBoolToObject(d, "autoDelete", 1);
	ip = cJSON_AddObjectToObject(d, "initializeParams");
	s = image_url(h);
	cJSON_AddStringToObject(ip, "sourceImage", s);
	free(s);
	if (disk)
		cJSON_AddStringToObject(ip, "diskSizeGb", disk);
	cJSON_AddItemToArray(arr, d);
	arr = cJSON_AddArrayToObject(b, "networkInterfaces");
	ni = cJSON_CreateObject();
	s = network_url(h);
	cJSON_AddStringToObject(ni, "network", s);
	free(s);
	ac = cJSON_CreateObject();
	cJSON_AddStringToObject(ac, "type", "ONE_TO_ONE_NAT");
	cJSON_AddStringToObject(ac, "name", "External NAT");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ni, "accessConfigs"), ac);
	cJSON_AddItemToArray(arr, ni);
	o = cJSON_AddObjectToObject(b, "metadata");
	arr = cJSON_AddArrayToObject(o, "items");
	cJSON_AddItemToArray(arr, meta_item("enable-guest-attributes", "TRUE"));
	cJSON_AddItemToArray(arr, meta_item("ssh-keys", pubkey));
	o = cJSON_AddObjectToObject(b, "scheduling");
	if (spot && (!strcasecmp(spot, "true") || !strcmp(spot, "1"))) {
		cJSON_AddStringToObject(o, "provisioningModel", "SPOT");
		cJSON_AddBoolToObject(o, "automaticRestart", 0);
		cJSON_AddStringToObject(o, "onHostMaintenance", "TERMINATE");
	}
	if (!ttl_off) {
		char secs[32];
		snprintf(secs, sizeof(secs), "%ld", ttl);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "maxRunDuration"),
		                        "seconds", secs);
		cJSON_AddStringToObject(o, "instanceTerminationAction", "DELETE");
	}
	return b;
}

/* delete the VM and drop its record; 0 once the API says it is gone */
static int
delete_vm(const char *project, const char *zone, const char *name)
{
	char *path = xasprintf("projects/%s/zones/%s/instances/%s", project, zone, name);
	char *what = xasprintf("VM '%s' in zone '%s'", name, zone);
	int ret = delete_and_wait(project, zone, path, what);

	if (ret == 0 && state)
		state_remove(state, "vm", name);
	free(path);
	free(what);
	return ret;
}

static char *
dup_at(const cJSON *o, const char *key)
{
	const char *s = json_str(o, key);

	return s ? xstrdup(s) : NULL;
}

/* the instance's addresses, once RUNNING; 1 running, 0 not yet, -1 error */
static int
read_instance(struct vm *vm)
{
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	char *path = xasprintf("projects/%s/zones/%s/instances/%s", vm->project,
	                       vm->zone, vm->name);
	const cJSON *ni, *ac;
	const char *st;
	int ret = 0;

	if (gcp_call("GET", path, NULL, &r) < 0) {
		gcp_reply_describe(&d, &r);
		ret = error("cannot read VM '%s': %s", vm->name, d.data);
	} else if ((st = json_str(r.json, "status")) && !strcmp(st, "RUNNING")) {
		ni = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "networkInterfaces"), 0);
		ac = ni ? cJSON_GetArrayItem(cJSON_GetObjectItem(ni, "accessConfigs"), 0) : NULL;
		free(vm->internal_ip);
		free(vm->external_ip);
		vm->internal_ip = ni ? dup_at(ni, "networkIP") : NULL;
		vm->external_ip = ac ? dup_at(ac, "natIP") : NULL;
		ret = vm->internal_ip ? 1 : 0;
	} else if (st && (!strcmp(st, "TERMINATED") || !strcmp(st, "STOPPING"))) {
		ret = error("VM '%s' is %s", vm->name, st);
	}
	gcp_reply_release(&r);
	buf_release(&d);
	free(path);
	return ret;
}

/* record the host keys the VM published in guest attributes (hostkeys/)
 * in the project's known_hosts; 1 recorded, 0 none yet, -1 error */
static int
read_hostkeys(struct vm *vm)
{
	struct gcp_reply r;
	char *path = xasprintf("projects/%s/zones/%s/instances/%s/getGuestAttributes"
	                       "?queryPath=hostkeys%%2F", vm->project, vm->zone, vm->name);
	char *kh = path_join(hydro_dir, "known_hosts");
	const cJSON *items, *it;
	int n = 0;

	if (gcp_call("GET", path, NULL, &r) < 0) {
		/* 404: the guest agent has not written them yet */
		int ret = r.status == 404 ? 0 : -1;
		if (ret < 0) {
			struct buf d = BUF_INIT;
			gcp_reply_describe(&d, &r);
			error("cannot read the host keys of VM '%s': %s", vm->name, d.data);
			buf_release(&d);
		}
		gcp_reply_release(&r);
		free(path);
		free(kh);
		return ret;
	}
	items = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "queryValue"), "items");
	cJSON_ArrayForEach(it, items) {
		const char *v = json_str(it, "value");
		unsigned char *blob;
		int len;
		if (!v)
			continue;
		blob = xmalloc(strlen(v));
		len = EVP_DecodeBlock(blob, (const unsigned char *)v, (int)strlen(v));
		/* EVP_DecodeBlock counts padding as zero bytes */
		if (len > 0 && strlen(v) > 1 && v[strlen(v) - 1] == '=')
			len -= v[strlen(v) - 2] == '=' ? 2 : 1;
		if (len > 0 && vm->external_ip &&
		    hostkey_record(kh, vm->external_ip, blob, (size_t)len) == 0)
			n++;
		if (len > 0 && vm->internal_ip &&
		    hostkey_record(kh, vm->internal_ip, blob, (size_t)len) == 0)
			n++;
		free(blob);
	}
	gcp_reply_release(&r);
	free(path);
	free(kh);
	return n > 0;
}

/* wait for the VM to run and publish its host keys */
static int
wait_boot(struct host *h, struct vm *vm)
{
	const char *t = host_get(h, "boot_timeout");
	long timeout = DEFAULT_BOOT_TIMEOUT, step = 100;
	time_t end;
	int ret;

	if (t && str_to_long(t, 1, 3600, &timeout) < 0)
		return error("host '%s': boot_timeout '%s' is not a number of seconds "
		             "from 1 to 3600", h->name, t);
	end = time(NULL) + timeout;
	while ((ret = read_instance(vm)) == 0 && time(NULL) < end) {
		gcp_sleep_ms(step);
		step = step < 2000 ? step * 2 : 2000;
	}
	while (ret == 1 && (ret = read_hostkeys(vm)) == 0 && time(NULL) < end) {
		gcp_sleep_ms(step);
		step = step < 2000 ? step * 2 : 2000;
	}
	if (ret == 0)
		return error("VM '%s' of host '%s' did not boot (running with its host "
		             "keys in guest attributes) within %ld s; boot_timeout= "
		             "gives it longer", vm->name, h->name, timeout);
	return ret < 0 ? -1 : 0;
}

/* a name Compute Engine takes: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 */
static char *
instance_name(const char *host)
{
	struct buf b = BUF_INIT;
	unsigned char rnd[3];
	size_t i;

	buf_printf(&b, "hydro-%s-", deployment);
	for (i = 0; host[i] && b.len < 50; i++) {
		int c = tolower((unsigned char)host[i]);
		buf_addch(&b, isalnum(c) ? c : '-');
	}
	RAND_bytes(rnd, sizeof(rnd));
	buf_printf(&b, "-%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
	return buf_detach(&b, NULL);
}

static void
vm_free(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->ssh.name)
		backend_ssh.disconnect(&vm->ssh);
	free(vm->key);
	free(vm->project);
	free(vm->zone);
	free(vm->name);
	free(vm->internal_ip);
	free(vm->external_ip);
	free(vm->ports);
	free(vm);
}

/* the zones to try: zones= (comma-separated), else zone= */
static char **
zone_list(const struct host *h, size_t *n)
{
	const char *zs = host_get(h, "zones");

	return str_split(zs && *zs ? zs : host_get(h, "zone"), ',', n);
}

/* insert the VM in zone; 0 created, 1 no capacity there (nothing left),
 * -1 error (nothing left) */
static int
insert_in_zone(struct host *h, struct vm *vm, const char *pubkey, long ttl, int off)
{
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	char *path = xasprintf("projects/%s/zones/%s/instances", vm->project, vm->zone);
	char *code = NULL, *msg = NULL, *op;
	cJSON *rec = cJSON_CreateObject(), *body;
	int ret;

	cJSON_AddStringToObject(rec, "project", vm->project);
	cJSON_AddStringToObject(rec, "zone", vm->zone);
	cJSON_AddStringToObject(rec, "name", vm->name);
	cJSON_AddStringToObject(rec, "host", h->name);
	cJSON_AddStringToObject(rec, "deployment", deployment);
	if (state_add(state, "vm", vm->name, rec) < 0) {
		free(path);
		return -1;
	}
	body = instance_body(h, vm->name, vm->zone, pubkey, ttl, off, vm->nports > 0);
	ret = gcp_call("POST", path, body, &r);
	cJSON_Delete(body);
	free(path);
	if (ret < 0) {
		state_remove(state, "vm", vm->name);
		if (r.reason && !strcmp(r.reason, "ZONE_RESOURCE_POOL_EXHAUSTED")) {
			gcp_reply_release(&r);
			return 1;
		}
		gcp_reply_describe(&d, &r);
		if (r.reason && (!strcmp(r.reason, "quotaExceeded") ||
		                 !strcmp(r.reason, "QUOTA_EXCEEDED")))
			error("cannot create VM for host '%s' in project '%s': quota "
			      "exceeded: %s", h->name, vm->project,
			      r.message ? r.message : d.data);
		else
			error("cannot create VM for host '%s' in project '%s', zone '%s': %s",
			      h->name, vm->project, vm->zone, d.data);
		buf_release(&d);
		gcp_reply_release(&r);
		return -1;
	}
	op = dup_at(r.json, "name");
	gcp_reply_release(&r);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "operation", op ? op : "");
	state_update(state, "vm", vm->name, rec);
	ret = op ? gcp_wait_op(vm->project, vm->zone, op, &code, &msg) : 0;
	free(op);
	if (ret == 0)
		return 0;
	/* the insert failed: whatever it left is deleted */
	if (delete_vm(vm->project, vm->zone, vm->name) < 0)
		error_clear();
	if (code && (!strcmp(code, "ZONE_RESOURCE_POOL_EXHAUSTED") ||
	             !strcmp(code, "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS"))) {
		ret = 1;
	} else if (code && (!strcmp(code, "QUOTA_EXCEEDED") ||
	                    !strcmp(code, "quotaExceeded"))) {
		ret = error("cannot create VM for host '%s' in project '%s': quota "
		            "exceeded: %s", h->name, vm->project, msg ? msg : "");
	} else {
		ret = error("cannot create VM for host '%s' in zone '%s': %s%s%s", h->name,
		            vm->zone, code ? code : "", code ? ": " : "", msg ? msg : "");
	}
	free(code);
	free(msg);
	return ret;
}

/* the VM's SSH host: the login the ssh-keys metadata made (ssh_user=,
 * "hydro" by default) with the deployment's key */
static void
vm_ssh(struct host *h, struct vm *vm)
{
	const char *user = host_get(h, "ssh_user"), *timeout = host_get(h, "connect_timeout");
	size_t n = 0;

	vm->key = xasprintf("%s/gcp/%s_ed25519", hydro_dir, deployment);
	vm->kv[n].key = "host";
	vm->kv[n++].value = vm->external_ip ? vm->external_ip : vm->internal_ip;
	vm->kv[n].key = "user";
	vm->kv[n++].value = (char *)(user ? user : SSH_USER);
	vm->kv[n].key = "key";
	vm->kv[n++].value = vm->key;
	if (timeout) {
		vm->kv[n].key = "connect_timeout";
		vm->kv[n++].value = (char *)timeout;
	}
	vm->ssh.name = h->name;
	vm->ssh.where = h->where;
	vm->ssh.backend = "ssh";
	vm->ssh.settings = vm->kv;
	vm->ssh.nsettings = n;
}

/* the VM's SSH host, or NULL with an error if it was not provisioned */
static struct host *
vm_host(struct host *h)
{
	struct vm *vm = h->runtime;

	if (!vm || !vm->ssh.name)
		return error("host '%s' (gcp) has no VM: it was not provisioned", h->name),
		       NULL;
	if (vm->deleted)
		return error("host '%s' (gcp): its VM was terminated", h->name), NULL;
	return &vm->ssh;
}

static int
gcp_provision(struct host *h)
{
	const char *project = host_get(h, "project");
	struct vm *vm;
	char **zones, *pubkey;
	int *ports;
	size_t nz, i, nports;
	long ttl;
	int off, ret = 1;

	if (h->runtime)
		return ((struct vm *)h->runtime)->deleted ?
		       error("host '%s' (gcp): its VM was terminated", h->name) : 0;
	if (!state || !hydro_dir)
		return error("host '%s': the gcp backend was not set up for this run", h->name);
	if (!project || !host_get(h, "zone"))
		return error("host '%s' needs project= and zone=", h->name);
	ttl = ttl_seconds(h, &off);
	if (ttl < 0)
		return error("host '%s': ttl '%s' is not a number of seconds from 30 to "
		             "10368000, nor None", h->name, host_get(h, "ttl"));
	if (external_ports(h, &ports, &nports) < 0)
		return -1;
	if (remember_project(project) < 0) {
		free(ports);
		return -1;
	}
	pthread_mutex_lock(&lock);
	busy++;
	pthread_mutex_unlock(&lock);
	ret = ensure_firewall(h, project) < 0 ? -1 : 1;
	pubkey = ret < 0 ? NULL : ssh_public_key(host_get(h, "ssh_user") ?
	                                         host_get(h, "ssh_user") : SSH_USER);
	if (!pubkey) {
		pthread_mutex_lock(&lock);
		busy--;
		pthread_mutex_unlock(&lock);
		drop_firewall();
		free(ports);
		return -1;
	}
	zones = zone_list(h, &nz);
	vm = xcalloc(1, sizeof(*vm));
	vm->project = xstrdup(project);
	vm->ports = ports;
	vm->nports = nports;
	for (i = 0; i < nz && ret == 1; i++) {
		free(vm->zone);
		free(vm->name);
		vm->zone = xstrdup(str_trim(zones[i]));
		vm->name = instance_name(h->name);
		ret = insert_in_zone(h, vm, pubkey, ttl, off);
		if (ret == 1 && i + 1 < nz)
			warning("host '%s': no capacity in zone '%s'; trying '%s'", h->name,
			        vm->zone, str_trim(zones[i + 1]));
	}
	if (ret == 1)
		ret = error("cannot create VM for host '%s': no capacity "
		            "(ZONE_RESOURCE_POOL_EXHAUSTED) in zone%s %s; zones=[...] "
		            "gives others to try", h->name, nz == 1 ? "" : "s",
		            host_get(h, "zones") ? host_get(h, "zones") : host_get(h, "zone"));
	str_free_list(zones);
	free(pubkey);
	if (ret == 0 && ((vm->nports && open_external(h, vm) < 0) ||
	                 wait_boot(h, vm) < 0 || firewall_ready(project) < 0)) {
		if (delete_vm(vm->project, vm->zone, vm->name) < 0)
			error_clear();
		ret = -1;
	}
	if (ret < 0) {
		vm_free(vm);
		pthread_mutex_lock(&lock);
		busy--;
		pthread_mutex_unlock(&lock);
		drop_firewall();
		return -1;
	}
	{
		cJSON *rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "internal_ip", vm->internal_ip);
		if (vm->external_ip)
			cJSON_AddStringToObject(rec, "external_ip", vm->external_ip);
		state_update(state, "vm", vm->name, rec);
	}
	pthread_mutex_lock(&lock);
	live++;
	busy--;
	pthread_mutex_unlock(&lock);
	vm_ssh(h, vm);
	h->runtime = vm;
	return 0;
}

static int
gcp_terminate(struct host *h)
{
	struct vm *vm = h->runtime;
	int ret = 0;

	if (vm && !vm->deleted) {
		ret = delete_vm(vm->project, vm->zone, vm->name);
		if (ret == 0) {
			/* its connection goes at disconnect, after the run has
			 * released the processes that use it */
			vm->deleted = 1;
			pthread_mutex_lock(&lock);
			live--;
			pthread_mutex_unlock(&lock);
		}
	}
	if (drop_firewall() < 0)
		ret = -1;
	return ret;
}

static const char *
gcp_address(struct host *h)
{
	struct vm *vm = h->runtime;

	return vm && vm->internal_ip ? vm->internal_ip : "127.0.0.1";
}

/* ---- the VM's slots, through the SSH backend ---- */

static const char *
gcp_machine_id(struct host *h)
{
	struct vm *vm = h->runtime;

	return vm && vm->ssh.name ? backend_ssh.machine_id(&vm->ssh) : h->name;
}

static int
gcp_put_file(struct host *h, const char *local, const struct hash *hash, char **remote)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.put_file(s, local, hash, remote) : -1;
}

static int
gcp_spawn(struct host *h, struct spawn *sp)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.spawn(s, sp) : -1;
}

static int
gcp_signal(struct host *h, struct spawn *sp, int sig)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.signal(s, sp, sig) : -1;
}

static int
gcp_wait(struct host *h, struct spawn *sp, int *status)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.wait(s, sp, status) : -1;
}

static void
gcp_release(struct host *h, struct spawn *sp)
{
	struct vm *vm = h->runtime;

	backend_ssh.release(vm ? &vm->ssh : h, sp);
}

static int
gcp_run(struct host *h, char *const argv[], host_sink *sink, void *arg, int *status)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.run(s, argv, sink, arg, status) : -1;
}

static int
gcp_probe(struct host *h, const char *addr, int port)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.probe(s, addr, port) : -1;
}

static int
gcp_free_ports(struct host *h, int *ports, size_t n)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.free_ports(s, ports, n) : -1;
}

static int
gcp_listen_watch(struct host *h, int port, const char *seen, struct spawn *sp)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.listen_watch(s, port, seen, sp) : -1;
}

static int
gcp_unpack(struct host *h, const char *pkg, const char *dir)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.unpack(s, pkg, dir) : -1;
}

static char *
gcp_run_dir(struct host *h, const char *run, const char *service)
{
	struct vm *vm = h->runtime;

	return backend_ssh.run_dir(vm && vm->ssh.name ? &vm->ssh : h, run, service);
}

static int
gcp_tunnel(struct host *h, const char *addr, int port, int *local_port)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.tunnel(s, addr, port, local_port) : -1;
}

static int
gcp_tunnel_back(struct host *h, const char *addr, int port, int *remote_port)
{
	struct host *s = vm_host(h);

	return s ? backend_ssh.tunnel_back(s, addr, port, remote_port) : -1;
}

/* what hydro down needs to reach the VM's processes: its SSH settings */
static cJSON *
gcp_record(struct host *h)
{
	struct vm *vm = h->runtime;

	return vm && vm->ssh.name ? backend_ssh.record(&vm->ssh) : NULL;
}

/* the run lets go of the VM: its SSH connection, and what it holds of it */
static void
gcp_disconnect(struct host *h)
{
	struct vm *vm = h->runtime;

	if (!vm)
		return;
	if (!vm->deleted) {
		pthread_mutex_lock(&lock);
		live--;
		pthread_mutex_unlock(&lock);
	}
	vm_free(vm);
	h->runtime = NULL;
}

static const char *
gcp_triple(struct host *h)
{
	const char *t = host_get(h, "type");

	/* Arm machine types: Tau T2A, Axion C4A */
	if (t && (str_starts(t, "t2a-") || str_starts(t, "c4a-")))
		return "aarch64-unknown-linux-gnu";
	return "x86_64-unknown-linux-gnu";
}

/* ---- hydro down ---- */

static int
cleanup_vm(const char *kind, const char *id, const cJSON *d)
{
	const char *project = json_str(d, "project"), *zone = json_str(d, "zone");

	(void)kind;
	if (!project || !zone)
		return 0;
	return delete_vm(project, zone, id);
}

static int
cleanup_firewall(const char *kind, const char *id, const cJSON *d)
{
	const char *project = json_str(d, "project"), *name = json_str(d, "name");
	const char *op = json_str(d, "operation");

	(void)kind;
	(void)id;
	if (!project || !name)
		return 0;
	/* a rule still being made would be "not found" now and there later */
	if (op && *op && wait_global(project, op, "create a firewall rule") < 0)
		error_clear();
	return delete_firewall(project, name);
}

static char *
describe_vm(const char *kind, const char *id, const cJSON *d)
{
	(void)kind;
	return xasprintf("VM %s (project %s, zone %s)", id,
	                 json_str(d, "project") ? json_str(d, "project") : "?",
	                 json_str(d, "zone") ? json_str(d, "zone") : "?");
}

static char *
describe_firewall(const char *kind, const char *id, const cJSON *d)
{
	(void)kind;
	(void)d;
	return xasprintf("firewall rule %s", id);
}

void
gcp_register_state(void)
{
	static const struct state_kind vm_kind = { "vm", cleanup_vm, 1, describe_vm };
	static const struct state_kind fw_kind = {
		"firewall", cleanup_firewall, 1, describe_firewall
	};

	state_register(&vm_kind);
	state_register(&fw_kind);
}

/* every instance labelled with the deployment, and its firewall rules */
int
gcp_sweep(const char *project_dir, const char *const *projects, size_t n)
{
	char id[16], *path, *prefix;
	struct gcp_reply r;
	struct buf d = BUF_INIT;
	const cJSON *scoped, *zone, *inst, *fw;
	size_t i;
	int ret = 0, found = 0;

	deployment_id(project_dir, id);
	prefix = xasprintf("hydro-%s-", id);
	for (i = 0; i < n; i++) {
		path = xasprintf("projects/%s/aggregated/instances?filter="
		                 "labels.hydro-deployment%%3D%s", projects[i], id);
		if (gcp_call("GET", path, NULL, &r) < 0) {
			gcp_reply_describe(&d, &r);
			ret = error("cannot list the VMs of project '%s': %s", projects[i], d.data);
			buf_reset(&d);
		} else {
			scoped = cJSON_GetObjectItem(r.json, "items");
			cJSON_ArrayForEach(zone, scoped) {
				cJSON_ArrayForEach(inst, cJSON_GetObjectItem(zone, "instances")) {
					const cJSON *labels = cJSON_GetObjectItem(inst, "labels");
					const char *dep = json_str(labels, "hydro-deployment");
					const char *name = json_str(inst, "name");
					const char *z = json_str(inst, "zone");
					if (!dep || strcmp(dep, id) || !name || !z)
						continue;
					found++;
					printf("deleting VM %s (zone %s)\n", name, gcp_last_part(z));
					if (delete_vm(projects[i], gcp_last_part(z), name) < 0)
						ret = -1;
				}
			}
		}
		gcp_reply_release(&r);
		free(path);
		path = xasprintf("projects/%s/global/firewalls", projects[i]);
		if (gcp_call("GET", path, NULL, &r) < 0) {
			gcp_reply_describe(&d, &r);
			ret = error("cannot list the firewall rules of project '%s': %s",
			            projects[i], d.data);
			buf_reset(&d);
		} else {
			cJSON_ArrayForEach(fw, cJSON_GetObjectItem(r.json, "items")) {
				const char *name = json_str(fw, "name");
				if (!name || !str_starts(name, prefix))
					continue;
				found++;
				printf("deleting firewall rule %s\n", name);
				if (delete_firewall(projects[i], name) < 0)
					ret = -1;
			}
		}
		gcp_reply_release(&r);
		free(path);
	}
	if (ret == 0 && !found)
		printf("nothing labelled hydro-deployment=%s in project%s", id, n == 1 ? "" : "s");
	if (ret == 0 && !found)
		for (i = 0; i < n; i++)
			printf("%s %s", i ? "," : "", projects[i]);
	if (ret == 0 && !found)
		printf("\n");
	buf_release(&d);
	free(prefix);
	return ret;
}

/* setup: where the run's .hydro directory and state file are; the projects
 * the state's records name, for --sweep */
static int
gcp_setup_env(const struct backend_env *env)
{
	const char *kind, *id, *status;
	const cJSON *d;
	size_t i;

	/* a caller with no project has no VMs to make or find */
	if (!env->hydro_dir || !env->project_dir)
		return 0;
	gcp_setup(env->hydro_dir, env->state, env->project_dir);
	str_free_list(down_projects);
	down_projects = NULL;
	ndown_projects = 0;
	for (i = 0; env->state && i < state_count(env->state); i++)
		if (state_get(env->state, i, &kind, &id, &status, &d) == 0 &&
		    (!strcmp(kind, "vm") || !strcmp(kind, "firewall")))
			add_project(&down_projects, &ndown_projects, json_str(d, "project"));
	return 0;
}

/* sweep: every project the deployment used that hydro can know of: those
 * of the state's records, of the projects file, and the credentials' (or
 * GOOGLE_CLOUD_PROJECT's); each project's every zone */
static int
gcp_sweep_default(const char *project_dir)
{
	char **projects = NULL, **lines, *hd, *file, *p;
	size_t n = 0, nl, i;
	struct buf text = BUF_INIT;
	char id[16];
	int ret;

	/* hydro down has closed the state file by now: what the sweep
	 * deletes has no record to drop */
	pthread_mutex_lock(&lock);
	state = NULL;
	pthread_mutex_unlock(&lock);
	for (i = 0; i < ndown_projects; i++)
		add_project(&projects, &n, down_projects[i]);
	deployment_id(project_dir, id);
	hd = path_join(project_dir, ".hydro");
	file = projects_file(hd, id);
	if (path_exists(file) && read_file(file, &text) == 0) {
		lines = str_split(text.data, '\n', &nl);
		for (i = 0; i < nl; i++)
			add_project(&projects, &n, str_trim(lines[i]));
		str_free_list(lines);
	}
	p = gcp_default_project();
	add_project(&projects, &n, p);
	free(p);
	if (!n) {
		ret = error("hydro down --sweep needs the GCP project: no record or "
		            "run of this deployment names one, nor the credentials; "
		            "set GOOGLE_CLOUD_PROJECT");
	} else {
		ret = gcp_sweep(project_dir, (const char *const *)projects, n);
	}
	str_free_list(projects);
	buf_release(&text);
	free(hd);
	free(file);
	return ret;
}

const struct backend backend_gcp = {
	"gcp",					/* name */
	BACKEND_MACHINES,			/* caps */
	gcp_triple,				/* triple */
	gcp_address,				/* address */
	gcp_provision,				/* provision */
	gcp_put_file,				/* put_file: through SSH */
	gcp_spawn,				/* spawn: through SSH */
	gcp_signal,				/* signal */
	gcp_wait,				/* wait */
	gcp_release,				/* release */
	gcp_terminate,				/* terminate */
	ssh_proc_cleanup,			/* cleanup: a process, over SSH; VMs
						 * are state kind "vm" */
	gcp_setup_env,				/* setup */
	NULL,					/* check */
	gcp_disconnect,				/* disconnect */
	gcp_register_state,			/* register_state: "vm", "firewall" */
	gcp_sweep_default,			/* sweep */
	gcp_machine_id,				/* machine_id */
	gcp_run,				/* run */
	gcp_probe,				/* probe */
	gcp_free_ports,				/* free_ports */
	gcp_unpack,				/* unpack */
	gcp_run_dir,				/* run_dir */
	gcp_tunnel,				/* tunnel */
	gcp_record,				/* record */
	gcp_tunnel_back,			/* tunnel_back */
	gcp_allow,				/* allow: the internal firewall rule */
	NULL,					/* libc: asked with run */
	gcp_listen_watch,			/* listen_watch: through SSH */
};
