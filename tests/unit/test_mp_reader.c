/* mp_reader: every encoding, length checks, no move on failure, bounded skip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mp_reader.h"

#define BYTES(lit) lit, sizeof(lit) - 1

/* Reader over a malloc'd copy of exactly len bytes, so ASan catches overreads. */
static struct sg_mp_reader
reader(const char *p, size_t len, unsigned char **copy)
{
	struct sg_mp_reader r;

	*copy = malloc(len ? len : 1);
	memcpy(*copy, p, len);
	mp_reader_init(&r, *copy, len);
	return r;
}

static void
check_int(const char *p, size_t len, int64_t want, const char *name)
{
	unsigned char *copy = NULL;
	struct sg_mp_reader r = reader(p, len, &copy);
	int64_t v = 0;

	CHECK(mp_read_int(&r, &v) == 0 && v == want && mp_remaining(&r) == 0, "int %s", name);
	free(copy);
}

static void
test_ints(void)
{
	unsigned char *copy = NULL;
	struct sg_mp_reader r;
	int64_t v = 0;

	check_int(BYTES("\x00"), 0, "positive fixint 0");
	check_int(BYTES("\x7f"), 127, "positive fixint 127");
	check_int(BYTES("\xe0"), -32, "negative fixint -32");
	check_int(BYTES("\xff"), -1, "negative fixint -1");
	check_int(BYTES("\xcc\xff"), 255, "uint8");
	check_int(BYTES("\xcd\xff\xff"), 65535, "uint16");
	check_int(BYTES("\xce\xff\xff\xff\xff"), 4294967295LL, "uint32");
	check_int(BYTES("\xcf\x7f\xff\xff\xff\xff\xff\xff\xff"), INT64_MAX, "uint64 max int64");
	check_int(BYTES("\xd0\x80"), -128, "int8");
	check_int(BYTES("\xd1\x80\x00"), -32768, "int16");
	check_int(BYTES("\xd2\x80\x00\x00\x00"), INT32_MIN, "int32");
	check_int(BYTES("\xd3\x80\x00\x00\x00\x00\x00\x00\x00"), INT64_MIN, "int64 min");
	check_int(BYTES("\xd3\x00\x00\x00\x00\x00\x00\x00\x05"), 5, "int64 small");

	r = reader(BYTES("\xcf\x80\x00\x00\x00\x00\x00\x00\x00"), &copy);
	CHECK(mp_read_int(&r, &v) < 0 && mp_remaining(&r) == 9, "uint64 above INT64_MAX refused");
	free(copy);
	r = reader(BYTES("\xd2\x00\x00\x00"), &copy);
	CHECK(mp_read_int(&r, &v) < 0 && mp_remaining(&r) == 4, "truncated int32 refused");
	free(copy);
	r = reader(BYTES("\xc3"), &copy);
	CHECK(mp_read_int(&r, &v) < 0 && mp_remaining(&r) == 1, "bool is not an int");
	free(copy);
}

static void
test_scalars(void)
{
	unsigned char *copy = NULL;
	struct sg_mp_reader r;
	double d = 0;
	int b = -1;

	r = reader(BYTES("\xca\xc0\x20\x00\x00\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"), &copy);
	CHECK(mp_read_float(&r, &d) == 0 && d == -2.5, "float32 -2.5");
	CHECK(mp_read_float(&r, &d) == 0 && d == 0.1, "float64 0.1");
	free(copy);
	r = reader(BYTES("\xcb\x3f\xb9\x99"), &copy);
	CHECK(mp_read_float(&r, &d) < 0 && mp_remaining(&r) == 4, "truncated float64 refused");
	free(copy);
	r = reader(BYTES("\x01"), &copy);
	CHECK(mp_read_float(&r, &d) < 0, "int is not converted to float");
	free(copy);
	r = reader(BYTES("\xc2\xc3\xc0"), &copy);
	CHECK(mp_read_bool(&r, &b) == 0 && b == 0, "false");
	CHECK(mp_read_bool(&r, &b) == 0 && b == 1, "true");
	CHECK(mp_read_bool(&r, &b) < 0, "nil is not a bool");
	CHECK(mp_read_nil(&r) == 0 && mp_remaining(&r) == 0, "nil");
	CHECK(mp_read_nil(&r) < 0 && mp_peek(&r) == SG_MP_END, "nothing left");
	free(copy);
}

static void
test_strings(void)
{
	unsigned char *copy = NULL;
	struct sg_mp_reader r;
	const char *s = NULL;
	size_t len = 0;

	r = reader(BYTES("\xa3"
	                 "abc\xd9\x02xy\xda\x00\x01z\xdb\x00\x00\x00\x00"),
	           &copy);
	CHECK(mp_read_str(&r, &s, &len) == 0 && len == 3 && memcmp(s, "abc", 3) == 0, "fixstr");
	CHECK(mp_read_str(&r, &s, &len) == 0 && len == 2 && memcmp(s, "xy", 2) == 0, "str8");
	CHECK(mp_read_str(&r, &s, &len) == 0 && len == 1 && *s == 'z', "str16");
	CHECK(mp_read_str(&r, &s, &len) == 0 && len == 0 && mp_remaining(&r) == 0, "empty str32");
	free(copy);
	r = reader(BYTES("\xa4"
	                 "abc"),
	           &copy);
	CHECK(mp_read_str(&r, &s, &len) < 0 && mp_remaining(&r) == 4, "fixstr past the end");
	free(copy);
	r = reader(BYTES("\xdb\xff\xff\xff\xff"
	                 "abc"),
	           &copy);
	CHECK(mp_read_str(&r, &s, &len) < 0 && mp_remaining(&r) == 8, "str32 of 4G refused");
	free(copy);
	r = reader(BYTES("\xc4\x01x"), &copy);
	CHECK(mp_read_str(&r, &s, &len) < 0, "bin is not a str");
	free(copy);
}

