/*
 * ssh_unpack: a package (archive.h) that put_file placed on an SSH host,
 * unpacked there once, with the rules archive_unpack() keeps here, and a
 * run folder made of it for every service that runs it.
 *
 * The host needs only what a stock Debian system has: sh, GNU tar, gzip,
 * od, GNU find, cp, cmp, cut, tr, xargs and sha256sum (and zstd for a zstd
 * package; openssl, where it is there, hashes faster).  A package
 * ~/.hydro/pkgs/HASH is unpacked once into ~/.hydro/pkgs/HASH.d: its files
 * in pkg/, and ok, the listing of pkg/ (type, mode, size, mtime, inode and
 * name of everything, GNU find's -printf) written last, once every file was
 * checked.  A run folder is a copy of pkg/ of hard links (cp -al; plain
 * copies where links cannot be made) under a temporary name, renamed, and
 * HASH.d/used touched (its mtime is the package's last use, which the
 * pruner reads: ssh_prune.c): a warm run extracts and hashes nothing.
 * HASH.d is trusted only while pkg/ lists exactly as ok says (find, cmp):
 * a file changed through a run folder's link (its mtime), added, removed
 * or replaced, or a missing ok, and the copy is removed and the package
 * unpacked again (with a warning).
 *
 * Unpacking: a first command decompresses the package once (zstd or gzip,
 * into a temporary tar beside the fresh folder), lists it with tar and refuses
 * anything but files and folders, absolute names and ".." before a byte is
 * written; extracts it into a fresh HASH.d.tmp.PID (tar -k: a name given
 * twice is refused); refuses whatever is there but files and folders
 * (links, devices); and prints the folder, the number of files and the
 * manifest.  Hydro checks the manifest here (its names by the same rules,
 * the count of files) and a second command checks every file's sha256
 * against it (openssl dgst printing the manifest's lines exactly, else
 * sha256sum -c: a file missing, or not in the manifest, fails), writes ok, renames the folder to HASH.d and makes the run folder.
 * Any refusal removes the fresh folder: nothing half-unpacked is left under
 * any name.  Two services of one package on one host take turns (the
 * second finds HASH.d made).
 *
 * A zstd package on a host without zstd: hydro decompresses the package it
 * uploaded in this run (libarchive here), uploads the tar as a package of
 * its own (verified, and kept, under the tar's hash) and unpacks that into
 * the zstd package's HASH.d; the checks are the same.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"
#include "backend.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "str.h"
#include "ssh.h"
#include "ssh_int.h"
#include "xmalloc.h"

/* what both commands share: $d the package's unpacked copy (HASH.d), $dir
 * the run folder to make; listing (of a folder, what ok holds), trusted
 * (whether $d is whole and unchanged), place (make $dir from $d, mark $d
 * used now for the pruner, ssh_prune.c, by a builtin; exit) */
#define COMMON_SCRIPT \
	"set -u\n" \
	"case $dir in \"~/\"*) dir=$HOME/${dir#\"~/\"} ;; esac\n" \
	"case $d in \"~/\"*) d=$HOME/${d#\"~/\"} ;; esac\n" \
	"listing() { find \"$1\" -printf '%y %m %s %T@ %i %P\\n'; }\n" \
	"trusted() { [ -d \"$d/pkg\" ] && [ -s \"$d/ok\" ] && listing \"$d/pkg\" | cmp -s - \"$d/ok\"; }\n" \
	"place() {\n" \
	"	t=$dir.tmp.$$\n" \
	"	cp -al -- \"$d/pkg\" \"$t\" 2>/dev/null ||\n" \
	"	{ rm -rf -- \"$t\"; cp -a -- \"$d/pkg\" \"$t\"; } ||\n" \
	"	{ rm -rf -- \"$t\"; echo \"cannot copy '$d/pkg' to '$t'\" >&2; exit 3; }\n" \
	"	mv -T -- \"$t\" \"$dir\" 2>/dev/null ||\n" \
	"	{ rm -rf -- \"$t\"; echo \"cannot rename '$t' to '$dir'\" >&2; exit 3; }\n" \
	"	printf '' 2>/dev/null >\"$d/used\"\n" \
	"	exit 0\n" \
	"}\n"

