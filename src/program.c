/*
 * program: a deployment's .hf programs, made crates that crate.c builds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fs.h"
#include "hash.h"
#include "program.h"
#include "str.h"
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

/* what a file's identity adds to a fingerprint */
static void
add_stat(struct hasher *h, const char *path)
{
	struct stat sb;
	char line[256];

	if (stat(path, &sb) < 0)
		snprintf(line, sizeof(line), "%s -\n", path);
	else
		snprintf(line, sizeof(line), "%s %lu %lld %lld.%09ld\n", path,
		         (unsigned long)sb.st_ino, (long long)sb.st_size,
		         (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	hasher_addstr(h, line);
}

/* add_stat() of dir/name for each name */
static void
add_stats(struct hasher *h, const char *dir, const char *a, const char *b)
{
	const char *names[] = { a, b };

	for (size_t i = 0; i < 2; i++) {
		char *p = path_join(dir, names[i]);

		add_stat(h, p);
		free(p);
	}
}

/* path_walk_up: rustup's per-directory files of dir into the hasher arg */
static int
add_toolchain_files(const char *dir, void *arg)
{
	add_stats(arg, dir, "rust-toolchain", "rust-toolchain.toml");
	return 0;
}

/* the path of program name on PATH (a new string), or name itself */
static char *
on_path(const char *name)
{
	const char *path = getenv("PATH");
	char **dirs, *found = NULL;
	size_t n;

	if (strchr(name, '/') || !path)
		return xstrdup(name);
	dirs = str_split(path, ':', &n);
	for (size_t i = 0; i < n && !found; i++) {
		char *cand = path_join(*dirs[i] ? dirs[i] : ".", name);

		if (access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	str_free_list(dirs);
	return found ? found : xstrdup(name);
}

int
program_toolchain(const char *dir, char **out)
{
	static const char *const env[] = {
		"CARGO", "RUSTC", "RUSTUP_TOOLCHAIN", "RUSTUP_HOME", "CARGO_HOME", "PATH",
	};
	const char *rustc = getenv("RUSTC"), *home = getenv("HOME");
	const char *ruh = getenv("RUSTUP_HOME");
	char *cache = program_cache_dir(), *memo, *p, *d, hex[HASH_HEX_LEN];
	struct hasher h;
	struct hash k;
	struct buf b = BUF_INIT;

	hasher_init(&h);
	hasher_addstr(&h, "hydro toolchain 1\n");
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		const char *v = getenv(env[i]);

		hasher_addstr(&h, env[i]);
		hasher_addstr(&h, v ? v : "-");
		hasher_addstr(&h, "\n");
	}
	p = on_path(cargo_program());
	add_stat(&h, p);
	free(p);
	p = on_path(rustc && *rustc ? rustc : "rustc");
	add_stat(&h, p);
	free(p);
	p = ruh && *ruh ? xstrdup(ruh) : xasprintf("%s/.rustup", home ? home : "");
	add_stats(&h, p, "settings.toml", "toolchains");
	free(p);
	/* rustup's per-directory choice */
	d = path_absolute(dir);
	path_walk_up(d, NULL, add_toolchain_files, &h);
	free(d);
	hasher_final(&h, &k);
	hash_hex(&k, hex);
	memo = xasprintf("%s/toolchain/%.32s", cache, hex);
	free(cache);
	if (path_exists(memo) && read_file(memo, &b) == 0 && b.len) {
		*out = buf_detach(&b, NULL);
		free(memo);
		return 0;
	}
	buf_release(&b);
	if (cargo_toolchain(dir, out) < 0) {
		free(memo);
		return -1;
	}
	/* a memo that cannot be written is only asked again next time */
	p = path_dirname(memo);
	if (mkdir_p(p, 0755) < 0 || write_file_atomic(memo, *out, strlen(*out), 0644) < 0)
		error_clear();
	free(p);
	free(memo);
	return 0;
}

/* whether the toolchain's cargo (the first line, "cargo 1.NN.P ...") is new
 * enough for hydroflow 0.10; -1 with the error reported if not */
static int
new_enough(const char *toolchain)
{
	long minor = 0;
	int n = (int)strcspn(toolchain, "(\n");

	while (n > 0 && toolchain[n - 1] == ' ')
		n--;
	if (sscanf(toolchain, "cargo 1.%ld", &minor) == 1 && minor < 85)
		return error("%.*s is too old for hydroflow 0.10, which needs Rust 1.85 or "
		             "later; install rustup's toolchain, or Debian's rustc-web and "
		             "cargo-web (contrib/install-deps.sh does)", n, toolchain);
	return 0;
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
	if (new_enough(toolchain) < 0)
		return -1;
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
