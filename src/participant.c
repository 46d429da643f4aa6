#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "participant.h"
#include "ports.h"
#include "run_int.h"
#include "str.h"
#include "xmalloc.h"

int
participant_launch(struct run *r, struct svc *v)
{
	struct service *s = v->s;
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < s->nports && ret == 0; i++)
		if (s->ports[i]->dir == PORT_INPUT && !plan_address(r->plan, s->ports[i]))
			ret = error("the script's port '%s' has no socket", s->ports[i]->name);
	if (ret == 0)
		v->wired = v->started = 1;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* an output's target: what its start message would say */
static char *
output_end(struct run *r, struct service *s, const struct port *p, char **addr)
{
	cJSON *map = plan_start_map(r->plan, s);
	const cJSON *v;
	char *text;

	if (!map)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(map, p->name);
	text = v ? json_print(v) : NULL;
	*addr = v ? server_port_address(v) : NULL;
	if (!text)
		error("the script's port '%s' has no receiver", p->name);
	cJSON_Delete(map);
	return text;
}

/* an input's listening socket, a new descriptor of it, and its ServerPort */
static char *
input_end(struct run *r, struct service *s, const struct port *p, int *fd)
{
	const char *addr = plan_address(r->plan, p);
	int *socks;
	size_t i, k = 0, n;
	cJSON *sp;
	char *text;

	n = plan_sockets(r->plan, s, &socks);
	/* the kept sockets come in port order, one per input */
	for (i = 0; i < s->nports && s->ports[i] != p; i++)
		if (s->ports[i]->dir == PORT_INPUT)
			k++;
	if (!addr || k >= n) {
		free(socks);
		error("the script's port '%s' has no socket", p->name);
		return NULL;
	}
	*fd = fcntl(socks[k], F_DUPFD_CLOEXEC, 3);
	free(socks);
	if (*fd < 0) {
		error_errno("cannot hand over the socket of the script's port '%s'", p->name);
		return NULL;
	}
	/* what its sender was told: a Unix socket for a speaker on this
	 * machine, as Hydro Deploy's services bind, else a TCP port */
	sp = cJSON_CreateObject();
	if (str_starts(addr, "unix:"))
		cJSON_AddStringToObject(sp, "UnixSocket", addr + 5);
	else
		cJSON_AddStringToObject(sp, "TcpPort", addr);
	text = json_print(sp);
	cJSON_Delete(sp);
	return text;
}

int
run_participant_port(struct run *r, struct service *s, const char *port,
                     char **server_port, char **addr, int *fd)
{
	struct port *p = NULL;
	size_t i;

	*server_port = NULL;
	*addr = NULL;
	*fd = -1;
	if (s->kind != SERVICE_SCRIPT)
		return error("service '%s' is not the script", s->name);
	for (i = 0; i < s->nports && !p; i++)
		if (!strcmp(s->ports[i]->name, port))
			p = s->ports[i];
	if (!p)
		return error("the script has no port '%s'", port);
	pthread_mutex_lock(&r->lock);
	if (!r->plan || !s->runtime || !((struct svc *)s->runtime)->wired)
		error("the script's port '%s' is not wired yet: await deployment.deploy() "
		      "first", port);
	else if (p->dir == PORT_INPUT)
		*server_port = input_end(r, s, p, fd);
	else
		*server_port = output_end(r, s, p, addr);
	pthread_mutex_unlock(&r->lock);
	return *server_port ? 0 : -1;
}
