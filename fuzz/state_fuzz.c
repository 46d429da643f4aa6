/*
 * state_fuzz: libFuzzer target over the state file and its journal.
 *
 * The input is split at its first NUL byte: what comes before is written
 * as .hydro/state.json (none when it is empty), what follows as
 * .hydro/state.log (none when there is no NUL), in a directory of this
 * process's own.  state_open() reads and replays them, the records are
 * listed, `hydro down --dry-run` and a `hydro down` run (through hooks that
 * remove nothing: "process" records stay, "vm" records go), a record is
 * added and updated, and the state is written back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fs.h"
#include "state.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
quiet(enum error_level level, const char *msg, void *arg)
{
	(void)level;
	(void)msg;
	(void)arg;
}

static int
keep(const char *kind, const char *id, const cJSON *details)
{
	(void)kind;
	(void)id;
	(void)details;
	return -1;
}

static int
gone(const char *kind, const char *id, const cJSON *details)
{
	(void)kind;
	(void)id;
	(void)details;
	return 0;
}

static const struct state_kind kinds[] = {
	{ "process", keep, 0, NULL },
	{ "vm", gone, 1, NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *dir, *hydro, *json, *log;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t jlen = nul ? (size_t)(nul - data) : size, i, n;
	struct state *st;
	FILE *out;

	if (!dir) {
		/* in memory where it can be: every input is a few files */
		char tmpl[64];

		snprintf(tmpl, sizeof(tmpl), "%s/state_fuzz.XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(tmpl))
			abort();
		dir = xstrdup(tmpl);
		hydro = path_join(dir, ".hydro");
		json = path_join(hydro, "state.json");
		log = path_join(hydro, "state.log");
		state_register(&kinds[0]);
		state_register(&kinds[1]);
		error_set_reporter(quiet, NULL);
		/* stdout is where the dry run lists what it would remove */
		out = freopen("/dev/null", "w", stdout);
		(void)out;
	}
	remove_tree(hydro);
	if (mkdir_p(hydro, 0700) < 0 ||
	    (jlen && write_file_replace(json, data, jlen, 0600, 0) < 0) ||
	    (nul && write_file_replace(log, nul + 1, size - jlen - 1, 0600, 0) < 0))
		abort();
	st = state_open(dir);
	if (st) {
		n = state_count(st);
		for (i = 0; i < n; i++) {
			const char *kind, *id, *status;
			const cJSON *details;

			state_get(st, i, &kind, &id, &status, &details);
		}
		state_down(st, 1);
		state_down(st, 0);
		state_add(st, "vm", "fuzz", NULL);
		state_update(st, "vm", "fuzz", cJSON_Parse("{\"a\":[1]}"));
		state_close(st);
	}
	return 0;
}
