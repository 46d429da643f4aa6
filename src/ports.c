#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend.h"
#include "buf.h"
#include "error.h"
#include "json.h"
#include "ports.h"
#include "str.h"
#include "xmalloc.h"

enum transport { TRANSPORT_UNIX, TRANSPORT_TCP };

static const char *const transport_names[] = { "unix", "tcp" };

struct portplan;

/* one connection, planned */
struct wire {
	struct connection *c;
	struct portplan *from, *to;	/* NULL for hydro.null() */
	long tag;		/* Tagged id on the receiver's slot, or -1 */
	long key;		/* Demux key on the sender, or -1 */
	enum transport transport;
	cJSON *bound;		/* the receiver's ServerPort for this wire */
	cJSON *route;		/* what the sender is told instead (a tunnel's
				 * local port), or NULL */
};

/* one port, planned */
struct portplan {
	struct port *port;
	struct wire **wires;
	size_t nwires, cap;
	int merge;		/* input: a Merge list, one slot per wire */
	int demux;		/* output: a Demux map, one key per wire */
	enum transport transport;	/* input: of a plain bind */
	cJSON *bound;		/* input: the answered ServerPort of a plain bind */
	char *addr;		/* input: where it is reached */
	int fd;			/* input of a process that inherits its sockets:
				 * hydro's listening socket until the start, or -1 */
	char *path;		/* the Unix socket hydro bound there, in a directory
				 * of its own, both removed with the plan; or NULL */
};

struct plan {
	struct deployment *d;
	struct portplan **pp;	/* per service, per port */
	struct wire *wires;	/* per connection */
};

int
port_replies(const struct port *p)
{
	const char *t = p->type;

	if (!t)
		return 0;
	while (*t == ' ')
		t++;
	return *t == '(' && strstr(t, "SocketAddr") != NULL;
}

static struct portplan *
pp_of(struct plan *p, const struct port *port)
{
	struct service *s = port->service;
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i] == port)
			return &p->pp[s->index][i];
	return NULL;
}

static void
pp_add(struct portplan *pp, struct wire *w)
{
	ALLOC_GROW(pp->wires, pp->nwires, pp->cap);
	pp->wires[pp->nwires++] = w;
}

static int
same_machine(struct service *a, struct service *b)
{
	return a->host == b->host || host_same_machine(a->host, b->host);
}

static int
plan_input(struct plan *p, struct portplan *pp)
{
	struct port *port = pp->port;
	struct service *r = port->service;
	char *label = port_label(port);
	int explicit_ = 0, all_merge = 1, ret = 0;
	size_t i;

	for (i = 0; i < pp->nwires; i++) {
		struct wire *w = pp->wires[i];
		if (w->c->merge || w->tag >= 0)
			explicit_ = 1;
		if (!w->c->merge)
			all_merge = 0;
	}
	switch (r->kind) {
	case SERVICE_PROCESS:
	case SERVICE_SCRIPT:	/* hydro binds it, as a process's inherited socket */
		for (i = 0; i < pp->nwires; i++)
			if (pp->wires[i]->tag >= 0)
				ret = error("%s: '%s' is an input of a process: tagged() "
				            "is for crates and hydroflow programs",
				            p->d->config, label);
		pp->transport = TRANSPORT_TCP;
		break;
	case SERVICE_CRATE:
		if (pp->nwires > 1 && !all_merge)
			ret = error("%s: '%s' has %zu senders: a crate's input accepts one "
			            "connection; give it as %s.merge() in each connection",
			            p->d->config, label, pp->nwires, label);
		pp->merge = all_merge && pp->nwires > 0;
		break;
	case SERVICE_HYDROFLOW:
		if (port_replies(port)) {
			/* a listening socket per sender, tagged with the sender */
			pp->merge = 1;
			for (i = 0; i < pp->nwires; i++) {
				struct wire *w = pp->wires[i];
				if (w->tag < 0 && w->from)
					w->tag = (long)w->from->port->service->index;
			}
		} else if (explicit_) {
			pp->merge = all_merge;
			if (pp->nwires > 1 && !all_merge)
				ret = error("%s: '%s' has %zu senders and some are tagged: "
				            "give it as %s.merge() in each connection",
				            p->d->config, label, pp->nwires, label);
		}
		break;
	}
	/* the transport of each wire; a plain bind serves all with one */
	pp->transport = TRANSPORT_UNIX;
	for (i = 0; i < pp->nwires; i++) {
		struct wire *w = pp->wires[i];
		struct service *s = w->from ? w->from->port->service : NULL;

		if (!s)
			w->transport = TRANSPORT_UNIX;
		else if (same_machine(s, r) && (service_speaks(s) || s->kind == SERVICE_SCRIPT) &&
		         (service_speaks(r) ||
		          (r->kind == SERVICE_SCRIPT && service_speaks(s))) &&
		         !port_replies(port) && !port_replies(w->from->port))
			w->transport = TRANSPORT_UNIX;
		else
			w->transport = TRANSPORT_TCP;
		if (w->from && w->transport == TRANSPORT_TCP)
			pp->transport = TRANSPORT_TCP;
	}
	if (!pp->merge)
		for (i = 0; i < pp->nwires; i++)
			pp->wires[i]->transport = pp->transport;
	free(label);
	return ret;
}