/* $1 the package, $2 the run folder, $3 the package's HASH.d; exits 0 when
 * the run folder was made from a trusted HASH.d, 4 for a zstd package on a
 * host without zstd, 5 for a refused package (why on stderr), 6 when it was
 * extracted and is to be checked (its folder, the number of files and the
 * manifest on stdout), 7 the same after a damaged HASH.d was removed */
static const char extract_script[] =
	"pkg=$1 dir=$2 d=$3\n"
	COMMON_SCRIPT
	"case $pkg in \"~/\"*) pkg=$HOME/${pkg#\"~/\"} ;; esac\n"
	"[ -e \"$dir\" ] && { echo \"it exists already\" >&2; exit 3; }\n"
	"[ -d \"${dir%/*}\" ] || mkdir -p -- \"${dir%/*}\" || exit 3\n"
	"[ -e \"$d\" ] && trusted && place\n"
	"[ -r \"$pkg\" ] || { echo \"there is no package '$pkg'\" >&2; exit 3; }\n"
	"magic=$(od -An -tx1 -N4 -- \"$pkg\" | tr -d ' \\n')\n"
	"case $magic in\n"
	"28b52ffd) un=zstd; zstd -V >/dev/null 2>&1 || exit 4 ;;\n"
	"1f8b*) un=gzip ;;\n"
	"*) un= ;;\n"
	"esac\n"
	"done=6\n"
	"if [ -e \"$d\" ]; then\n"
	"	done=7\n"
	"	mv -T -- \"$d\" \"$d.bad.$$\" 2>/dev/null || rm -rf -- \"$d\"\n"
	"	rm -rf -- \"$d.bad.$$\"\n"
	"fi\n"
	"tmp=$d.tmp.$$\n"
	"mkdir -m 755 -- \"$tmp\" \"$tmp/pkg\" || exit 3\n"
	"no() { rm -rf -- \"$tmp\"; printf '%s\\n' \"$*\" >&2; exit 5; }\n"
	"plain=$pkg\n"
	"if [ -n \"$un\" ]; then\n"
	"	plain=$tmp/pkg.tar\n"
	"	err=$($un -dc -- \"$pkg\" 2>&1 >\"$plain\") || no \"$un cannot read it: $err\"\n"
	"fi\n"
	"list=$(tar -tvPf \"$plain\" 2>&1) || no \"tar cannot read it: $list\"\n"
	"bad=$(printf '%s\\n' \"$list\" | grep -v '^[-d]' | head -n 1)\n"
	"[ -z \"$bad\" ] || no \"it holds something other than files and folders: $bad\"\n"
	"names=$(tar -tPf \"$plain\" 2>&1) || no \"tar cannot read it: $names\"\n"
	"bad=$(printf '%s\\n' \"$names\" | grep -E '^/|(^|/)\\.\\.?(/|$)' | head -n 1)\n"
	"[ -z \"$bad\" ] || no \"the entry '$bad' is absolute or leaves the package folder\"\n"
	"err=$(tar -xkf \"$plain\" -C \"$tmp/pkg\" --no-same-owner 2>&1) || no \"tar refused it: $err\"\n"
	"rm -f -- \"$tmp/pkg.tar\"\n"
	"odd=$(find \"$tmp/pkg\" ! -type f ! -type d | head -n 1)\n"
	"[ -z \"$odd\" ] || no \"'${odd#\"$tmp/pkg/\"}' is neither a file nor a folder\"\n"
	"[ -f \"$tmp/pkg/" PACKAGE_MANIFEST "\" ] || no \"it has no " PACKAGE_MANIFEST "; it is not a hydro package\"\n"
	"n=$(find \"$tmp/pkg\" -type f ! -path \"$tmp/pkg/" PACKAGE_MANIFEST "\" | wc -l)\n"
	"printf '%s\\n%s\\n' \"$tmp\" $n\n"
	"cat \"$tmp/pkg/" PACKAGE_MANIFEST "\"\n"
	"exit $done\n";

/* $1 the fresh folder, $2 the run folder, $3 HASH.d; the manifest's sums
 * on stdin (kept beside pkg/ while it is checked): checked, ok written last, the folder renamed to HASH.d (or one
 * another run made meanwhile used), the run folder made */
