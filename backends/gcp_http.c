/*
 * gcp_http: one HTTP exchange over libcurl, and the endpoints hydro talks
 * to.  Plain http:// is accepted only for a loopback address, so that a
 * mistyped override never sends a token in clear over a network.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "error.h"
#include "gcp.h"
#include "str.h"
#include "xmalloc.h"

#define COMPUTE_URL "https://compute.googleapis.com/compute/v1/"
#define RESP_MAX (64u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* loopback, or the metadata server (link-local: it never leaves the VM) */
static int
is_local(const char *host)
{
	struct in_addr a;

	return !strcmp(host, "localhost") || !strcmp(host, "[::1]") ||
	       !strcmp(host, "::1") ||
	       (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127) ||
	       !strcmp(host, "metadata.google.internal") ||
	       !strcmp(host, "169.254.169.254");
}

int
gcp_url_check(const char *what, const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	int ret = 0;

	pthread_once(&curl_once, curl_setup);
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		ret = error("%s '%s' is not a URL", what, url);
	else if (strcmp(scheme, "https") &&
	         (strcmp(scheme, "http") || !is_local(host)))
		ret = error("%s '%s' must be https:// (plain http:// only to a "
		            "loopback address)", what, url);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

const char *
gcp_compute_base(void)
{
	static char *base;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	const char *o;

	pthread_mutex_lock(&lock);
	if (!base) {
		o = getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE");
		if (o && *o)
			base = str_ends(o, "/") ? xstrdup(o) : xasprintf("%s/", o);
		else
			base = xstrdup(COMPUTE_URL);
	}
	pthread_mutex_unlock(&lock);
	return base;
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_add(b, data, size * n) < 0 ? 0 : size * n;
}

int
gcp_http(const char *method, const char *url, const char *const *headers,
         const char *body, long *status, struct buf *resp)
{
	struct curl_slist *hl = NULL;
	CURL *c;
	CURLcode rc;
	char errbuf[CURL_ERROR_SIZE] = "";
	size_t i;

	*status = 0;
	if (gcp_url_check("the URL", url) < 0)
		return -1;
	c = curl_easy_init();
	if (!c)
		return error("cannot start an HTTP request to '%s'", url);
	for (i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (body)
		hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 150L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hydro/" HYDRO_VERSION);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else if (!strcmp(method, "POST"))
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	buf_reset(resp);
	if (resp->max == 0)
		resp->max = RESP_MAX;
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		return error("cannot reach '%s': %s", url,
		             *errbuf ? errbuf : curl_easy_strerror(rc));
	return 0;
}
