/* Identifiers; see ids.h. */
#include "ids.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define ULID_RAND_BYTES 10 /* 80 random bits */
#define ULID_TIME_MAX ((INT64_C(1) << 48) - 1)
#define DERIVED_CHARS 20 /* 100 bits of the digest */
#define SECRET_BYTES 20  /* 160 bits = 32 base32 chars */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Per-thread generator state: no lock, monotonic within the thread. */
struct ulid_state {
	int64_t last_ms;                    /* time part of the last id */
	unsigned char rnd[ULID_RAND_BYTES]; /* random part of the last id */
	int started;                        /* an id was made on this thread */
};

static _Thread_local struct ulid_state ulid;

/* Writes nchars base32 chars of the bits of in, most significant first. */
static void
b32_bits(const unsigned char *in, size_t nchars, char *out)
{
	for (size_t c = 0; c < nchars; c++) {
		size_t bit = c * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)in[byte] << 8;

		if (shift > 3) {
			v |= in[byte + 1]; /* the 5 bits straddle two bytes */
		}
		out[c] = crockford[(v >> (11 - shift)) & 31];
	}
	out[nchars] = '\0';
}

/* Adds 1 to the big-endian random part. Returns 1 when it wrapped to zero. */
static int
rnd_increment(unsigned char *r)
{
	for (size_t i = ULID_RAND_BYTES; i > 0; i--) {
		if (++r[i - 1] != 0) {
			return 0;
		}
	}
	return 1;
}

/* Aborts: a broken CSPRNG or digest must never degrade into colliding ids. */
static void
ids_die(const char *what)
{
	fprintf(stderr, "salesgate: fatal: %s failed\n", what);
	abort();
}

int
ids_random(void *out, size_t n)
{
	unsigned char *p = out;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Advances the thread's state for now_ms: fresh randomness per new ms, +1 otherwise. */
static void
ulid_advance(int64_t now_ms)
{
	if (now_ms < 0) {
		now_ms = 0;
	}
	if (now_ms > ULID_TIME_MAX) {
		now_ms = ULID_TIME_MAX;
	}
	if (!ulid.started || now_ms > ulid.last_ms) {
		if (ids_random(ulid.rnd, sizeof(ulid.rnd)) < 0) {
			ids_die("getrandom");
		}
		ulid.last_ms = now_ms;
		ulid.started = 1;
		return;
	}
	/* same ms, or the clock stepped back: keep the last time, count up */
	if (rnd_increment(ulid.rnd) && ulid.last_ms < ULID_TIME_MAX) {
		ulid.last_ms++;
	}
}

void
ids_event(int64_t now_ms, char *out)
{
	unsigned char raw[16]; /* 48-bit time + 80 random bits, big-endian */
	uint64_t t = 0;

	ulid_advance(now_ms);
	t = (uint64_t)ulid.last_ms;
	for (int i = 0; i < 6; i++) {
		raw[i] = (unsigned char)(t >> (40 - 8 * i));
	}
	memcpy(raw + 6, ulid.rnd, ULID_RAND_BYTES);
	memcpy(out, "evt_", 4);
	/* 26 chars carry 130 bits: the first char holds the top 3 time bits */
	out[4] = crockford[(raw[0] >> 5) & 7];
	for (int c = 1; c < 26; c++) {
		size_t bit = (size_t)c * 5 - 2, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)raw[byte] << 8;

		if (shift > 3 && byte + 1 < sizeof(raw)) {
			v |= raw[byte + 1];
		}
		out[4 + c] = crockford[(v >> (11 - shift)) & 31];
	}
	out[30] = '\0';
}

/* SHA-256 of the concatenation of n parts. Aborts on a libcrypto failure. */
static void
sha256_parts(const void *const *parts, const size_t *lens, size_t n, unsigned char md[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (size_t i = 0; ok && i < n; i++) {
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		ids_die("SHA-256");
	}
}

void
ids_derived(const char *prefix, const char *tenant, const char *external_id, char *out)
{
	const void *parts[3] = {tenant, "\x1f", external_id};
	size_t lens[3] = {strlen(tenant), 1, strlen(external_id)};
	unsigned char md[32];
	size_t plen = strlen(prefix);

	sha256_parts(parts, lens, 3, md);
	if (plen > SG_ID_MAX - DERIVED_CHARS - 1) {
		plen = SG_ID_MAX - DERIVED_CHARS - 1;
	}
	memcpy(out, prefix, plen);
	b32_bits(md, DERIVED_CHARS, out + plen);
}

void
ids_sha256_hex(const void *p, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	const void *parts[1] = {p};
	unsigned char md[32];

	sha256_parts(parts, &len, 1, md);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

int
ids_secret(const char *prefix, char *out, size_t outlen)
{
	unsigned char rnd[SECRET_BYTES];
	size_t plen = strlen(prefix);

	if (outlen < plen + 32 + 1 || ids_random(rnd, sizeof(rnd)) < 0) {
		return -1;
	}
	memcpy(out, prefix, plen);
	b32_bits(rnd, 32, out + plen);
	return 0;
}
