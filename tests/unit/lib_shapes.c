/* The deployment with every shape of port wiring (lib_shapes.h). */
#include <stddef.h>

#include "lib_shapes.h"

struct port *
shapes_port(struct deployment *d, const char *svc, const char *name)
{
	struct service *s = deploy_find_service(d, svc);

	return s ? service_port(s, name) : NULL;
}

struct deployment *
shapes_deployment(const char *file)
{
	struct deployment *d = deployment_new("/tmp", file);
	struct host *h = deploy_add_host(d, "box", "local");
	const char *names[] = { "p", "q", "a", "b", "c", "d" };
	struct connection *c;
	size_t i;

	for (i = 0; i < 6; i++)
		deploy_add_service(d, names[i], SERVICE_CRATE, h, "/tmp");
	deploy_connect(d, shapes_port(d, "q", "o"), shapes_port(d, "p", "in1"));
	c = deploy_connect(d, shapes_port(d, "p", "out"), shapes_port(d, "a", "inp"));
	c->key = 0;
	c = deploy_connect(d, shapes_port(d, "p", "out"), shapes_port(d, "b", "inp"));
	c->key = 1;
	c = deploy_connect(d, shapes_port(d, "c", "x"), shapes_port(d, "p", "fanin"));
	c->merge = 1;
	c = deploy_connect(d, shapes_port(d, "d", "y"), shapes_port(d, "p", "fanin"));
	c->merge = 1;
	c->tag = 7;
	return d;
}
