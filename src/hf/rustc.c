/*
 * rustc: rustc's diagnostics on a generated crate, shown on the .hf file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "xmalloc.h"
#include "hf/emit.h"
#include "hf/rustc.h"

/* the primary span of a message in file, or NULL */
static const cJSON *
primary_span(const cJSON *message, const char *file)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(message, "spans")) {
		const char *f = json_str(s, "file_name");

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "is_primary")) && f &&
		    !strcmp(f, file))
			return s;
	}
	return NULL;
}

/* rustc's rendering with every `from` made `to` */
static void
add_replaced(struct buf *out, const char *text, const char *from, const char *to)
{
	const char *s = text, *p;
	size_t n = strlen(from);

	while ((p = strstr(s, from))) {
		buf_add(out, s, (size_t)(p - s));
		buf_addstr(out, to);
		s = p + n;
	}
	buf_addstr(out, s);
}

/* the message at a span of the .hf file, shown as hydro check shows its own */
static void
render_at(struct hf_program *p, const cJSON *message, const cJSON *span, struct hf_span at,
          const char *why, int color, struct buf *out)
{
	const char *level = json_str(message, "level"), *label = json_str(span, "label");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(message, "code"), *c;
	struct buf help = BUF_INIT, msg = BUF_INIT;
	struct hf_diag d;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	buf_addstr(&msg, json_str(message, "message") ? json_str(message, "message") : "");
	if (json_str(code, "code"))
		buf_printf(&msg, " [%s]", json_str(code, "code"));
	buf_addstr(&help, why);
	if (label)
		buf_printf(&help, "; rustc: %s", label);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(message, "children")) {
		const char *m = json_str(c, "message");

		if (m && !strchr(m, '\n'))
			buf_printf(&help, "%s%s", help.len ? "; " : "", m);
	}
	hf_diag_init(&d, p->unit->diag.path, p->unit->diag.src, p->unit->diag.srclen, f,
	             color ? HF_COLOR : HF_PLAIN);
	hf_diag(&d, level && !strcmp(level, "error") ? HF_ERROR : HF_WARNING, at,
	        help.len ? buf_str(&help) : NULL, "%s", buf_str(&msg));
	fclose(f);
	buf_add(out, text, len);
	free(text);
	buf_release(&help);
	buf_release(&msg);
}

int
hf_rustc_render(struct hf_program *p, const cJSON *message, const char *main_rs,
                int color, struct buf *out)
{
	const char *level = json_str(message, "level");
	const char *rendered = json_str(message, "rendered");
	const struct hf_ast *a = &p->unit->ast;
	const cJSON *span = primary_span(message, main_rs);
	int is_error = level && !strcmp(level, "error");
	long line = 0;
	size_t port = 0;

	if (!rendered)
		return is_error;
	if (!span || json_long(span, "line_start", &line) < 0 || line < 1) {
		add_replaced(out, rendered, main_rs, p->unit->path);
		return is_error;
	}
	switch (hf_emit_origin(p, (unsigned)line, &port)) {
	case EMIT_SAME:
		add_replaced(out, rendered, main_rs, p->unit->path);
		break;
	case EMIT_PORT: {
		char *why = xasprintf("the items that reach port `%s` must be of its type `%s`",
		                      p->ports[port].name, p->ports[port].type);

		render_at(p, message, span,
		          hf_range_span(a, a->ports[port].name, a->ports[port].type.last),
		          why, color, out);
		free(why);
		break;
	}
	default:
		render_at(p, message, span, hf_range_span(a, a->module - 1, a->module),
		          "in the code hydro generates for the module's params and ports", color, out);
		break;
	}
	return is_error;
}