static int
plan_output(struct plan *p, struct portplan *pp)
{
	struct port *port = pp->port;
	struct service *s = port->service;
	char *label = port_label(port);
	int ret = 0, keyed = 0;
	size_t i, j;

	for (i = 0; i < pp->nwires; i++)
		if (pp->wires[i]->key >= 0)
			keyed = 1;
	switch (s->kind) {
	case SERVICE_PROCESS:
	case SERVICE_SCRIPT:
		if (keyed)
			ret = error("%s: '%s' is an output of a process: demux keys are "
			            "for crates and hydroflow programs", p->d->config, label);
		break;
	case SERVICE_CRATE:
		for (i = 0; pp->nwires > 1 && i < pp->nwires; i++) {
			if (pp->wires[i]->key < 0) {
				ret = error("%s: '%s' sends to %zu inputs: a crate's output "
				            "needs a hydro.demux({key: input}) key for each",
				            p->d->config, label, pp->nwires);
				break;
			}
		}
		pp->demux = keyed;
		break;
	case SERVICE_HYDROFLOW:
		if (port_replies(port)) {
			/* keys name the receiving service, as tags name the sender */
			for (i = 0; i < pp->nwires; i++) {
				struct wire *w = pp->wires[i];
				if (w->key < 0 && w->to)
					w->key = (long)w->to->port->service->index;
			}
			pp->demux = 1;
		} else if (pp->nwires > 1 || keyed) {
			/* broadcast: every key is sent every message */
			for (i = 0; i < pp->nwires; i++)
				if (pp->wires[i]->key < 0)
					pp->wires[i]->key = (long)i;
			pp->demux = 1;
		}
		break;
	}
	for (i = 0; pp->demux && i < pp->nwires; i++) {
		for (j = i + 1; j < pp->nwires; j++) {
			if (pp->wires[i]->key == pp->wires[j]->key) {
				char *a = port_label(pp->wires[i]->to ? pp->wires[i]->to->port : NULL);
				char *b = port_label(pp->wires[j]->to ? pp->wires[j]->to->port : NULL);
				ret = error("%s: '%s' reaches '%s' and '%s' under one key %ld; "
				            "a port can reach a service through one port only, "
				            "or give each connection its own key",
				            p->d->config, label, a, b, pp->wires[i]->key);
				free(a);
				free(b);
			}
		}
	}
	free(label);
	return ret;
}

static char *env_name(const char *port);

/* a process reads its ports from HYDRO_PORT_<NAME>: two ports whose names
 * map to one variable ("in" and "IN", "a-b" and "a_b") cannot both arrive */
static int
check_env_names(const struct deployment *d, const struct service *s)
{
	char **names = xcalloc(s->nports + 1, sizeof(*names));
	size_t i, j;
	int ret = 0;

	for (i = 0; i < s->nports; i++)
		names[i] = env_name(s->ports[i]->name);
	for (i = 0; i < s->nports && !ret; i++)
		for (j = i + 1; j < s->nports && !ret; j++)
			if (!strcmp(names[i], names[j]))
				ret = error("%s: ports '%s.%s' and '%s.%s' would both be %s in "
				            "the process's environment; rename one", d->config,
				            s->name, s->ports[i]->name, s->name,
				            s->ports[j]->name, names[i]);
	str_free_list(names);
	return ret;
}

struct plan *
plan_new(struct deployment *d)
{
	struct plan *p = xcalloc(1, sizeof(*p));
	size_t i, j;
	int ret = 0;

	p->d = d;
	p->pp = xcalloc(d->nservices ? d->nservices : 1, sizeof(*p->pp));
	for (i = 0; i < d->nservices; i++) {
		struct service *s = d->services[i];
		s->index = i;
		p->pp[i] = xcalloc(s->nports ? s->nports : 1, sizeof(**p->pp));
		for (j = 0; j < s->nports; j++) {
			p->pp[i][j].port = s->ports[j];
			p->pp[i][j].fd = -1;
		}
	}
	p->wires = xcalloc(d->nconns ? d->nconns : 1, sizeof(*p->wires));
	for (i = 0; i < d->nconns; i++) {
		struct connection *c = d->conns[i];
		struct wire *w = &p->wires[i];

		w->c = c;
		w->tag = c->tag;
		w->key = c->key;
		w->from = c->from ? pp_of(p, c->from) : NULL;
		w->to = c->to ? pp_of(p, c->to) : NULL;
		if ((c->from && !w->from) || (c->to && !w->to)) {
			ret = error("%s: connection %zu names a port its service does not have",
			            d->config, i);
			continue;
		}
		if (w->from)
			pp_add(w->from, w);
		if (w->to)
			pp_add(w->to, w);
	}
	for (i = 0; i < d->nservices; i++)
		if (d->services[i]->kind == SERVICE_PROCESS &&
		    check_env_names(d, d->services[i]) < 0)
			ret = -1;
	for (i = 0; ret == 0 && i < d->nservices; i++) {
		struct service *s = d->services[i];
		for (j = 0; j < s->nports; j++) {
			struct portplan *pp = &p->pp[i][j];
			if (pp->port->dir == PORT_INPUT && plan_input(p, pp) < 0)
				ret = -1;
			if (pp->port->dir == PORT_OUTPUT && plan_output(p, pp) < 0)
				ret = -1;
		}
	}
	if (ret < 0) {
		plan_free(p);
		return NULL;
	}
	return p;
}

