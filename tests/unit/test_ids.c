/* Event ids, derived ids, secrets, hashing. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ids.h"

static int
is_crockford(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!s[i] || !strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", s[i])) {
			return 0;
		}
	}
	return 1;
}

static void
test_event_format(void)
{
	char id[SG_ID_MAX], prev[SG_ID_MAX];

	/* first ids of this thread, in time order: the state is per thread */
	ids_event(0, prev);
	CHECK(strncmp(prev, "evt_0000000000", 14) == 0, "time 0: %s", prev);
	ids_event(-5, id);
	CHECK(strncmp(id, "evt_0000000000", 14) == 0 && strcmp(prev, id) < 0,
	      "negative time clamps to 0 and still counts up");
	ids_event(1777120320123, id);
	CHECK_INT_EQ(strlen(id), 30, "evt_ + 26 chars");
	CHECK(strncmp(id, "evt_", 4) == 0, "evt_ prefix");
	CHECK(is_crockford(id + 4, 26), "Crockford base32 body: %s", id);
	/* 1777120320123 = 0x19DC4A01A7B -> 10 chars "01KQ2A06KV" */
	CHECK(strncmp(id + 4, "01KQ2A06KV", 10) == 0, "time part is the ms in base32 (%.10s)",
	      id + 4);
}

static void
test_event_monotonic(void)
{
	char prev[SG_ID_MAX], cur[SG_ID_MAX];
	int sorted = 1, same_time = 1;

	ids_event(2000000000000, prev);
	for (int i = 0; i < 1000; i++) {
		ids_event(2000000000000, cur);
		if (strcmp(prev, cur) >= 0) {
			sorted = 0;
		}
		if (strncmp(prev, cur, 14) != 0) {
			same_time = 0;
		}
		memcpy(prev, cur, sizeof(cur));
	}
	CHECK(sorted, "1000 ids in the same ms sort strictly in order");
	CHECK(same_time, "and keep the same time part");
	ids_event(1999999999000, cur);
	CHECK(strcmp(prev, cur) < 0, "a clock stepping back still gives a larger id");
	ids_event(2000000000001, prev);
	CHECK(strcmp(cur, prev) < 0, "next ms sorts after");
}

static void
test_derived(void)
{
	char a[SG_ID_MAX], b[SG_ID_MAX], c[SG_ID_MAX], d[SG_ID_MAX];

	ids_derived("store_", "acme", "S42", a);
	ids_derived("store_", "acme", "S42", b);
	ids_derived("store_", "other", "S42", c);
	ids_derived("store_", "acme", "S43", d);
	CHECK_INT_EQ(strlen(a), 6 + 20, "prefix + 20 chars");
	CHECK(strncmp(a, "store_", 6) == 0 && is_crockford(a + 6, 20), "format: %s", a);
	CHECK_STR_EQ(a, b, "stable for the same tenant and external id");
	CHECK(strcmp(a, c) != 0, "distinct per tenant");
	CHECK(strcmp(a, d) != 0, "distinct per external id");
	/* first 100 bits of SHA-256("acme\x1fS42") in base32, computed with Python */
	CHECK_STR_EQ(a, "store_TEE1BE4ZQSQ5WPAEP86G", "known value");
}

static void
test_sha256_hex(void)
{
	char hex[65];

	ids_sha256_hex("", 0, hex);
	CHECK_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	             "sha256 of empty");
	ids_sha256_hex("abc", 3, hex);
	CHECK_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	             "sha256 of abc");
}

static void
test_secret_random(void)
{
	char s1[64], s2[64], tiny[10];
	unsigned char r[300];
	int nonzero = 0;

	CHECK_INT_EQ(ids_secret("sk_live_", s1, sizeof(s1)), 0, "secret made");
	CHECK_INT_EQ(ids_secret("sk_live_", s2, sizeof(s2)), 0, "second secret made");
	CHECK_INT_EQ(strlen(s1), 8 + 32, "prefix + 32 chars");
	CHECK(is_crockford(s1 + 8, 32), "base32 body");
	CHECK(strcmp(s1, s2) != 0, "two secrets differ");
	CHECK_INT_EQ(ids_secret("sk_", tiny, sizeof(tiny)), -1, "too small a buffer refused");
	memset(r, 0, sizeof(r));
	CHECK_INT_EQ(ids_random(r, sizeof(r)), 0, "300 random bytes");
	for (size_t i = 0; i < sizeof(r); i++) {
		nonzero += r[i] != 0;
	}
	CHECK(nonzero > 250, "random bytes are not all zero (%d)", nonzero);
}

int
main(void)
{
	test_event_format();
	test_event_monotonic();
	test_derived();
	test_sha256_hex();
	test_secret_random();
	return check_done();
}
