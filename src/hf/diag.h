/*
 * diag: diagnostics in rustc's shape.
 *
 *   error: expected 1 argument(s), found 0
 *    --> echo.hf:5:9
 *     |
 *   5 |     source_iter() -> for_each();
 *     |     ^^^^^^^^^^^^^
 *     = help: pass the items to emit: `source_iter(0..10)`
 *
 * A diagnostic points at a span of the source (byte offset and length, with
 * the line and column of its start); it may label its carets and point at a
 * second place in a note, as rustc shows an unclosed delimiter:
 *
 *   error: mismatched closing delimiter: `}`
 *    --> echo.hf:3:1
 *     |
 *   3 | }
 *     | ^ mismatched closing delimiter
 *     |
 *   note: unclosed delimiter
 *    --> echo.hf:2:16
 *     |
 *   2 |     source_iter(0..3 -> for_each(drop);
 *     |                ^
 *  Colour is decided once, when the
 * context is set up.  Every front-end message goes through here.
 */
#ifndef HYDRO_HF_DIAG_H
#define HYDRO_HF_DIAG_H

#include <stdio.h>

enum hf_level { HF_ERROR, HF_WARNING };

/* how diagnostics are written: rustc's text, with colour or without, or one
 * JSON object per line (hydro check --json; docs/hf.md gives the fields) */
enum hf_style { HF_PLAIN, HF_COLOR, HF_JSON };

struct hf_span {
	unsigned off, len;
	unsigned line, col;	/* line 0: the whole file (only in JSON) */
};

/* the extras a diagnostic may carry: any of them may be NULL */
struct hf_extra {
	const char *label;	/* after the carets */
	const char *note;	/* a second place: the note's message ... */
	struct hf_span note_at;	/* ... and where it points */
	const char *help;
};

struct hf_diag {
	const char *path;	/* as given by the user */
	const char *src;
	size_t srclen;
	FILE *out;		/* NULL: count only, print nothing */
	enum hf_style style;
	unsigned nerr, nwarn;
};

/* set up a context for one file; out may be NULL to stay quiet */
void hf_diag_init(struct hf_diag *d, const char *path, const char *src,
                  size_t len, FILE *out, enum hf_style style);
/* report at span; help may be NULL; the message is formatted */
void hf_diag(struct hf_diag *d, enum hf_level level, struct hf_span sp,
             const char *help, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* report at span with a label, a note or a help line (see struct hf_extra) */
void hf_diag_extra(struct hf_diag *d, enum hf_level level, struct hf_span sp,
                   const struct hf_extra *x, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* print the closing "aborting due to N previous errors" line, if any (none
 * in JSON) */
void hf_diag_summary(struct hf_diag *d);

#endif
