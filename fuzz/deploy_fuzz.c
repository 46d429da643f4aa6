/*
 * deploy_fuzz: libFuzzer target over the JSON deployment spec.
 *
 * Every input is parsed as JSON and read as a deployment (hosts, services,
 * ports, connections), validated, written back to JSON and planned, as
 * `hydro plan FILE.json` does before anything runs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "deploy.h"
#include "error.h"
#include "ports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
quiet(enum error_level level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct deployment *d;
	struct plan *p;
	cJSON *json, *back;

	if (!sink)
		sink = fopen("/dev/null", "w");
	error_set_reporter(quiet, NULL);
	json = cJSON_ParseWithLength((const char *)data, size);
	d = json ? deploy_from_json(json, "/nonexistent", "fuzz.json") : NULL;
	cJSON_Delete(json);
	if (d && deploy_validate(d) == 0) {
		back = deploy_to_json(d);
		cJSON_Delete(back);
		p = plan_new(d);
		if (p) {
			plan_print(p, sink);
			plan_free(p);
		}
		deploy_graph(d, FORMAT_DOT, sink);
	}
	deployment_free(d);
	return 0;
}