void
plan_free(struct plan *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->d->nservices; i++) {
		for (j = 0; j < p->d->services[i]->nports; j++) {
			struct portplan *pp = &p->pp[i][j];
			free(pp->wires);
			if (pp->fd >= 0)
				close(pp->fd);
			if (pp->path) {
				unlink(pp->path);
				*strrchr(pp->path, '/') = '\0';
				rmdir(pp->path);
				free(pp->path);
			}
			cJSON_Delete(pp->bound);
			free(pp->addr);
		}
		free(p->pp[i]);
	}
	for (i = 0; i < p->d->nconns; i++) {
		cJSON_Delete(p->wires[i].bound);
		cJSON_Delete(p->wires[i].route);
	}
	free(p->pp);
	free(p->wires);
	free(p);
}

/* a ServerBindConfig leaf: "UnixSocket", {"TcpPort": host} or "Null" */
static cJSON *
bind_leaf(struct service *r, enum transport t, int null)
{
	cJSON *o;

	if (null)
		return cJSON_CreateString("Null");
	if (t == TRANSPORT_UNIX)
		return cJSON_CreateString("UnixSocket");
	o = cJSON_CreateObject();
	/* v0.10's encoding; the 2025 one is ["host", null] */
	cJSON_AddStringToObject(o, "TcpPort", host_address(r->host));
	return o;
}

static cJSON *
tagged(cJSON *inner, long tag)
{
	cJSON *o, *a;

	if (tag < 0)
		return inner;
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "Tagged");
	cJSON_AddItemToArray(a, inner);
	cJSON_AddItemToArray(a, cJSON_CreateNumber((double)tag));
	return o;
}

static cJSON *
bind_config(struct portplan *pp)
{
	struct service *r = pp->port->service;
	cJSON *o, *a;
	size_t i;

	if (pp->nwires == 0)
		return cJSON_CreateString("Null");
	if (pp->merge) {
		o = cJSON_CreateObject();
		a = cJSON_AddArrayToObject(o, "Merge");
		for (i = 0; i < pp->nwires; i++) {
			struct wire *w = pp->wires[i];
			cJSON_AddItemToArray(a, tagged(bind_leaf(r, w->transport, !w->from),
			                               w->tag));
		}
		return o;
	}
	if (pp->nwires == 1)
		return tagged(bind_leaf(r, pp->transport, !pp->wires[0]->from),
		              pp->wires[0]->tag);
	return bind_leaf(r, pp->transport, 0);
}

cJSON *
plan_init_config(struct plan *p, struct service *s)
{
	cJSON *ic = cJSON_CreateArray(), *map = cJSON_CreateObject();
	size_t i, j;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];
		if (pp->port->dir == PORT_INPUT)
			cJSON_AddItemToObject(map, pp->port->name, bind_config(pp));
	}
	cJSON_AddItemToArray(ic, map);
	if (s->kind == SERVICE_HYDROFLOW) {
		/* meta: a string holding JSON; the peers name the tags and keys */
		cJSON *meta = cJSON_CreateObject(), *peers;
		char *text;

		cJSON_AddStringToObject(meta, "service", s->name);
		cJSON_AddNumberToObject(meta, "index", (double)s->index);
		peers = cJSON_AddObjectToObject(meta, "peers");
		for (i = 0; i < s->nports; i++) {
			struct portplan *pp = &p->pp[s->index][i];
			for (j = 0; j < pp->nwires; j++) {
				struct wire *w = pp->wires[j];
				struct portplan *other = w->from == pp ? w->to : w->from;
				char key[32];

				if (!other)
					continue;
				snprintf(key, sizeof(key), "%zu", other->port->service->index);
				if (!cJSON_GetObjectItemCaseSensitive(peers, key))
					cJSON_AddStringToObject(peers, key, other->port->service->name);
			}
		}
		/* how many senders each input has: when all have closed, it ends */
		peers = cJSON_AddObjectToObject(meta, "senders");
		for (i = 0; i < s->nports; i++) {
			struct portplan *pp = &p->pp[s->index][i];
			size_t k = 0;
			if (pp->port->dir != PORT_INPUT)
				continue;
			for (j = 0; j < pp->nwires; j++)
				k += pp->wires[j]->from != NULL;
			cJSON_AddNumberToObject(peers, pp->port->name, (double)k);
		}
		text = json_print(meta);
		cJSON_AddItemToArray(ic, cJSON_CreateString(text));
		free(text);
		cJSON_Delete(meta);
	} else {
		cJSON_AddItemToArray(ic, cJSON_CreateNull());
	}
	return ic;
}

