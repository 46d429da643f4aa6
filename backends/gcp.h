/*
 * gcp: the Google Compute Engine backend's parts.
 *
 * gcp_http.c is one HTTP exchange over libcurl (https, or plain http to a
 * loopback address only) and the endpoints hydro talks to; gcp_auth.c gets
 * an OAuth 2.0 access token by Application Default Credentials (a service
 * account key, gcloud's authorized-user file, the metadata server) and
 * caches it; gcp_api.c is the Compute Engine v1 REST calls with their
 * retries and error bodies; gcp.c is the backend: VMs, the deployment's
 * firewall rule, the state records, `hydro down` and its --sweep.
 *
 * No key or token is ever printed or logged: errors name the credential
 * source and the reason, never the secret.
 */
#ifndef HYDRO_GCP_H
#define HYDRO_GCP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

/* one HTTP exchange: METHOD URL with the headers (NULL-terminated, may be
 * NULL) and BODY (may be NULL), the status into *status and the body into
 * resp; -1 with an error when no answer came (the status is then 0).
 * http:// is refused but for loopback addresses */
int gcp_http(const char *method, const char *url, const char *const *headers,
             const char *body, long *status, struct buf *resp);
/* whether URL may be used: https, or http to 127.0.0.0/8, ::1, localhost;
 * -1 with an error naming WHAT otherwise */
int gcp_url_check(const char *what, const char *url);
/* the compute API's base URL, ending in '/'
 * (CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE, else Google's) */
const char *gcp_compute_base(void);

/* a valid access token (a new string), fetched or refreshed when the cached
 * one expires within a minute; NULL with an error naming the credential
 * source that failed and why */
char *gcp_token(void);
/* the project the credentials name (a key's project_id,
 * GOOGLE_CLOUD_PROJECT, CLOUDSDK_CORE_PROJECT), or NULL; a new string */
char *gcp_default_project(void);
/* a JSON Web Token for the claims, signed RS256 with the PEM private key
 * KEY (kid the key's id, may be NULL); NULL with an error */
char *gcp_jwt_sign(const char *key, const char *kid, const cJSON *claims);
/* base64url without padding of n bytes, into out */
void gcp_base64url(struct buf *out, const unsigned char *data, size_t n);

/* what an API call answered */
struct gcp_reply {
	long status;		/* the HTTP status; 0 if no answer came */
	cJSON *json;		/* the body parsed, or NULL */
	const char *reason;	/* error.errors[0].reason, or NULL */
	const char *message;	/* error.message, or NULL */
};

/* METHOD the compute API at PATH (relative to the base, e.g.
 * "projects/p/zones/z/instances") with BODY (may be NULL); 429, 5xx,
 * rateLimitExceeded and transport failures retried with exponential
 * backoff and jitter.  0 for a 2xx answer; -1 otherwise with r filled
 * (r->json may hold the error body) and no error reported: the caller
 * says what failed. gcp_reply_release() in every case */
int gcp_call(const char *method, const char *path, const cJSON *body,
             struct gcp_reply *r);
/* free the reply's body */
void gcp_reply_release(struct gcp_reply *r);
/* wait for the zone operation (its selfLink or name) to be DONE, through
 * operations.wait; 0 when it succeeded, -1 with *code (may be NULL) the
 * first error's code ("ZONE_RESOURCE_POOL_EXHAUSTED") and *message */
int gcp_wait_op(const char *project, const char *zone, const char *op,
                char **code, char **message);
/* sleep ms milliseconds */
void gcp_sleep_ms(long ms);
/* the last path segment of a URL ("zones/us-west1-a" -> "us-west1-a") */
const char *gcp_last_part(const char *s);
/* how an API failure reads: "HTTP 403 quotaExceeded: message", into out */
void gcp_reply_describe(struct buf *out, const struct gcp_reply *r);

/* the backend's: where the run's .hydro directory and state file are, and
 * the project directory the deployment id is a hash of */
struct state;
void gcp_setup(const char *hydro_dir, struct state *st, const char *project_dir);
/* make the state kinds "vm" and "firewall" known to hydro down */
void gcp_register_state(void);
/* hydro down --sweep: delete every VM labelled hydro-deployment=<id> and
 * every firewall rule hydro-<id>-* in the projects; -1 if any is left */
int gcp_sweep(const char *project_dir, const char *const *projects, size_t n);

#endif
