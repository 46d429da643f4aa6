/*
 * ports_fuzz: libFuzzer target over the port protocol's answers.
 *
 * A service answers `ready: JSON` with the address of each input port; the
 * input is that JSON, given to a plan with every shape of input port (a
 * plain one, a Merge of two, a Tagged one, a Demux), followed by what is
 * built from the answer: the start map of each sender and the addresses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "error.h"
#include "ports.h"
#include "xmalloc.h"
#include "lib_shapes.h"

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
	static const char *senders[] = { "q", "c", "d", "p" };
	struct deployment *d;
	struct plan *p;
	char *answer;
	size_t i;

	error_set_reporter(quiet, NULL);
	/* the answer is a line: it holds no NUL and ends at the first one */
	answer = xmalloc(size + 1);
	memcpy(answer, data, size);
	answer[size] = '\0';
	d = shapes_deployment("fuzz.json");
	p = plan_new(d);
	if (p) {
		cJSON_Delete(plan_init_config(p, deploy_find_service(d, "p")));
		if (plan_ready(p, deploy_find_service(d, "p"), answer) == 0) {
			for (i = 0; i < sizeof(senders) / sizeof(*senders); i++)
				cJSON_Delete(plan_start_map(p, deploy_find_service(d, senders[i])));
		}
		plan_ready(p, deploy_find_service(d, "a"), answer);
		plan_free(p);
	}
	deployment_free(d);
	free(answer);
	return 0;
}