/* a port number a peer can connect to: 1 to 65535 */
static int
port_number(double v)
{
	return v >= 1 && v <= 65535 && v == (double)(long)v;
}

/* port_split's work, reporting nothing: NULL, or a new string saying what
 * is wrong with addr */
static char *
split(const char *addr, char **host, int *port)
{
	const char *h = addr, *end, *colon;
	size_t len;
	long n;

	if (!*addr)
		return xstrdup("the address is empty: write it HOST:PORT");
	if (addr[0] == '[') {
		h = addr + 1;
		if (!(end = strchr(h, ']')))
			return xasprintf("address '%s' has no ']' to close its '['", addr);
		colon = end + 1;
		if (*colon && *colon != ':')
			return xasprintf("address '%s' has '%s' after its ']': write it "
			                 "[IPV6]:PORT", addr, colon);
	} else {
		colon = strrchr(addr, ':');
		end = colon ? colon : addr + strlen(addr);
		if (colon && memchr(addr, ':', (size_t)(colon - addr)))
			return xasprintf("address '%s' has an IPv6 address outside brackets: "
			                 "write it [IPV6]:PORT", addr);
	}
	len = (size_t)(end - h);
	if (!len)
		return xasprintf(h == addr ? "address '%s' has no host before its port" :
		                 "address '%s' has no host between its brackets", addr);
	if (strcspn(h, "[] \t\r\n") < len)
		return xasprintf("address '%s' has '%c' in its host", addr,
		                 h[strcspn(h, "[] \t\r\n")]);
	if (!colon || !*colon || !colon[1])
		return xasprintf("address '%s' has no port: write it HOST:PORT "
		                 "([IPV6]:PORT for IPv6)", addr);
	if (strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    str_to_long(colon + 1, 1, 65535, &n) < 0)
		return xasprintf("address '%s' has port '%s': give a number from 1 to 65535",
		                 addr, colon + 1);
	*host = xstrndup(h, len);
	*port = (int)n;
	return NULL;
}

int
port_split(const char *addr, char **host, int *port)
{
	char *why = split(addr, host, port);

	if (!why)
		return 0;
	error("%s", why);
	free(why);
	return -1;
}

char *
port_join(const char *host, int port)
{
	return xasprintf(strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

/* "host:port" as a program may answer it: a host and a port number */
static int
tcp_address_ok(const char *s)
{
	char *host = NULL, *why = split(s, &host, &(int){ 0 });
	int ok = !why;

	free(host);
	free(why);
	return ok;
}

char *
server_port_address(const cJSON *sp)
{
	const cJSON *v, *h, *n;

	if (!cJSON_IsObject(sp))
		return NULL;
	if ((v = cJSON_GetObjectItemCaseSensitive(sp, "UnixSocket")) && cJSON_IsString(v) &&
	    *v->valuestring)
		return xasprintf("unix:%s", v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(sp, "TcpPort"))) {
		/* "ip:port", or the 2025 form ["ip", port] */
		if (cJSON_IsString(v) && tcp_address_ok(v->valuestring))
			return xstrdup(v->valuestring);
		if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2) {
			h = cJSON_GetArrayItem(v, 0);
			n = cJSON_GetArrayItem(v, 1);
			if (!cJSON_IsString(h) || !*h->valuestring || !cJSON_IsNumber(n) ||
			    !port_number(n->valuedouble))
				return NULL;
			return port_join(h->valuestring, (int)n->valuedouble);
		}
	}
	return NULL;
}

/* a bound ServerPort leaf: Null, UnixSocket(path) or TcpPort(addr) */
static int
check_leaf(const cJSON *sp)
{
	char *a;

	if (cJSON_IsString(sp) && !strcmp(sp->valuestring, "Null"))
		return 0;
	a = server_port_address(sp);
	if (!a)
		return -1;
	free(a);
	return 0;
}

/* strip a Tagged wrapper that matches the tag asked for */
static const cJSON *
untag(const cJSON *sp, long tag)
{
	const cJSON *t;

	if (tag < 0)
		return sp;
	t = cJSON_IsObject(sp) ? cJSON_GetObjectItemCaseSensitive(sp, "Tagged") : NULL;
	/* compared as doubles: a number no long can hold is not converted */
	if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) != 2 ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(t, 1)) ||
	    cJSON_GetArrayItem(t, 1)->valuedouble != (double)tag)
		return NULL;
	return cJSON_GetArrayItem(t, 0);
}

