/*
 * gcp_auth: an OAuth 2.0 access token by Application Default Credentials,
 * in Google's order:
 *   1. GOOGLE_APPLICATION_CREDENTIALS: a service account key; a JWT signed
 *      RS256 with its private key, exchanged at its token_uri
 *      (grant urn:ietf:params:oauth:grant-type:jwt-bearer);
 *   2. gcloud's application_default_credentials.json (in $CLOUDSDK_CONFIG,
 *      else ~/.config/gcloud): an authorized user's refresh token;
 *   3. the metadata server (GCE_METADATA_HOST, else metadata.google.internal)
 *      when running on Compute Engine.
 * The token is kept in memory only and fetched again a minute before it
 * expires.  Neither it nor any key material ever reaches a message.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "error.h"
#include "fs.h"
#include "gcp.h"
#include "json.h"
#include "str.h"
#include "xmalloc.h"

#define SCOPE "https://www.googleapis.com/auth/compute"
#define GOOGLE_TOKEN_URI "https://oauth2.googleapis.com/token"
#define METADATA_HOST "metadata.google.internal"
#define TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *cached;		/* the access token */
static time_t cached_until;
static time_t failed_at;	/* the last fetch failed (reported) then */

void
gcp_base64url(struct buf *out, const unsigned char *data, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
		buf_addch(out, tab[v >> 18 & 63]);
		buf_addch(out, tab[v >> 12 & 63]);
		buf_addch(out, tab[v >> 6 & 63]);
		buf_addch(out, tab[v & 63]);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)data[i] << 16;
		buf_addch(out, tab[v >> 18 & 63]);
		buf_addch(out, tab[v >> 12 & 63]);
	} else if (n - i == 2) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
		buf_addch(out, tab[v >> 18 & 63]);
		buf_addch(out, tab[v >> 12 & 63]);
		buf_addch(out, tab[v >> 6 & 63]);
	}
}

char *
gcp_jwt_sign(const char *key, const char *kid, const cJSON *claims)
{
	struct buf jwt = BUF_INIT;
	cJSON *hdr = cJSON_CreateObject();
	char *text;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_PKEY *pk;
	EVP_MD_CTX *md = NULL;
	BIO *bio;
	int ok = 0;

	cJSON_AddStringToObject(hdr, "alg", "RS256");
	cJSON_AddStringToObject(hdr, "typ", "JWT");
	if (kid)
		cJSON_AddStringToObject(hdr, "kid", kid);
	text = json_print(hdr);
	gcp_base64url(&jwt, (const unsigned char *)text, strlen(text));
	free(text);
	cJSON_Delete(hdr);
	buf_addch(&jwt, '.');
	text = json_print(claims);
	gcp_base64url(&jwt, (const unsigned char *)text, strlen(text));
	free(text);

	bio = BIO_new_mem_buf(key, -1);
	pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (pk && EVP_PKEY_base_id(pk) == EVP_PKEY_RSA && (md = EVP_MD_CTX_new()) &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pk) == 1 &&
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)jwt.data, jwt.len) == 1) {
		sig = xmalloc(siglen);
		ok = EVP_DigestSign(md, sig, &siglen, (const unsigned char *)jwt.data,
		                    jwt.len) == 1;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	if (!ok) {
		free(sig);
		buf_release(&jwt);
		error("the private_key is not a PEM RSA private key that can sign");
		return NULL;
	}
	buf_addch(&jwt, '.');
	gcp_base64url(&jwt, sig, siglen);
	OPENSSL_cleanse(sig, siglen);
	free(sig);
	return buf_detach(&jwt, NULL);
}

/* a form field "name=value&", value URL-encoded */
static void
form_add(struct buf *b, const char *name, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);

	buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v ? v : "");
	curl_free(v);
}

/* free j (may be NULL), its secret string at key overwritten first */
static void
delete_wiped(cJSON *j, const char *key)
{
	cJSON *v = j ? cJSON_GetObjectItem(j, key) : NULL;

	if (cJSON_IsString(v))
		OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(j);
}

/* read an OAuth token answer: 0 with the token cached, or -1 with an error
 * saying what SOURCE's endpoint answered (never the body's secrets) */
