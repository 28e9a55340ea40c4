/* Redis key layout and tenant id validation. */
#include <string.h>

#include "check.h"
#include "keys.h"

static void
test_keys(void)
{
	char out[SG_KEY_MAX], small[16];
	char longname[SG_KEY_MAX + 10];

	CHECK_INT_EQ(keys_tenant(out, sizeof(out), "acme", "stream"), 16, "length returned");
	CHECK_STR_EQ(out, "sg:{acme}:stream", "tenant key with hash tag");
	CHECK_INT_EQ(keys_tenant2(out, sizeof(out), "acme", "profile:", "prof_X"), 24,
	             "length with suffix");
	CHECK_STR_EQ(out, "sg:{acme}:profile:prof_X", "tenant key with suffix");
	CHECK_INT_EQ(keys_tenant(small, sizeof(small), "acme", "stream"), 0,
	             "16 chars do not fit 16 bytes");
	CHECK_STR_EQ(small, "", "and leave an empty string");
	CHECK_INT_EQ(keys_tenant(small, sizeof(small), "acme", "strea"), 15, "15 chars fit");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT_EQ(keys_tenant(out, sizeof(out), "acme", longname), 0, "over SG_KEY_MAX");
	CHECK_INT_EQ(keys_tenant(out, sizeof(out), NULL, "x"), 0, "NULL tenant");
}

static void
test_tenant_valid(void)
{
	char t64[65], t65[66];

	memset(t64, 'a', 64);
	t64[64] = '\0';
	memset(t65, 'a', 65);
	t65[65] = '\0';
	CHECK(keys_tenant_valid("acme"), "acme");
	CHECK(keys_tenant_valid("a"), "one char");
	CHECK(keys_tenant_valid("0acme_retail-fi"), "digit first, _ and -");
	CHECK(keys_tenant_valid(t64), "64 chars");
	CHECK(!keys_tenant_valid(t65), "65 chars");
	CHECK(!keys_tenant_valid(""), "empty");
	CHECK(!keys_tenant_valid(NULL), "NULL");
	CHECK(!keys_tenant_valid("_acme"), "underscore first");
	CHECK(!keys_tenant_valid("-acme"), "dash first");
	CHECK(!keys_tenant_valid("Acme"), "uppercase");
	CHECK(!keys_tenant_valid("ac}me"), "brace (would break the hash tag)");
	CHECK(!keys_tenant_valid("ac:me"), "colon");
	CHECK(!keys_tenant_valid("ac me"), "space");
	CHECK(!keys_tenant_valid("acm\xc3\xa9"), "non-ASCII");
}

int
main(void)
{
	test_keys();
	test_tenant_valid();
	return check_done();
}
