/*
 * pkg: archive_pack() and archive_unpack() from the command line, for the
 * package benchmark (run.sh builds it against libhydro.a).
 *   pkg pack OUTDIR NAME=FILE...   prints the package's path
 *   pkg unpack PACKAGE DEST
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "xmalloc.h"

int
main(int argc, char **argv)
{
	struct package_file *files;
	struct package p = { "process", "x86_64-unknown-linux-gnu", NULL, 0 };
	char *out, *eq;
	int i;

	if (argc >= 4 && !strcmp(argv[1], "pack")) {
		files = xcalloc((size_t)argc, sizeof(*files));
		for (i = 3; i < argc; i++) {
			if (!(eq = strchr(argv[i], '=')))
				return 2;
			*eq = '\0';
			files[p.nfiles].name = argv[i];
			files[p.nfiles++].path = eq + 1;
		}
		p.files = files;
		if (archive_pack(&p, argv[2], &out, NULL) < 0)
			return 1;
		puts(out);
		free(out);
		free(files);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "unpack"))
		return archive_unpack(argv[2], argv[3], NULL) < 0;
	fprintf(stderr, "usage: pkg pack OUTDIR NAME=FILE... | pkg unpack PACKAGE DEST\n");
	return 2;
}
