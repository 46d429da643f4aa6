/*
 * program: a deployment's .hf programs, made crates that crate.c builds.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fs.h"
#include "hash.h"
#include "program.h"
#include "xmalloc.h"
#include "hf/emit.h"

char *
program_cache_dir(void)
{
	const char *h = getenv("HYDRO_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");

	if (h && *h)
		return path_absolute(h);
	if (x && *x == '/')
		return path_join(x, "hydro");
	return xasprintf("%s/.cache/hydro", home && *home ? home : "/tmp");
}

int
program_spec(const struct deployment *d, const struct service *s, const char *toolchain,
             struct cargo_spec *spec, struct hf_program **prog)
{
	struct hf_program *p;
	struct hf_crates crates;
	char *rust, *bin, *dir, *td, *cache, hex[HASH_HEX_LEN];
	struct hash h;
	int rc;

	*prog = NULL;
	memset(spec, 0, sizeof(*spec));
	if (!(p = hf_load(s->src)))
		return error("%s: service '%s': its program '%s' does not check", d->config,
		             s->name, s->src);
	if (hf_crates_find(p->unit, d->dir, &crates) < 0) {
		hf_program_free(p);
		return error("%s: service '%s': its program '%s' uses a crate hydro cannot find",
		             d->config, s->name, s->src);
	}
	if (!(rust = hf_rust_dir())) {
		hf_crates_release(&crates);
		hf_program_free(p);
		return -1;
	}
	bin = hf_emit_bin_name(s->src);
	dir = xasprintf("%s/.hydro/hf/%s", d->dir, bin);
	rc = hf_emit(p, &crates, rust, dir);
	spec->src = dir;
	spec->bin = bin;
	spec->profile = xstrdup(s->profile ? s->profile : CARGO_DEFAULT_PROFILE);
	spec->features = xcalloc(1, sizeof(*spec->features));
	/* the shipped lock holds every crate unless the program brings its own */
	spec->locked = crates.n == 0;
	spec->json_diags = 1;
	hash_bytes(toolchain, strlen(toolchain), &h);
	hash_hex(&h, hex);
	cache = program_cache_dir();
	td = xasprintf("%s/target/%.16s", cache, hex);
	cargo_spec_env(spec, td);
	free(td);
	free(cache);
	free(rust);
	hf_crates_release(&crates);
	if (rc < 0) {
		cargo_spec_release(spec);
		hf_program_free(p);
		return -1;
	}
	*prog = p;
	return 0;
}