static int
ready_port(struct plan *p, struct service *s, struct portplan *pp, const cJSON *v)
{
	const cJSON *m, *leaf;
	size_t i;

	if (pp->nwires == 0)
		return 0;
	if (pp->merge) {
		m = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "Merge") : NULL;
		if (!cJSON_IsArray(m) || (size_t)cJSON_GetArraySize(m) != pp->nwires)
			return error("service '%s' answered ready: with port '%s' that is not "
			             "a Merge of %zu", s->name, pp->port->name, pp->nwires);
		for (i = 0; i < pp->nwires; i++) {
			leaf = untag(cJSON_GetArrayItem(m, (int)i), pp->wires[i]->tag);
			if (!leaf || check_leaf(leaf) < 0)
				return error("service '%s' answered ready: with a bad address in "
				             "slot %zu of port '%s'", s->name, i, pp->port->name);
			cJSON_Delete(pp->wires[i]->bound);
			pp->wires[i]->bound = cJSON_Duplicate(leaf, 1);
		}
		free(pp->addr);
		pp->addr = server_port_address(pp->wires[0]->bound);
		return 0;
	}
	leaf = untag(v, pp->nwires == 1 ? pp->wires[0]->tag : -1);
	if (!leaf || check_leaf(leaf) < 0)
		return error("service '%s' answered ready: with a bad address for port '%s'",
		             s->name, pp->port->name);
	cJSON_Delete(pp->bound);
	pp->bound = cJSON_Duplicate(leaf, 1);
	for (i = 0; i < pp->nwires; i++) {
		cJSON_Delete(pp->wires[i]->bound);
		pp->wires[i]->bound = cJSON_Duplicate(leaf, 1);
	}
	free(pp->addr);
	pp->addr = server_port_address(leaf);
	(void)p;
	return 0;
}

int
plan_ready(struct plan *p, struct service *s, const char *answer)
{
	cJSON *map;
	size_t i;
	int ret = 0;

	/* the whole answer, nothing after it */
	map = cJSON_ParseWithOpts(answer, NULL, 1);
	if (!map || !cJSON_IsObject(map)) {
		ret = error("service '%s' answered ready: with malformed JSON (%s): '%.200s'",
		            s->name, map ? "not an object" : "cannot parse it", answer);
		cJSON_Delete(map);
		return ret;
	}
	for (i = 0; i < s->nports && ret == 0; i++) {
		struct portplan *pp = &p->pp[s->index][i];
		const cJSON *v;

		if (pp->port->dir != PORT_INPUT || pp->nwires == 0)
			continue;
		v = cJSON_GetObjectItemCaseSensitive(map, pp->port->name);
		if (!v)
			ret = error("service '%s' answered ready: without its port '%s'",
			            s->name, pp->port->name);
		else
			ret = ready_port(p, s, pp, v);
	}
	cJSON_Delete(map);
	return ret;
}

static cJSON *
wire_target(struct wire *w, struct service *s)
{
	char *a;

	if (!w->to)
		return cJSON_CreateString("Null");
	if (!w->bound) {
		a = port_label(w->to->port);
		error("cannot tell '%s' where to send: '%s' has no address yet", s->name, a);
		free(a);
		return NULL;
	}
	return cJSON_Duplicate(w->route ? w->route : w->bound, 1);
}

cJSON *
plan_start_map(struct plan *p, struct service *s)
{
	cJSON *map = cJSON_CreateObject(), *v, *dm, *t;
	char key[32];
	size_t i, j;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];

		if (pp->port->dir != PORT_OUTPUT)
			continue;
		if (pp->nwires == 0) {
			cJSON_AddItemToObject(map, pp->port->name, cJSON_CreateString("Null"));
			continue;
		}
		if (!pp->demux) {
			v = wire_target(pp->wires[0], s);
			if (!v)
				goto fail;
			cJSON_AddItemToObject(map, pp->port->name, v);
			continue;
		}
		v = cJSON_CreateObject();
		dm = cJSON_AddObjectToObject(v, "Demux");
		cJSON_AddItemToObject(map, pp->port->name, v);
		for (j = 0; j < pp->nwires; j++) {
			t = wire_target(pp->wires[j], s);
			if (!t)
				goto fail;
			snprintf(key, sizeof(key), "%ld", pp->wires[j]->key);
			cJSON_AddItemToObject(dm, key, t);
		}
	}
	return map;
fail:
	cJSON_Delete(map);
	return NULL;
}

