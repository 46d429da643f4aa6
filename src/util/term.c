#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "term.h"

static enum color_mode mode = COLOR_AUTO;

void
term_set_color(enum color_mode m)
{
	mode = m;
}

int
term_parse_color(const char *s)
{
	if (!strcmp(s, "auto"))
		return COLOR_AUTO;
	if (!strcmp(s, "always"))
		return COLOR_ALWAYS;
	if (!strcmp(s, "never"))
		return COLOR_NEVER;
	return -1;
}

int
term_color(int fd)
{
	const char *t;

	switch (mode) {
	case COLOR_ALWAYS:
		return 1;
	case COLOR_NEVER:
		return 0;
	case COLOR_AUTO:
		break;
	}
	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return 0;
	t = getenv("TERM");
	if (t && !strcmp(t, "dumb"))
		return 0;
	return isatty(fd);
}

int
term_interactive(int fd)
{
	const char *ci = getenv("CI");
	const char *t = getenv("TERM");

	if (ci && *ci && strcmp(ci, "0") && strcmp(ci, "false"))
		return 0;
	if (t && !strcmp(t, "dumb"))
		return 0;
	return isatty(fd);
}

int
term_width(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}