static void
test_counts(void)
{
	unsigned char *copy = NULL;
	struct sg_mp_reader r;
	uint32_t n = 0;

	r = reader(BYTES("\xdd\xff\x00\x00\x00"), &copy);
	CHECK(mp_read_array(&r, &n) < 0 && mp_remaining(&r) == 5, "array32 of 4G refused");
	free(copy);
	r = reader(BYTES("\xdc\x00\x03\x01\x02"), &copy);
	CHECK(mp_read_array(&r, &n) < 0, "array16 of 3 with 2 bytes left refused");
	free(copy);
	r = reader(BYTES("\xdc\x00\x03\x01\x02\x03"), &copy);
	CHECK(mp_read_array(&r, &n) == 0 && n == 3, "array16 of 3 with 3 bytes left");
	free(copy);
	r = reader(BYTES("\xde\x00\x02\x01\x02\x03"), &copy);
	CHECK(mp_read_map(&r, &n) < 0, "map16 of 2 pairs with 3 bytes left refused");
	free(copy);
	r = reader(BYTES("\x82\x01\x02\x03\x04"), &copy);
	CHECK(mp_read_map(&r, &n) == 0 && n == 2, "fixmap of 2 pairs");
	free(copy);
	r = reader(BYTES("\x90"), &copy);
	CHECK(mp_read_map(&r, &n) < 0 && mp_read_array(&r, &n) == 0 && n == 0, "empty array");
	free(copy);
}

static void
check_skip(const char *p, size_t len, unsigned depth, int want, const char *name)
{
	unsigned char *copy = NULL;
	struct sg_mp_reader r = reader(p, len, &copy);
	int rc = mp_skip(&r, depth);

	if (want == 0) {
		CHECK(rc == 0 && mp_remaining(&r) == 1 && *r.p == 0x7f, "skip %s", name);
	} else {
		CHECK(rc < 0 && mp_remaining(&r) == len, "skip refuses %s", name);
	}
	free(copy);
}

static void
test_skip(void)
{
	char deep[64];

	/* each valid case is followed by 0x7f, which must be the next byte */
	check_skip(BYTES("\xc0\x7f"), 4, 0, "nil");
	check_skip(BYTES("\xcb\x00\x00\x00\x00\x00\x00\x00\x00\x7f"), 4, 0, "float64");
	check_skip(BYTES("\xd4\x01\x02\x7f"), 4, 0, "fixext1");
	check_skip(BYTES("\xd8\x01"
	                 "0123456789abcdef\x7f"),
	           4, 0, "fixext16");
	check_skip(BYTES("\xc7\x02\x05xy\x7f"), 4, 0, "ext8");
	check_skip(BYTES("\xc5\x00\x02xy\x7f"), 4, 0, "bin16");
	check_skip(BYTES("\x82\xa1"
	                 "a\x92\x01\x81\xc0\xc0\xa1"
	                 "b\x90\x7f"),
	           4, 0, "nested");
	check_skip(BYTES("\x92\x91\x90\x80\x7f"), 2, 0, "depth 2 within limit 2");
	check_skip(BYTES("\x91\x91\x91\x01\x7f"), 2, -1, "depth 3 beyond limit 2");
	check_skip(BYTES("\x93\x01\x02"), 4, -1, "truncated array");
	check_skip(BYTES("\x92\x91\x01"), 4, -1, "truncated nesting");
	check_skip(BYTES("\x91\xc1"), 4, -1, "0xc1");
	check_skip(BYTES("\xc7\x03\x05xy"), 4, -1, "ext8 past the end");
	check_skip(BYTES("\xd8\x01"
	                 "0123"),
	           4, -1, "fixext16 past the end");
	memset(deep, 0x91, sizeof(deep));
	deep[sizeof(deep) - 2] = 0x01;
	deep[sizeof(deep) - 1] = 0x7f;
	check_skip(deep, sizeof(deep), 1000, -1, "62 levels (limit capped at 32)");
	check_skip(deep + 32, sizeof(deep) - 32, 1000, 0, "30 levels");
}

static void
test_peek(void)
{
	static const struct {
		const char *b;
		enum sg_mp_type t;
	} cases[] = {
	    {"\x05", SG_MP_INT},   {"\xf0", SG_MP_INT},     {"\xd3", SG_MP_INT},
	    {"\xcf", SG_MP_INT},   {"\x80", SG_MP_MAP},     {"\xdf", SG_MP_MAP},
	    {"\x9f", SG_MP_ARRAY}, {"\xdc", SG_MP_ARRAY},   {"\xa0", SG_MP_STR},
	    {"\xdb", SG_MP_STR},   {"\xc0", SG_MP_NIL},     {"\xc2", SG_MP_BOOL},
	    {"\xca", SG_MP_FLOAT}, {"\xc6", SG_MP_BIN},     {"\xd6", SG_MP_EXT},
	    {"\xc9", SG_MP_EXT},   {"\xc1", SG_MP_INVALID},
	};
	struct sg_mp_reader r;
	int bad = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mp_reader_init(&r, cases[i].b, 1);
		if (mp_peek(&r) != cases[i].t) {
			check_diag("peek 0x%02x", (unsigned char)cases[i].b[0]);
			bad++;
		}
	}
	CHECK_INT_EQ(bad, 0, "peek classifies every form");
	mp_reader_init(&r, "", 0);
	CHECK(mp_peek(&r) == SG_MP_END, "peek at the end");
}

int
main(void)
{
	test_ints();
	test_scalars();
	test_strings();
	test_counts();
	test_skip();
	test_peek();
	return check_done();
}