int
port_pick(const char *addr, int *port, int *keep)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return error("cannot pick a port on '%s': not an IPv4 address", addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno("cannot make a socket");
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0 ||
	    (keep && listen(fd, SOMAXCONN) < 0)) {
		close(fd);
		return error_errno("cannot pick a port on '%s'", addr);
	}
	if (keep)
		*keep = fd;
	else
		close(fd);
	*port = ntohs(sin.sin_port);
	return 0;
}

int
port_try(const char *addr, int port, int timeout_ms)
{
	struct addrinfo hints, *ai = NULL;
	struct pollfd pfd;
	char service[16];
	socklen_t len = sizeof(int);
	int fd, err = 0, ret;

	snprintf(service, sizeof(service), "%d", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(addr, service, &hints, &ai) != 0 || !ai) {
		error("cannot connect to '%s': not an address", addr);
		return -2;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		error_errno("cannot make a socket");
		return -2;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		err = 0;
	} else if (errno != EINPROGRESS) {
		err = errno;
	} else {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			ret = poll(&pfd, 1, timeout_ms);
		while (ret < 0 && errno == EINTR);
		if (ret <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = ETIMEDOUT;
	}
	close(fd);
	freeaddrinfo(ai);
	return !err ? 1 : err == ECONNREFUSED ? 0 : -1;
}

/* an address of a /proc/net/tcp{,6} line, the hex of its 32-bit words as
 * the kernel prints them (in this machine's byte order), into 16 bytes:
 * IPv4 as ::ffff:a.b.c.d; -1 if it is neither length */
static int
proc_addr(const char *hex, size_t len, unsigned char out[16])
{
	uint32_t w[4];
	char word[9];
	size_t i;

	if (len != 8 && len != 32)
		return -1;
	for (i = 0; i < len / 8; i++) {
		memcpy(word, hex + 8 * i, 8);
		word[8] = '\0';
		w[i] = (uint32_t)strtoul(word, NULL, 16);
	}
	if (len == 8) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &w[0], 4);
	} else {
		memcpy(out, w, 16);
	}
	return 0;
}

/* host (an address as port_split gives it: IPv6 without brackets) as 16
 * bytes (IPv4 mapped), or -1 if it is not an IP address */
static int
ip_bytes(const char *host, unsigned char out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, host, out) == 1 ? 0 : -1;
}

/* every address: 0.0.0.0 (mapped) or :: */
static int
ip_any(const unsigned char a[16])
{
	static const unsigned char any4[16] = { [10] = 0xff, [11] = 0xff };
	static const unsigned char any6[16];

	return !memcmp(a, any4, 16) || !memcmp(a, any6, 16);
}

/* the next line of a /proc/net/tcp{,6} table from *text on: its local
 * address as 16 bytes, its local port and its state; 0, or -1 at the end
 * (lines that are no socket, as the header, are passed over) */
static int
proc_tcp_line(const char **text, unsigned char addr[16], int *port, unsigned *state)
{
	const char *line, *hex, *colon;
	unsigned lport;
	size_t len;

	while ((line = *text) && *line) {
		*text = strchr(line, '\n');
		if (*text)
			(*text)++;
		/* "  0: 0100007F:1F90 00000000:0000 0A ..." (0A: listening) */
		if (!(hex = strchr(line, ':')) || (*text && hex >= *text))
			continue;
		hex += 1 + strspn(hex + 1, " ");
		len = strspn(hex, "0123456789abcdefABCDEF");
		colon = hex + len;
		if (*colon != ':' || sscanf(colon + 1, "%x %*x:%*x %x", &lport, state) != 2 ||
		    proc_addr(hex, len, addr) < 0)
			continue;
		*port = (int)lport;
		return 0;
	}
	return -1;
}

int
port_listening(const char *text, const char *addr, int port)
{
	unsigned char want[16], have[16];
	int any = ip_bytes(addr, want) < 0, lport;
	unsigned state;

	while (proc_tcp_line(&text, have, &lport, &state) == 0)
		if (lport == port && state == 0x0A &&
		    (any || ip_any(have) || !memcmp(have, want, 16)))
			return 1;
	return 0;
}

int
port_in_use(const char *text, int port)
{
	unsigned char have[16];
	unsigned state;
	int lport;

	while (proc_tcp_line(&text, have, &lport, &state) == 0)
		if (lport == port)
			return 1;
	return 0;
}

int
port_unix_listening(const char *text, const char *path)
{
	size_t plen = strlen(path);
	const char *line, *end;

	for (line = text; line && *line; line = end ? end + 1 : NULL) {
		/* "0000000000000000: 00000002 00000000 00010000 0001 01 1234 /path"
		 * (flags 00010000: listening); the path is the rest of the line */
		unsigned long flags;
		const char *p = line;
		size_t n;
		int field;

		end = strchr(line, '\n');
		n = end ? (size_t)(end - line) : strlen(line);
		if (sscanf(line, "%*x: %*x %*x %lx", &flags) != 1 || !(flags & 0x10000))
			continue;
		/* the 8th field on */
		for (field = 0; field < 7 && p < line + n; field++) {
			p += strspn(p, " ");
			p += strcspn(p, " \n");
		}
		p += strspn(p, " ");
		n -= (size_t)(p - line);
		if (n == plen ? !memcmp(p, path, n) :
		    n < plen && *p != '/' && path[plen - n - 1] == '/' &&
		    !memcmp(p, path + plen - n, n))
			return 1;
	}
	return 0;
}