static const char check_script[] =
	"tmp=$1 dir=$2 d=$3\n"
	COMMON_SCRIPT
	"cd -- \"$tmp/pkg\" && cat >../sums || exit 3\n"
	/* OpenSSL's sha256 is several times faster than sha256sum's: when it
	 * prints the manifest's very lines, every file is as listed; anything
	 * else is for sha256sum -c to judge (and say what differs) */
	"if ! { command -v openssl >/dev/null 2>&1 &&\n"
	"	cut -c67- ../sums | tr '\\n' '\\0' | xargs -0 -r openssl dgst -sha256 -r 2>/dev/null |\n"
	"	cmp -s - ../sums; }; then\n"
	"	out=$(sha256sum -c --strict --quiet <../sums 2>&1) ||\n"
	"	{ cd /; rm -rf -- \"$tmp\"; printf '%s\\n' \"$out\" >&2; exit 5; }\n"
	"fi\n"
	"rm -f " PACKAGE_MANIFEST " ../sums\n"
	"cd /\n"
	"listing \"$tmp/pkg\" >\"$tmp/ok\" && [ -s \"$tmp/ok\" ] ||\n"
	"{ rm -rf -- \"$tmp\"; echo \"cannot list '$tmp/pkg' with GNU find\" >&2; exit 3; }\n"
	"mv -T -- \"$tmp\" \"$d\" 2>/dev/null ||\n"
	"{ rm -rf -- \"$tmp\"; trusted || { echo \"cannot rename '$tmp' to '$d'\" >&2; exit 3; }; }\n"
	"place\n";

/* why a manifest's name may not be unpacked, or NULL */
static const char *
name_refused(const char *name)
{
	const char *s = name, *e;

	if (!*name || *name == '/')
		return "is empty or absolute";
	if (strpbrk(name, "\n\\"))
		return "has a newline or a backslash";
	for (;; s = e + 1) {
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		if (e == s || (e - s == 1 && *s == '.') || (e - s == 2 && !strncmp(s, "..", 2)))
			return "has an empty, '.' or '..' component";
		if (!*e)
			return NULL;
	}
}

/* the manifest's "HASH *./NAME" lines for sha256sum -c (and openssl dgst
 * -r, which prints them so); -1 with the error */
static int
manifest_sums(struct host *h, const char *pkg, const char *text, long nfiles,
              struct buf *sums)
{
	cJSON *m = json_parse(text, PACKAGE_MANIFEST), *f;
	const char *name, *hex, *why;
	struct hash want;
	long format, n = 0;
	int ret = -1;

	if (!m)
		return error("host '%s': cannot unpack '%s': its manifest is not JSON",
		             h->name, pkg);
	if (json_long(m, "format", &format) < 0 || format != 1) {
		error("host '%s': cannot unpack '%s': its manifest's format is not 1; "
		      "unpack it with the hydro that made it", h->name, pkg);
		goto out;
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(m, "files")) {
		name = json_str(f, "name");
		hex = json_str(f, "sha256");
		if (!name || !hex || hash_parse(hex, &want) < 0) {
			error("host '%s': cannot unpack '%s': its manifest has an entry "
			      "without a name or sha256", h->name, pkg);
			goto out;
		}
		if ((why = name_refused(name))) {
			error("host '%s': cannot unpack '%s': its manifest's '%s' %s",
			      h->name, pkg, name, why);
			goto out;
		}
		/* as sha256sum -c reads them and openssl dgst -r prints them
		 * ("./": a name starting with '-' is no option) */
		buf_printf(sums, "%s *./%s\n", hex, name);
		n++;
	}
	if (n != nfiles) {
		error("host '%s': cannot unpack '%s': it holds %ld files, its manifest "
		      "lists %ld; the package is damaged", h->name, pkg, nfiles, n);
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(m);
	return ret;
}

/* the tar inside the compressed package at path, into a new temporary
 * file; its path, or NULL with the error */
static char *
decompress(const char *path)
{
	const char *tmpdir = getenv("TMPDIR");
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *tmp = xasprintf("%s/hydro-tar-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	char data[65536];
	la_ssize_t n = -1;
	int fd = -1;

	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, sizeof(data)) != ARCHIVE_OK ||
	    archive_read_next_header(a, &e) != ARCHIVE_OK) {
		error("cannot decompress '%s': %s", path, archive_error_string(a));
		goto fail;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		error_errno("cannot create '%s'", tmp);
		goto fail;
	}
	while ((n = archive_read_data(a, data, sizeof(data))) > 0)
		if (write_in_full(fd, data, (size_t)n) < 0) {
			error_errno("cannot write '%s'", tmp);
			goto fail;
		}
	if (n < 0) {
		error("cannot decompress '%s': %s", path, archive_error_string(a));
		goto fail;
	}
	close(fd);
	archive_read_free(a);
	return tmp;
fail:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	archive_read_free(a);
	free(tmp);
	return NULL;
}

