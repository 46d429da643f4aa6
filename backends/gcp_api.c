/*
 * gcp_api: calls to the Compute Engine v1 REST API, with the retries the
 * API asks for (429, 5xx, rateLimitExceeded: exponential backoff with
 * jitter) and its error bodies read:
 *   {"error": {"code": 403, "message": "...", "status": "...",
 *              "errors": [{"reason": "quotaExceeded", "message": "..."}]}}
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "error.h"
#include "gcp.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

#define ATTEMPTS 7
#define BACKOFF_MS 250
#define BACKOFF_MAX_MS 16000

void
gcp_reply_release(struct gcp_reply *r)
{
	cJSON_Delete(r->json);
	r->json = NULL;
	r->reason = r->message = NULL;
}

static void
read_error(struct gcp_reply *r)
{
	const cJSON *e = r->json ? cJSON_GetObjectItem(r->json, "error") : NULL;
	const cJSON *errs = e ? cJSON_GetObjectItem(e, "errors") : NULL;

	r->reason = r->message = NULL;
	if (!cJSON_IsObject(e))
		return;
	r->message = json_str(e, "message");
	if (cJSON_IsArray(errs) && cJSON_GetArraySize(errs) > 0)
		r->reason = json_str(cJSON_GetArrayItem(errs, 0), "reason");
}

static int
retryable(const struct gcp_reply *r)
{
	return r->status == 0 || r->status == 429 || r->status >= 500 ||
	       (r->reason && (!strcmp(r->reason, "rateLimitExceeded") ||
	                      !strcmp(r->reason, "userRateLimitExceeded")));
}

void
gcp_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* full jitter: a random time up to the attempt's backoff */
static long
backoff(int attempt)
{
	long cap = BACKOFF_MS << (attempt < 6 ? attempt : 6);
	unsigned r = 0;

	if (cap > BACKOFF_MAX_MS)
		cap = BACKOFF_MAX_MS;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned)rand();
	return cap / 2 + (long)(r % (unsigned)(cap / 2 + 1));
}

int
gcp_call(const char *method, const char *path, const cJSON *body,
         struct gcp_reply *r)
{
	struct buf resp = BUF_INIT, auth = BUF_INIT;
	char *url = xasprintf("%s%s", gcp_compute_base(), path);
	char *text = body ? json_print(body) : NULL;
	const char *hdr[3];
	int attempt, ret = -1;

	memset(r, 0, sizeof(*r));
	for (attempt = 0; attempt < ATTEMPTS; attempt++) {
		char *tok = gcp_token();
		if (!tok) {
			r->status = -1;
			r->message = NULL;
			break;
		}
		buf_reset(&auth);
		buf_printf(&auth, "Authorization: Bearer %s", tok);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		hdr[0] = auth.data;
		hdr[1] = "Content-Type: application/json";
		hdr[2] = NULL;
		gcp_reply_release(r);
		if (gcp_http(method, url, hdr, text, &r->status, &resp) < 0) {
			r->status = 0;
			r->json = cJSON_CreateObject();
			cJSON_AddStringToObject(cJSON_AddObjectToObject(r->json, "error"),
			                        "message", error_last());
			error_clear();
		} else {
			r->json = resp.len ? cJSON_ParseWithLength(resp.data, resp.len) : NULL;
		}
		read_error(r);
		if (r->status >= 200 && r->status < 300) {
			ret = 0;
			break;
		}
		if (!retryable(r) || attempt + 1 == ATTEMPTS)
			break;
		gcp_sleep_ms(backoff(attempt));
	}
	if (auth.data)
		OPENSSL_cleanse(auth.data, auth.len);
	buf_release(&auth);
	buf_release(&resp);
	free(text);
	free(url);
	return ret;
}

void
gcp_reply_describe(struct buf *out, const struct gcp_reply *r)
{
	if (r->status < 0) {
		buf_addstr(out, "no Google credentials (see above)");
		return;
	}
	if (r->status == 0)
		buf_addstr(out, "no answer");
	else
		buf_printf(out, "HTTP %ld", r->status);
	if (r->reason)
		buf_printf(out, " %s", r->reason);
	if (r->message)
		buf_printf(out, ": %s", r->message);
}

const char *
gcp_last_part(const char *s)
{
	const char *p = strrchr(s, '/');

	return p ? p + 1 : s;
}

int
gcp_wait_op(const char *project, const char *zone, const char *op,
            char **code, char **message)
{
	struct gcp_reply r;
	char *path = xasprintf("projects/%s/zones/%s/operations/%s/wait", project,
	                       gcp_last_part(zone), gcp_last_part(op));
	const cJSON *err, *first;
	const char *status, *c, *m;
	int ret = -1;

	if (code)
		*code = NULL;
	if (message)
		*message = NULL;
	for (;;) {
		if (gcp_call("POST", path, NULL, &r) < 0) {
			struct buf d = BUF_INIT;
			gcp_reply_describe(&d, &r);
			if (code && r.reason)
				*code = xstrdup(r.reason);
			if (message)
				*message = buf_detach(&d, NULL);
			else
				buf_release(&d);
			break;
		}
		status = json_str(r.json, "status");
		if (!status || strcmp(status, "DONE")) {
			/* wait answers after at most two minutes, maybe not done */
			gcp_reply_release(&r);
			continue;
		}
		err = cJSON_GetObjectItem(r.json, "error");
		first = err ? cJSON_GetArrayItem(cJSON_GetObjectItem(err, "errors"), 0) : NULL;
		if (!first) {
			ret = 0;
		} else {
			c = json_str(first, "code");
			m = json_str(first, "message");
			if (code)
				*code = xstrdup(c ? c : "UNKNOWN");
			if (message)
				*message = xstrdup(m ? m : "the operation failed");
		}
		break;
	}
	gcp_reply_release(&r);
	free(path);
	return ret;
}