/* a listening Unix socket for the script's input, as Hydro Deploy's
 * services bind for a sender on their machine: in a new directory under
 * $TMPDIR, short enough for sun_path wherever the run is */
static int
bind_unix(struct portplan *pp)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sun;
	char *dir;

	dir = xasprintf("%s/hydro-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		error_errno("cannot make a directory for the socket of '%s'", pp->port->name);
		free(dir);
		return -1;
	}
	pp->path = xasprintf("%s/%s", dir, pp->port->name);
	free(dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(pp->path) >= sizeof(sun.sun_path))
		return error("cannot bind '%s': the path is too long for a Unix socket; set "
		             "TMPDIR to a shorter directory", pp->path);
	memcpy(sun.sun_path, pp->path, strlen(pp->path));
	pp->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pp->fd < 0)
		return error_errno("cannot make a socket");
	if (bind(pp->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(pp->fd, SOMAXCONN) < 0)
		return error_errno("cannot bind '%s'", pp->path);
	pp->addr = xasprintf("unix:%s", pp->path);
	pp->bound = cJSON_CreateObject();
	cJSON_AddStringToObject(pp->bound, "UnixSocket", pp->path);
	return 0;
}

/* whether hydro binds the input itself (a Unix socket of the script's), or
 * the host says which port it gets */
static int
binds_unix(const struct service *s, const struct portplan *pp)
{
	return s->kind == SERVICE_SCRIPT && pp->transport == TRANSPORT_UNIX;
}

size_t
plan_ports_wanted(struct plan *p, struct service *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nports && !s->inherit_sockets; i++) {
		struct portplan *pp = &p->pp[s->index][i];

		n += pp->port->dir == PORT_INPUT && !pp->addr && !binds_unix(s, pp);
	}
	return n;
}

int
plan_bind_process(struct plan *p, struct service *s, const int *ports)
{
	size_t i, j;
	int port = 0;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];
		const char *addr;

		if (pp->port->dir != PORT_INPUT || pp->addr)
			continue;
		if (binds_unix(s, pp)) {
			if (bind_unix(pp) < 0)
				return -1;
		} else {
			addr = host_address(s->host);
			/* inherited sockets are bound here and handed over (only
			 * to a host on this machine: host_spawn); else the host
			 * said (ports) */
			if (s->inherit_sockets) {
				if (port_pick(addr, &port, &pp->fd) < 0)
					return -1;
			} else {
				port = *ports++;
			}
			pp->addr = port_join(addr, port);
			pp->bound = cJSON_CreateObject();
			cJSON_AddStringToObject(pp->bound, "TcpPort", pp->addr);
		}
		for (j = 0; j < pp->nwires; j++) {
			cJSON_Delete(pp->wires[j]->bound);
			pp->wires[j]->bound = cJSON_Duplicate(pp->bound, 1);
		}
	}
	return 0;
}

size_t
plan_sockets(struct plan *p, struct service *s, int **fds)
{
	size_t i, n = 0;

	*fds = xcalloc(s->nports + 1, sizeof(**fds));
	for (i = 0; i < s->nports; i++)
		if (p->pp[s->index][i].fd >= 0)
			(*fds)[n++] = p->pp[s->index][i].fd;
	return n;
}

void
plan_close_sockets(struct plan *p, struct service *s)
{
	size_t i;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];

		if (pp->fd >= 0)
			close(pp->fd);
		pp->fd = -1;
	}
}

static char *
env_name(const char *port)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "HYDRO_PORT_");
	for (; *port; port++) {
		char c = *port;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			c = '_';
		buf_addch(&b, c);
	}
	return buf_detach(&b, NULL);
}

