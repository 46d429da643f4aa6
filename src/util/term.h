/*
 * term: what the terminal can show.
 *
 * One colour mode for the whole program (--color=auto|always|never, NO_COLOR),
 * and whether output goes to a person (a terminal, no CI) or to a pipe.
 */
#ifndef HYDRO_TERM_H
#define HYDRO_TERM_H

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* set the colour mode; COLOR_AUTO honours NO_COLOR and the terminal */
void term_set_color(enum color_mode mode);
/* parse "auto", "always" or "never"; -1 for anything else */
int term_parse_color(const char *s);
/* whether to colour what is written to fd */
int term_color(int fd);
/* whether fd is a terminal watched by a person (not under CI) */
int term_interactive(int fd);
/* the width of the terminal on fd, or 80 */
int term_width(int fd);

#endif