/* for a host without zstd: the package's tar, uploaded; its path there,
 * or NULL with the error */
static char *
upload_tar(struct host *h, struct ssh_conn *c, const char *pkg)
{
	const char *local = ssh_package_source(h, pkg);
	struct hash hash;
	char *tar, *remote = NULL;

	if (!local) {
		error("host '%s' cannot unpack '%s': it is compressed with zstd and the "
		      "host has no zstd; install it there (Debian: apt-get install zstd)",
		      h->name, pkg);
		return NULL;
	}
	if (!(tar = decompress(local)))
		return NULL;
	if (hash_file(tar, &hash) < 0 || ssh_upload(c, tar, &hash, &remote) < 0) {
		free(remote);
		remote = NULL;
	}
	unlink(tar);
	free(tar);
	return remote;
}

static int
unpack_locked(struct host *h, struct ssh_conn *c, const char *pkg, const char *dir)
{
	char *d = xasprintf("%s.d", pkg);
	char *argv[] = { "sh", "-c", (char *)extract_script, "sh", (char *)pkg, (char *)dir,
	                 d, NULL };
	struct ssh_capture cap = { 0 }, check = { 0 };
	struct buf sums = BUF_INIT;
	char *tmp, *count, *text, *end, *tar = NULL;
	long nfiles;
	int ret = -1;

	cap.any_status = 1;
	if (ssh_capture(c, argv, NULL, 0, &cap) < 0)
		goto out;
	if (cap.status == 4) {
		ssh_capture_release(&cap);
		if (!(tar = upload_tar(h, c, pkg)))
			goto out;
		argv[4] = tar;
		cap.any_status = 1;
		if (ssh_capture(c, argv, NULL, 0, &cap) < 0)
			goto out;
	}
	if (cap.status == 0) {
		ret = 0;
		goto out;
	}
	if (cap.status != 6 && cap.status != 7) {
		error("host '%s': cannot unpack '%s' into '%s': %s", h->name, pkg, dir,
		      str_trim(cap.err.data ? cap.err.data : ""));
		goto out;
	}
	if (cap.status == 7)
		warning("host '%s': '%s' was changed or is incomplete; unpacking '%s' "
		        "again", h->name, d, pkg);
	tmp = cap.out.data;
	count = tmp ? strchr(tmp, '\n') : NULL;
	text = count ? strchr(count + 1, '\n') : NULL;
	if (!text) {
		error("host '%s': cannot unpack '%s': the host's answer makes no sense",
		      h->name, pkg);
		goto out;
	}
	*count++ = '\0';
	*text++ = '\0';
	nfiles = strtol(count, &end, 10);
	argv[2] = "rm -rf -- \"$1\"";
	argv[4] = tmp;
	argv[5] = NULL;
	if (manifest_sums(h, pkg, text, nfiles, &sums) < 0) {
		/* the fresh folder goes */
		check.any_status = 1;
		ssh_capture(c, argv, NULL, 0, &check);
		goto out;
	}
	argv[2] = (char *)check_script;
	argv[5] = (char *)dir;
	check.any_status = 1;
	if (ssh_capture(c, argv, sums.data, sums.len, &check) < 0)
		goto out;
	if (check.status) {
		error("host '%s': cannot unpack '%s' into '%s': %s%s", h->name, pkg, dir,
		      check.status == 5 ? "a file does not match its manifest; the package "
		      "is damaged: " : "", str_trim(check.err.data ? check.err.data : ""));
		goto out;
	}
	ret = 0;
out:
	free(d);
	free(tar);
	buf_release(&sums);
	ssh_capture_release(&cap);
	ssh_capture_release(&check);
	return ret;
}

int
ssh_unpack(struct host *h, const char *pkg, const char *dir)
{
	struct ssh_conn *c = ssh_host_conn(h);
	pthread_mutex_t *lock;
	int ret;

	if (!c)
		return -1;
	/* one package is unpacked once: a second service of it on this host
	 * waits for the first, then finds HASH.d made */
	lock = ssh_package_lock(h, pkg);
	pthread_mutex_lock(lock);
	ret = unpack_locked(h, c, pkg, dir);
	pthread_mutex_unlock(lock);
	return ret;
}
