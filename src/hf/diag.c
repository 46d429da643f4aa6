/*
 * diag: diagnostics in rustc's shape.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "hf/diag.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_YELLOW "\033[1;33m"
#define C_BLUE "\033[1;34m"

void
hf_diag_init(struct hf_diag *d, const char *path, const char *src, size_t len,
             FILE *out, enum hf_style style)
{
	memset(d, 0, sizeof(*d));
	d->path = path;
	d->src = src;
	d->srclen = len;
	d->out = out;
	d->style = style;
}

static const char *
col(const struct hf_diag *d, const char *code)
{
	return d->style == HF_COLOR ? code : "";
}

static int
digits(unsigned n)
{
	int k = 1;

	while (n >= 10) {
		n /= 10;
		k++;
	}
	return k;
}

/* the source line holding the span, and the carets under it */
static void
show_source(struct hf_diag *d, struct hf_span sp, int w, const char *accent, const char *label)
{
	size_t start, end, off = sp.off > d->srclen ? d->srclen : sp.off;
	size_t stop, i;

	start = off;
	while (start > 0 && d->src[start - 1] != '\n')
		start--;
	end = off;
	while (end < d->srclen && d->src[end] != '\n')
		end++;
	/* a line ending \r\n shows without the \r */
	stop = end > start && d->src[end - 1] == '\r' ? end - 1 : end;
	fprintf(d->out, "%*s %s|%s\n", w, "", col(d, C_BLUE), col(d, C_RESET));
	fprintf(d->out, "%s%u |%s %.*s\n", col(d, C_BLUE), sp.line, col(d, C_RESET),
	        (int)(stop - start), d->src + start);
	fprintf(d->out, "%*s %s|%s ", w, "", col(d, C_BLUE), col(d, C_RESET));
	for (i = start; i < off; i++) {
		unsigned char c = (unsigned char)d->src[i];

		if (c == '\t')
			fputc('\t', d->out);
		else if ((c & 0xc0) != 0x80)
			fputc(' ', d->out);
	}
	fputs(col(d, accent), d->out);
	if (off >= stop) {
		fputc('^', d->out);
	} else {
		size_t last = off + sp.len < stop ? off + sp.len : stop;

		if (last == off)
			last = off + 1;
		for (i = off; i < last; i++)
			if (((unsigned char)d->src[i] & 0xc0) != 0x80)
				fputc('^', d->out);
	}
	if (label)
		fprintf(d->out, " %s", label);
	fprintf(d->out, "%s\n", col(d, C_RESET));
}

/* "  --> path:line:col" */
static void
show_where(struct hf_diag *d, struct hf_span sp, int w)
{
	fprintf(d->out, "%*s%s-->%s %s:%u:%u\n", w, "", col(d, C_BLUE), col(d, C_RESET),
	        d->path, sp.line, sp.col);
}

/* line 0: about the whole file (one that cannot be read) */
static void
add_place(cJSON *o, const struct hf_diag *d, struct hf_span sp)
{
	cJSON_AddStringToObject(o, "file", d->path);
	if (!sp.line)
		return;
	cJSON_AddNumberToObject(o, "line", sp.line);
	cJSON_AddNumberToObject(o, "col", sp.col);
}

static cJSON *
add_note(cJSON *notes, const char *severity, const char *msg)
{
	cJSON *n = cJSON_CreateObject();

	cJSON_AddStringToObject(n, "severity", severity);
	cJSON_AddStringToObject(n, "message", msg);
	cJSON_AddItemToArray(notes, n);
	return n;
}

/* one line: {"file", "line", "col", "severity", "message", "label"?,
 * "notes": [{"severity": "note"|"help", "message", "file"?, "line"?, "col"?}]} */
static void
report_json(struct hf_diag *d, enum hf_level level, struct hf_span sp,
            const struct hf_extra *x, const char *fmt, va_list ap)
{
	cJSON *o = cJSON_CreateObject(), *notes;
	char msg[1024], *text;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	add_place(o, d, sp);
	cJSON_AddStringToObject(o, "severity", level == HF_ERROR ? "error" : "warning");
	cJSON_AddStringToObject(o, "message", msg);
	if (x->label)
		cJSON_AddStringToObject(o, "label", x->label);
	notes = cJSON_AddArrayToObject(o, "notes");
	if (x->note)
		add_place(add_note(notes, "note", x->note), d, x->note_at);
	if (x->help)
		add_note(notes, "help", x->help);
	text = json_print(o);
	fprintf(d->out, "%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static void
report(struct hf_diag *d, enum hf_level level, struct hf_span sp,
       const struct hf_extra *x, const char *fmt, va_list ap)
{
	const char *accent = level == HF_ERROR ? C_RED : C_YELLOW;
	int w = digits(sp.line);

	if (level == HF_ERROR)
		d->nerr++;
	else
		d->nwarn++;
	if (!d->out)
		return;
	if (d->style == HF_JSON) {
		report_json(d, level, sp, x, fmt, ap);
		return;
	}
	if (x->note && digits(x->note_at.line) > w)
		w = digits(x->note_at.line);
	fprintf(d->out, "%s%s%s%s: ", col(d, accent),
	        level == HF_ERROR ? "error" : "warning", col(d, C_RESET), col(d, C_BOLD));
	vfprintf(d->out, fmt, ap);
	fprintf(d->out, "%s\n", col(d, C_RESET));
	show_where(d, sp, w);
	show_source(d, sp, w, accent, x->label);
	if (x->note) {
		fprintf(d->out, "%*s %s|%s\n", w, "", col(d, C_BLUE), col(d, C_RESET));
		fprintf(d->out, "%snote%s: %s\n", col(d, C_BOLD), col(d, C_RESET), x->note);
		show_where(d, x->note_at, w);
		show_source(d, x->note_at, w, C_BLUE, NULL);
	}
	if (x->help)
		fprintf(d->out, "%*s %s=%s %shelp%s: %s\n", w, "", col(d, C_BLUE), col(d, C_RESET),
		        col(d, C_BOLD), col(d, C_RESET), x->help);
	fputc('\n', d->out);
}

void
hf_diag_extra(struct hf_diag *d, enum hf_level level, struct hf_span sp,
              const struct hf_extra *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(d, level, sp, x, fmt, ap);
	va_end(ap);
}

void
hf_diag(struct hf_diag *d, enum hf_level level, struct hf_span sp,
        const char *help, const char *fmt, ...)
{
	struct hf_extra x = { .help = help };
	va_list ap;

	va_start(ap, fmt);
	report(d, level, sp, &x, fmt, ap);
	va_end(ap);
}

void
hf_diag_summary(struct hf_diag *d)
{
	if (!d->out || d->style == HF_JSON || (!d->nerr && !d->nwarn))
		return;
	if (d->nerr) {
		fprintf(d->out, "%serror%s%s: aborting due to %u previous error%s",
		        col(d, C_RED), col(d, C_RESET), col(d, C_BOLD), d->nerr,
		        d->nerr == 1 ? "" : "s");
		if (d->nwarn)
			fprintf(d->out, "; %u warning%s emitted", d->nwarn, d->nwarn == 1 ? "" : "s");
	} else {
		fprintf(d->out, "%swarning%s%s: %u warning%s emitted", col(d, C_YELLOW),
		        col(d, C_RESET), col(d, C_BOLD), d->nwarn, d->nwarn == 1 ? "" : "s");
	}
	fprintf(d->out, "%s\n\n", col(d, C_RESET));
}
