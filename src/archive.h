/*
 * archive: packages, the form in which a built program travels to a host.
 *
 * A package is a tar (zstd-compressed when libarchive has zstd, gzip
 * otherwise) holding a service's program, the files it declares, and last a
 * manifest, hydro-manifest.json: the service kind, the target triple,
 * hydro's version and each file's name, mode and SHA-256.  Packing is
 * reproducible (files in name order, mtime 0, owner 0:0, modes 0755 or
 * 0644, no compression timestamp), so the same inputs give the same bytes;
 * a package is named by the SHA-256 of those bytes.
 *
 * Unpacking is what a host runs on a package it was given: it accepts
 * regular files and directories only, refuses absolute names, "..",
 * links, devices and anything the manifest does not list exactly (hash
 * included), and extracts into a fresh DEST.tmp.PID that is renamed to DEST
 * only once all of it has been checked, so a half-unpacked package is never
 * seen.  docs/internals/packages.md has the format.
 */
#ifndef HYDRO_ARCHIVE_H
#define HYDRO_ARCHIVE_H

#include <stddef.h>

#include "hash.h"

#define PACKAGE_MANIFEST "hydro-manifest.json"

/* a file to put in a package */
struct package_file {
	const char *path;	/* where it is now (a symlink is followed) */
	const char *name;	/* its name in the package: relative, no "." or ".." */
};

/* what a package holds */
struct package {
	const char *kind;	/* the service's kind ("crate", "hf", "process") */
	const char *triple;	/* the target triple the program was built for */
	const struct package_file *files;	/* the program first */
	size_t nfiles;
};

/* the file name extension packages get here (".tar.zst" or ".tar.gz") */
const char *archive_ext(void);
/* write p into dir as HASH.EXT, where HASH is the SHA-256 of the package's
 * bytes; *path (may be NULL) gets a new string with its path, *hash (may be
 * NULL) its hash; a package already there is kept; -1 with the error
 * reported (a missing file, a bad name) */
int archive_pack(const struct package *p, const char *dir, char **path, struct hash *hash);
/* unpack the package at path into dest, which must not exist yet (one made
 * meanwhile by another unpacker is kept); want (may be NULL) is the hash
 * the package must have; -1 with the error reported and nothing left at
 * dest if anything in it is refused */
int archive_unpack(const char *path, const char *dest, const struct hash *want);

#endif
