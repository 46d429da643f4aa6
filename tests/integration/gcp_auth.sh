# GCP credentials, in Application Default Credentials order: a service
# account key (its JWT's signature checked by the fake), gcloud's
# authorized-user file, the metadata server; tokens cached and refreshed
# before they expire; errors name the source that failed; plain http only
# to loopback.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fakes/gcp/lib.sh"

W=$T_TMP/w
mkdir -p "$W"
g_start --op-latency 0.1 --refresh-token 1//test-refresh-token
g_config 1

t_case "a service account key: one token for the whole run"
before=$(g_state counts.tokens)
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 0
[ "$(g_state counts.tokens)" -eq $((before + 1)) ] || t_fail "not one token per run"
g_expect_empty
t_end

t_case "a token about to expire is fetched again"
g_conf '{"token_expires": 61, "op_latency": 1}'
before=$(g_state counts.tokens)
t_run "$HYDRO" run "$W/d.json"
t_expect_rc 0
[ "$(g_state counts.tokens)" -ge $((before + 2)) ] || t_fail "the token was not refreshed"
g_conf '{"token_expires": 3599, "op_latency": 0.1}'
g_expect_empty
t_end

t_case "a key the token endpoint refuses: the source and the reason"
openssl genrsa -out "$T_TMP/other.pem" 2048 2>/dev/null
python3 - "$G_DIR/sa.json" "$T_TMP/other.pem" >"$T_TMP/bad.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
k["private_key"] = open(sys.argv[2]).read()
print(json.dumps(k))
PY
t_run env GOOGLE_APPLICATION_CREDENTIALS=$T_TMP/bad.json "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "cannot get a Google access token from the service account key '$T_TMP/bad.json' (GOOGLE_APPLICATION_CREDENTIALS): '$G_URL/token' answered HTTP 400: invalid_grant: Invalid JWT Signature."
grep -qF "$(sed -n 5p "$T_TMP/other.pem")" "$T_TMP/err" && t_fail "the key is in the message"
g_expect_empty
t_end

t_case "a key file that is not JSON: named, not quoted"
echo "-----BEGIN PRIVATE KEY----- secretstuff" >"$T_TMP/junk.json"
t_run env GOOGLE_APPLICATION_CREDENTIALS=$T_TMP/junk.json "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "the Google credentials '$T_TMP/junk.json' are not JSON"
grep -q secretstuff "$T_TMP/err" && t_fail "the file's text is in the message"
t_end

t_case "gcloud's application default credentials: an authorized user"
mkdir -p "$T_TMP/gcloud"
cat >"$T_TMP/gcloud/application_default_credentials.json" <<JSON
{"type": "authorized_user", "client_id": "123.apps.googleusercontent.com",
 "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//test-refresh-token",
 "token_uri": "$G_URL/token"}
JSON
before=$(g_state counts.tokens)
t_run env -u GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CONFIG="$T_TMP/gcloud" "$HYDRO" run "$W/d.json"
t_expect_rc 0
[ "$(g_state counts.tokens)" -eq $((before + 1)) ] || t_fail "no token from the refresh token"
sed -i 's/1\/\/test-refresh-token/1\/\/revoked/' "$T_TMP/gcloud/application_default_credentials.json"
t_run env -u GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CONFIG="$T_TMP/gcloud" "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "from gcloud's application default credentials '$T_TMP/gcloud/application_default_credentials.json': '$G_URL/token' answered HTTP 400: invalid_grant"
grep -q "revoked\|d-FL95Q19q7MQmFpd7hHD0Ty" "$T_TMP/err" && t_fail "a secret is in the message"
g_expect_empty
t_end

t_case "the metadata server (GCE_METADATA_HOST)"
before=$(g_state counts.tokens)
t_run env -u GOOGLE_APPLICATION_CREDENTIALS CLOUDSDK_CONFIG="$T_TMP/none" \
	GCE_METADATA_HOST=127.0.0.1:$G_PORT "$HYDRO" run "$W/d.json"
t_expect_rc 0
[ "$(g_state counts.tokens)" -eq $((before + 1)) ] || t_fail "no token from the metadata server"
g_expect_empty
t_end

t_case "no credentials at all: each source named"
t_run env -u GOOGLE_APPLICATION_CREDENTIALS -u GCE_METADATA_HOST CLOUDSDK_CONFIG="$T_TMP/none" \
	"$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "no Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, there is no '$T_TMP/none/application_default_credentials.json'"
t_end

t_case "plain http:// to an address that is not loopback is refused"
t_run env CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE=http://192.0.2.1/compute/v1/ "$HYDRO" run "$W/d.json"
t_expect_rc 1
t_expect_err "'http://192.0.2.1/compute/v1/projects/hydro-test/global/firewalls' must be https:// (plain http:// only to a loopback address)"
t_end

t_done