char **
plan_env(struct plan *p, struct service *s)
{
	char **env = xcalloc(s->nports + 2, sizeof(*env));
	struct buf names = BUF_INIT;
	size_t i, j, n = 0;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];
		char *name = env_name(pp->port->name);
		struct buf b = BUF_INIT;

		if (pp->port->dir == PORT_INPUT) {
			if (!pp->addr && pp->nwires) {
				error("port '%s.%s' has no address yet", s->name, pp->port->name);
				free(name);
				buf_release(&names);
				str_free_list(env);
				return NULL;
			}
			env[n++] = xasprintf("%s=%s", name, pp->addr ? pp->addr : "");
			if (pp->fd >= 0)
				buf_printf(&names, "%s%s", names.len ? ":" : "", pp->port->name);
		} else {
			for (j = 0; j < pp->nwires; j++) {
				char *a;
				if (!pp->wires[j]->to)
					continue;
				a = pp->wires[j]->route ? server_port_address(pp->wires[j]->route) :
				    pp->wires[j]->bound ? server_port_address(pp->wires[j]->bound) : NULL;
				if (!a) {
					char *l = port_label(pp->wires[j]->to->port);
					error("cannot tell '%s' where to send: '%s' has no address yet",
					      s->name, l);
					free(l);
					free(name);
					buf_release(&b);
					buf_release(&names);
					str_free_list(env);
					return NULL;
				}
				if (b.len)
					buf_addch(&b, ',');
				buf_addstr(&b, a);
				free(a);
			}
			env[n++] = xasprintf("%s=%s", name, buf_str(&b));
			buf_release(&b);
		}
		free(name);
	}
	/* the sockets it inherits, named by port (sd_listen_fds_with_names) */
	if (names.len)
		env[n++] = xasprintf("LISTEN_FDNAMES=%s", buf_str(&names));
	buf_release(&names);
	env[n] = NULL;
	return env;
}

const char *
plan_address(struct plan *p, const struct port *in)
{
	struct portplan *pp = pp_of(p, in);

	return pp ? pp->addr : NULL;
}

size_t
plan_receivers(struct plan *p, const struct service *s, struct service ***out)
{
	struct service **list = NULL;
	size_t i, j, k, n = 0, cap = 0;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];
		if (pp->port->dir != PORT_OUTPUT)
			continue;
		for (j = 0; j < pp->nwires; j++) {
			struct service *r;
			if (!pp->wires[j]->to)
				continue;
			r = pp->wires[j]->to->port->service;
			for (k = 0; k < n && list[k] != r; k++)
				;
			if (k < n || r == s)
				continue;
			ALLOC_GROW(list, n, cap);
			list[n++] = r;
		}
	}
	*out = list;
	return n;
}

size_t
plan_remote_peers(struct plan *p, struct service *s, struct plan_peer **out)
{
	struct plan_peer *list = NULL;
	size_t i, j, n = 0, cap = 0;

	for (i = 0; i < s->nports; i++) {
		struct portplan *pp = &p->pp[s->index][i];

		if (pp->port->dir != PORT_OUTPUT)
			continue;
		for (j = 0; j < pp->nwires; j++) {
			struct wire *w = pp->wires[j];
			struct service *r;
			char *a, *host = NULL, *why;
			int port;

			if (!w->to || !w->bound || w->route)
				continue;
			r = w->to->port->service;
			if (same_machine(s, r) || !(a = server_port_address(w->bound)))
				continue;
			why = str_starts(a, "unix:") ? NULL : split(a, &host, &port);
			free(a);
			free(why);
			if (!host)
				continue;
			ALLOC_GROW(list, n, cap);
			list[n].wire = (size_t)(w - p->wires);
			list[n].host = r->host;
			list[n].addr = host;
			list[n].port = port;
			n++;
		}
	}
	*out = list;
	return n;
}

void
plan_set_route(struct plan *p, size_t wire, const char *addr, int port)
{
	struct wire *w = &p->wires[wire];
	const cJSON *tcp = cJSON_GetObjectItemCaseSensitive(w->bound, "TcpPort");
	cJSON *a;

	cJSON_Delete(w->route);
	w->route = cJSON_CreateObject();
	/* in the form the receiver answered: "ip:port" or ["ip", port] */
	if (cJSON_IsArray(tcp)) {
		a = cJSON_AddArrayToObject(w->route, "TcpPort");
		cJSON_AddItemToArray(a, cJSON_CreateString(addr));
		cJSON_AddItemToArray(a, cJSON_CreateNumber(port));
	} else {
		char *text = port_join(addr, port);

		cJSON_AddStringToObject(w->route, "TcpPort", text);
		free(text);
	}
}

void
plan_print(struct plan *p, FILE *out)
{
	size_t i;

	for (i = 0; i < p->d->nconns; i++) {
		struct wire *w = &p->wires[i];
		char *a = port_label(w->from ? w->from->port : NULL);
		char *b = port_label(w->to ? w->to->port : NULL);
		struct buf extra = BUF_INIT;

		if (w->to && w->to->merge) {
			size_t slot;
			for (slot = 0; w->to->wires[slot] != w; slot++)
				;
			buf_printf(&extra, ", merge slot %zu", slot);
		}
		if (w->tag >= 0)
			buf_printf(&extra, ", tag %ld", w->tag);
		if (w->key >= 0)
			buf_printf(&extra, ", key %ld", w->key);
		fprintf(out, "wire   %s -> %s (%s%s)\n", a, b,
		        w->from && w->to ? transport_names[w->transport] : "null",
		        buf_str(&extra));
		buf_release(&extra);
		free(a);
		free(b);
	}
}