static int
take_token(const char *source, const char *uri, long status, const struct buf *resp)
{
	cJSON *j = json_parse(resp->len ? resp->data : "null", "the token answer");
	const char *tok = j ? json_str(j, "access_token") : NULL;
	long expires = 3600;
	int ret = 0;

	error_clear();
	if (status != 200 || !tok) {
		const char *e = j ? json_str(j, "error") : NULL;
		const char *d = j ? json_str(j, "error_description") : NULL;
		if (!e && j && cJSON_IsObject(cJSON_GetObjectItem(j, "error")))
			e = json_str(cJSON_GetObjectItem(j, "error"), "message");
		ret = error("cannot get a Google access token from %s: '%s' answered "
		            "HTTP %ld%s%s%s%s", source, uri, status, e ? ": " : "",
		            e ? e : (status == 200 ? " without an access_token" : ""),
		            d ? ": " : "", d ? d : "");
	} else {
		json_long(j, "expires_in", &expires);
		free(cached);
		cached = xstrdup(tok);
		cached_until = time(NULL) + expires;
	}
	/* the answer held the token: wipe the parsed copy */
	delete_wiped(j, "access_token");
	return ret;
}

static int
post_form(const char *source, const char *uri, struct buf *form)
{
	static const char *const hdr[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL
	};
	struct buf resp = BUF_INIT;
	long status;
	int ret;

	if (gcp_url_check("the token endpoint", uri) < 0)
		ret = error("cannot use %s", source);
	else if (gcp_http("POST", uri, hdr, form->data, &status, &resp) < 0)
		ret = error("cannot get a Google access token from %s", source);
	else
		ret = take_token(source, uri, status, &resp);
	OPENSSL_cleanse(form->data, form->len);
	if (resp.data)
		OPENSSL_cleanse(resp.data, resp.len);
	buf_release(form);
	buf_release(&resp);
	return ret;
}

