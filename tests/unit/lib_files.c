/* Files a unit test lays out (lib_files.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "lib_files.h"

void
test_put(const char *top, const char *name, const char *text, mode_t mode)
{
	char *p = path_join(top, name);
	char *d = path_dirname(p);

	mkdir_p(d, 0755);
	write_file_replace(p, text, strlen(text), mode, 0);
	chmod(p, mode);
	free(d);
	free(p);
}
