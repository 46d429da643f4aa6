/* gcp: base64url, the RS256 JWT a service account signs, and the URL rule */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "gcp.h"
#include "json.h"
#include "test.h"

static void
b64(const char *in, size_t n, const char *want)
{
	struct buf b = BUF_INIT;

	gcp_base64url(&b, (const unsigned char *)in, n);
	CHECK_STR(b.data ? b.data : "", want);
	buf_release(&b);
}

TEST(base64url_without_padding)
{
	b64("", 0, "");
	b64("f", 1, "Zg");
	b64("fo", 2, "Zm8");
	b64("foo", 3, "Zm9v");
	b64("\xfb\xff", 2, "-_8");
}

static char *
new_key_pem(EVP_PKEY **pk)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long n;

	*pk = EVP_RSA_gen(2048);
	PEM_write_bio_PrivateKey(bio, *pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(bio, &data);
	pem = strndup(data, (size_t)n);
	BIO_free(bio);
	return pem;
}

static size_t
unb64url(const char *s, size_t n, unsigned char *out)
{
	char *t = malloc(n + 4);
	size_t i, len;
	int r;

	for (i = 0; i < n; i++)
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (i % 4)
		t[i++] = '=';
	t[i] = '\0';
	r = EVP_DecodeBlock(out, (unsigned char *)t, (int)i);
	len = r < 0 ? 0 : (size_t)r;
	while (i > 0 && t[--i] == '=')
		len--;
	free(t);
	return len;
}

TEST(jwt_is_rs256_signed_by_the_key)
{
	EVP_PKEY *pk;
	char *pem = new_key_pem(&pk);
	cJSON *claims = cJSON_CreateObject();
	char *jwt, *dot1, *dot2;
	unsigned char hdr[256], sig[512];
	size_t hl, sl;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	cJSON *h;

	cJSON_AddStringToObject(claims, "iss", "a@b.iam.gserviceaccount.com");
	jwt = gcp_jwt_sign(pem, "kid1", claims);
	REQUIRE(jwt);
	dot1 = strchr(jwt, '.');
	REQUIRE(dot1);
	dot2 = strchr(dot1 + 1, '.');
	REQUIRE(dot2);
	hl = unb64url(jwt, (size_t)(dot1 - jwt), hdr);
	hdr[hl] = '\0';
	h = cJSON_Parse((char *)hdr);
	CHECK_STR(json_str(h, "alg"), "RS256");
	CHECK_STR(json_str(h, "typ"), "JWT");
	CHECK_STR(json_str(h, "kid"), "kid1");
	sl = unb64url(dot2 + 1, strlen(dot2 + 1), sig);
	CHECK_INT((int)sl, 256);
	CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1);
	CHECK(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt,
	                       (size_t)(dot2 - jwt)) == 1);
	cJSON_Delete(h);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	cJSON_Delete(claims);
	free(jwt);
	free(pem);
}

TEST(a_key_that_is_not_rsa_pem_is_an_error)
{
	cJSON *claims = cJSON_CreateObject();

	error_set_reporter(NULL, NULL);
	CHECK(gcp_jwt_sign("not a key", NULL, claims) == NULL);
	cJSON_Delete(claims);
}

TEST(plain_http_only_to_loopback)
{
	CHECK(gcp_url_check("u", "https://compute.googleapis.com/compute/v1/") == 0);
	CHECK(gcp_url_check("u", "http://127.0.0.1:8089/compute/v1/") == 0);
	CHECK(gcp_url_check("u", "http://localhost/x") == 0);
	CHECK(gcp_url_check("u", "http://[::1]:80/x") == 0);
	CHECK(gcp_url_check("u", "http://10.0.0.1/x") < 0);
	CHECK(gcp_url_check("u", "http://127.0.0.1.evil.example/x") < 0);
	CHECK(gcp_url_check("u", "ftp://127.0.0.1/x") < 0);
}

int
main(void)
{
	RUN(base64url_without_padding);
	RUN(jwt_is_rs256_signed_by_the_key);
	RUN(a_key_that_is_not_rsa_pem_is_an_error);
	RUN(plain_http_only_to_loopback);
	return TEST_EXIT();
}