static int
from_service_account(const char *path, const cJSON *key)
{
	const char *email = json_str(key, "client_email");
	const char *pem = json_str(key, "private_key");
	const char *uri = json_str(key, "token_uri");
	char *source = xasprintf("the service account key '%s' (GOOGLE_APPLICATION_CREDENTIALS)",
	                         path);
	struct buf form = BUF_INIT;
	cJSON *claims;
	char *jwt;
	time_t now = time(NULL);
	int ret;

	if (!uri)
		uri = GOOGLE_TOKEN_URI;
	if (!email || !pem) {
		ret = error("cannot use %s: it has no %s", source,
		            !email ? "client_email" : "private_key");
		free(source);
		return ret;
	}
	claims = cJSON_CreateObject();
	cJSON_AddStringToObject(claims, "iss", email);
	cJSON_AddStringToObject(claims, "scope", SCOPE);
	cJSON_AddStringToObject(claims, "aud", uri);
	cJSON_AddNumberToObject(claims, "iat", (double)now);
	cJSON_AddNumberToObject(claims, "exp", (double)now + 3600);
	jwt = gcp_jwt_sign(pem, json_str(key, "private_key_id"), claims);
	cJSON_Delete(claims);
	if (!jwt) {
		ret = error("cannot use %s", source);
		free(source);
		return ret;
	}
	form_add(&form, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
	form_add(&form, "assertion", jwt);
	OPENSSL_cleanse(jwt, strlen(jwt));
	free(jwt);
	ret = post_form(source, uri, &form);
	free(source);
	return ret;
}

static int
from_authorized_user(const char *path, const cJSON *key)
{
	const char *id = json_str(key, "client_id");
	const char *secret = json_str(key, "client_secret");
	const char *refresh = json_str(key, "refresh_token");
	const char *uri = json_str(key, "token_uri");
	char *source = xasprintf("gcloud's application default credentials '%s'", path);
	struct buf form = BUF_INIT;
	int ret;

	if (!id || !secret || !refresh) {
		ret = error("cannot use %s: it lacks client_id, client_secret or "
		            "refresh_token; run 'gcloud auth application-default login'",
		            source);
		free(source);
		return ret;
	}
	form_add(&form, "grant_type", "refresh_token");
	form_add(&form, "client_id", id);
	form_add(&form, "client_secret", secret);
	form_add(&form, "refresh_token", refresh);
	ret = post_form(source, uri ? uri : GOOGLE_TOKEN_URI, &form);
	free(source);
	return ret;
}

/* a credentials file: a service account key or an authorized user */
static int
from_file(const char *path, const char *env)
{
	struct buf text = BUF_INIT;
	cJSON *key;
	const char *type;
	int ret;

	if (read_file(path, &text) < 0)
		return error("cannot read the Google credentials '%s'%s%s", path,
		             env ? " named by " : "", env ? env : "");
	key = cJSON_ParseWithLength(text.data, text.len);
	OPENSSL_cleanse(text.data, text.len);
	buf_release(&text);
	/* never quote the file: it holds a private key */
	if (!key)
		return error("the Google credentials '%s' are not JSON", path);
	type = json_str(key, "type");
	if (type && !strcmp(type, "service_account"))
		ret = from_service_account(path, key);
	else if (type && !strcmp(type, "authorized_user"))
		ret = from_authorized_user(path, key);
	else
		ret = error("the Google credentials '%s' are of type '%s'; hydro takes "
		            "'service_account' or 'authorized_user'", path,
		            type ? type : "(none)");
	delete_wiped(key, "private_key");
	return ret;
}

static int
on_gce(void)
{
	struct buf b = BUF_INIT;
	int yes;

	if (read_file("/sys/class/dmi/id/product_name", &b) < 0) {
		error_clear();
		return 0;
	}
	yes = b.data && strstr(b.data, "Google") != NULL;
	buf_release(&b);
	return yes;
}

static int
from_metadata(const char *host)
{
	static const char *const hdr[] = { "Metadata-Flavor: Google", NULL };
	char *uri = xasprintf("http://%s" TOKEN_PATH, host);
	char *source = xasprintf("the metadata server '%s'", host);
	struct buf resp = BUF_INIT;
	long status;
	int ret;

	if (gcp_http("GET", uri, hdr, NULL, &status, &resp) < 0)
		ret = error("cannot get a Google access token from %s", source);
	else
		ret = take_token(source, uri, status, &resp);
	if (resp.data)
		OPENSSL_cleanse(resp.data, resp.len);
	buf_release(&resp);
	free(uri);
	free(source);
	return ret;
}

static char *
adc_path(void)
{
	const char *cfg = getenv("CLOUDSDK_CONFIG");
	const char *home = getenv("HOME");

	if (cfg && *cfg)
		return path_join(cfg, "application_default_credentials.json");
	return xasprintf("%s/.config/gcloud/application_default_credentials.json",
	                 home ? home : "");
}

/* fetch a token by the first source there is */
static int
fetch(void)
{
	const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	const char *md = getenv("GCE_METADATA_HOST");
	char *adc;
	int ret;

	if (env && *env)
		return from_file(env, "GOOGLE_APPLICATION_CREDENTIALS");
	adc = adc_path();
	if (path_exists(adc)) {
		ret = from_file(adc, NULL);
		free(adc);
		return ret;
	}
	if ((md && *md) || on_gce()) {
		free(adc);
		return from_metadata(md && *md ? md : METADATA_HOST);
	}
	ret = error("no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, "
	            "there is no '%s' ('gcloud auth application-default login' makes it) "
	            "and this is not a Compute Engine VM", adc);
	free(adc);
	return ret;
}

char *
gcp_token(void)
{
	char *tok = NULL;

	pthread_mutex_lock(&lock);
	/* a failure is reported once; the callers in the next seconds only
	 * say they had no credentials */
	if ((!cached || time(NULL) + 60 >= cached_until) &&
	    (!failed_at || time(NULL) >= failed_at + 10)) {
		if (cached) {
			OPENSSL_cleanse(cached, strlen(cached));
			free(cached);
			cached = NULL;
		}
		failed_at = fetch() < 0 ? time(NULL) : 0;
	}
	if (cached)
		tok = xstrdup(cached);
	pthread_mutex_unlock(&lock);
	return tok;
}

char *
gcp_default_project(void)
{
	const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	const char *p;
	char *proj = NULL;
	struct buf text = BUF_INIT;
	cJSON *key;

	if (env && *env && read_file(env, &text) == 0) {
		key = cJSON_ParseWithLength(text.data, text.len);
		OPENSSL_cleanse(text.data, text.len);
		p = key ? json_str(key, "project_id") : NULL;
		if (p)
			proj = xstrdup(p);
		cJSON_Delete(key);
	}
	buf_release(&text);
	error_clear();
	if (!proj && (p = getenv("GOOGLE_CLOUD_PROJECT")) && *p)
		proj = xstrdup(p);
	if (!proj && (p = getenv("CLOUDSDK_CORE_PROJECT")) && *p)
		proj = xstrdup(p);
	return proj;
}
