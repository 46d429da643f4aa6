#include "error.h"
#include "hf/hf.h"

int
hf_check_files(const char *const *paths, size_t n)
{
	(void)paths;
	(void)n;
	return error("'hydro check' is not implemented yet");
}

int
hf_graph_file(const char *path, enum graph_format format, FILE *out)
{
	(void)format;
	(void)out;
	return error("cannot draw '%s': not implemented yet", path);
}
