/* event_encode / event_decode: exact round trip, hostile and truncated input. */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "check.h"
#include "error.h"
#include "event.h"
#include "event_codec.h"

static struct sg_prop props[] = {
    {"color", SG_VAL_STR, "midnight blue", 0, 0},
    {"size", SG_VAL_INT, NULL, -42, 0},
    {"weight_kg", SG_VAL_REAL, NULL, 0, -0.3125},
    {"organic", SG_VAL_BOOL, NULL, 1, 0},
    {"discontinued", SG_VAL_BOOL, NULL, 0, 0},
    {"big", SG_VAL_INT, NULL, INT64_MIN, 0},
    {"nothing", SG_VAL_STR, NULL, 0, 0},
    {"empty", SG_VAL_STR, "", 0, 0},
    {"pi", SG_VAL_REAL, NULL, 0, 3.141592653589793},
};

static const char *tags[] = {"promo", "", NULL, "clearance ünïcode"};

static struct sg_attr custom[] = {
    {"payments", "[{\"method\":\"card\",\"amount\":\"12.50\"}]"},
    {"loyalty", "{\"points\":120}"},
    {"note", NULL},
    {"", "\"empty key\""},
};

/* An event with every field set, including extreme and negative values. */
static void
fill_event(struct sg_event *ev, struct sg_line *lines)
{
	event_init(ev);
	strcpy(ev->id, "evt_01JSB2Q6T3X8V4M9N7K5P2R1CZ");
	ev->tenant = "acme-retail";
	ev->dialect = SG_DIALECT_NOMANINI;
	ev->kind = SG_KIND_REVERSAL;
	ev->external_id = "TX-000123";
	ev->upsert_key = "store:42|2026-04-25";
	ev->occurred_ms = 1777120320123;
	ev->occurred_offset = -570;
	ev->received_ms = 1777120321999;
	ev->store_id = "store_ABCDEFGHJKMNPQRSTVWX";
	ev->store_external_id = "S42";
	ev->device_id = "till-7";
	ev->merchant_id = "m-1";
	ev->profile_id = "prof_0123456789ABCDEFGHJK";
	ev->customer_external_id = "C-99";
	ev->customer_email = "a.b@example.com";
	ev->customer_phone = "+358401234567";
	strcpy(ev->currency, "EUR");
	ev->total = 0; /* present but zero: must survive */
	ev->discount = -150;
	ev->tax = INT64_MAX;
	ev->shipping = INT64_MIN;
	strcpy(ev->orig_currency, "SEK");
	ev->orig_total = 123456789;
	ev->exchange_rate = "0.0873210000";
	ev->state = "completed";
	ev->present = SG_HAS_TOTAL | SG_HAS_DISCOUNT | SG_HAS_TAX | SG_HAS_SHIPPING | SG_HAS_GEO |
	              SG_HAS_ORIG_TOTAL | SG_HAS_UNIT_PRICE; /* UNIT_PRICE: unused bit, kept */
	ev->lat_e7 = -337000000;
	ev->lon_e7 = -1800000000;
	ev->voucher_id = "V-1";
	ev->voucher_serial = "0007";
	ev->source = "Cegid POS v3 \"quoted\"";

	memset(lines, 0, 3 * sizeof(*lines));
	lines[0].external_id = "L1";
	lines[0].has_product = 1;
	lines[0].product.product_id = "prod_0123456789ABCDEFGHJK";
	lines[0].product.external_id = "SKU-1";
	lines[0].product.sku = "SKU-1";
	lines[0].product.ean = "6412345678901";
	lines[0].product.name = "Kahvi 500 g";
	lines[0].product.props = props;
	lines[0].product.nprops = sizeof(props) / sizeof(props[0]);
	lines[0].quantity_milli = -2500;
	lines[0].unit_price = 499;
	lines[0].total = -1248;
	lines[0].discount = 0;
	lines[0].tax = 300;
	lines[0].cost = -1;
	lines[0].present = SG_HAS_UNIT_PRICE | SG_HAS_DISCOUNT | SG_HAS_TAX | SG_HAS_COST;
	lines[0].tags = tags;
	lines[0].ntags = sizeof(tags) / sizeof(tags[0]);
	/* lines[1]: all zero, no product */
	lines[2].has_product = 1; /* product with no fields at all */
	lines[2].quantity_milli = 1000;
	lines[2].total = 65536;
	ev->lines = lines;
	ev->nlines = 3;
	ev->custom = custom;
	ev->ncustom = sizeof(custom) / sizeof(custom[0]);
}

static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Name of the first differing field of two products, or NULL. */
static const char *
product_diff(const struct sg_product_ref *a, const struct sg_product_ref *b)
{
	if (!str_same(a->product_id, b->product_id) || !str_same(a->external_id, b->external_id) ||
	    !str_same(a->sku, b->sku) || !str_same(a->ean, b->ean) || !str_same(a->name, b->name)) {
		return "product strings";
	}
	if (a->nprops != b->nprops) {
		return "nprops";
	}
	for (size_t i = 0; i < a->nprops; i++) {
		const struct sg_prop *x = &a->props[i], *y = &b->props[i];

		if (!str_same(x->key, y->key) || x->type != y->type) {
			return "prop key/type";
		}
		if ((x->type == SG_VAL_STR && !str_same(x->s, y->s)) ||
		    ((x->type == SG_VAL_INT || x->type == SG_VAL_BOOL) && x->i != y->i) ||
		    (x->type == SG_VAL_REAL && memcmp(&x->r, &y->r, sizeof(x->r)) != 0)) {
			return "prop value";
		}
	}
	return NULL;
}

static const char *
line_diff(const struct sg_line *a, const struct sg_line *b)
{
	if (!str_same(a->external_id, b->external_id)) {
		return "line external_id";
	}
	if (a->quantity_milli != b->quantity_milli || a->unit_price != b->unit_price ||
	    a->total != b->total || a->discount != b->discount || a->tax != b->tax ||
	    a->cost != b->cost || a->present != b->present) {
		return "line numbers";
	}
	if (a->has_product != b->has_product) {
		return "has_product";
	}
	if (a->has_product && product_diff(&a->product, &b->product)) {
		return product_diff(&a->product, &b->product);
	}
	if (a->ntags != b->ntags) {
		return "ntags";
	}
	for (size_t i = 0; i < a->ntags; i++) {
		if (!str_same(a->tags[i], b->tags[i])) {
			return "tag";
		}
	}
	return NULL;
}

static const char *
event_strings_diff(const struct sg_event *a, const struct sg_event *b)
{
	const char *const *pa[] = {
	    &a->tenant,         &a->external_id,       &a->upsert_key,
	    &a->store_id,       &a->store_external_id, &a->device_id,
	    &a->merchant_id,    &a->profile_id,        &a->customer_external_id,
	    &a->customer_email, &a->customer_phone,    &a->exchange_rate,
	    &a->state,          &a->voucher_id,        &a->voucher_serial,
	    &a->source};
	const char *const *pb[] = {
	    &b->tenant,         &b->external_id,       &b->upsert_key,
	    &b->store_id,       &b->store_external_id, &b->device_id,
	    &b->merchant_id,    &b->profile_id,        &b->customer_external_id,
	    &b->customer_email, &b->customer_phone,    &b->exchange_rate,
	    &b->state,          &b->voucher_id,        &b->voucher_serial,
	    &b->source};

	for (size_t i = 0; i < sizeof(pa) / sizeof(pa[0]); i++) {
		if (!str_same(*pa[i], *pb[i])) {
			return "event string";
		}
	}
	if (strcmp(a->id, b->id) || strcmp(a->currency, b->currency) ||
	    strcmp(a->orig_currency, b->orig_currency)) {
		return "event char array";
	}
	return NULL;
}

/* Name of the first differing field of two events, or NULL when equal. */
static const char *
event_diff(const struct sg_event *a, const struct sg_event *b)
{
	const char *d = event_strings_diff(a, b);

	if (d) {
		return d;
	}
	if (a->version != b->version || a->dialect != b->dialect || a->kind != b->kind) {
		return "version/dialect/kind";
	}
	if (a->occurred_ms != b->occurred_ms || a->occurred_offset != b->occurred_offset ||
	    a->received_ms != b->received_ms) {
		return "times";
	}
	if (a->total != b->total || a->discount != b->discount || a->tax != b->tax ||
	    a->shipping != b->shipping || a->orig_total != b->orig_total ||
	    a->present != b->present || a->lat_e7 != b->lat_e7 || a->lon_e7 != b->lon_e7) {
		return "event numbers";
	}
	if (a->nlines != b->nlines || a->ncustom != b->ncustom) {
		return "counts";
	}
	for (size_t i = 0; i < a->nlines; i++) {
		if ((d = line_diff(&a->lines[i], &b->lines[i])) != NULL) {
			return d;
		}
	}
	for (size_t i = 0; i < a->ncustom; i++) {
		if (!str_same(a->custom[i].key, b->custom[i].key) ||
		    !str_same(a->custom[i].json, b->custom[i].json)) {
			return "custom";
		}
	}
	return NULL;
}

/* Encodes ev, decodes it back, compares, and re-encodes to compare bytes. */
static void
check_round_trip(const struct sg_event *ev, const char *name)
{
	struct sg_buf b1 = {0}, b2 = {0};
	struct sg_arena a;
	struct sg_event back;
	struct sg_error err;
	const char *diff = NULL;
	int rc = 0;

	arena_init(&a, 0);
	error_clear(&err);
	CHECK_INT_EQ(event_encode(ev, &b1), 0, "%s: encode", name);
	rc = event_decode(b1.data, b1.len, &a, &back, &err);
	if (!CHECK_INT_EQ(rc, 0, "%s: decode", name)) {
		check_diag("%s", err.message);
		goto done;
	}
	diff = event_diff(ev, &back);
	CHECK(diff == NULL, "%s: decoded event equals the original (%s)", name,
	      diff ? diff : "same");
	CHECK_INT_EQ(event_encode(&back, &b2), 0, "%s: re-encode", name);
	CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
	      "%s: re-encoding is byte-identical", name);
done:
	buf_finish(&b1);
	buf_finish(&b2);
	arena_finish(&a);
}

static int
decode_rc(const void *p, size_t len, struct sg_error *err)
{
	struct sg_arena a;
	struct sg_event ev;
	int rc = 0;

	arena_init(&a, 256);
	error_clear(err);
	rc = event_decode(p, len, &a, &ev, err);
	arena_finish(&a);
	return rc;
}

static void
test_round_trips(void)
{
	struct sg_event ev;
	struct sg_line lines[3];
	struct sg_buf b = {0};

	fill_event(&ev, lines);
	check_round_trip(&ev, "full event");

	event_init(&ev);
	check_round_trip(&ev, "empty event");
	CHECK_INT_EQ(event_encode(&ev, &b), 0, "encode empty event");
	CHECK(b.len == 4 && memcmp(b.data, "\x81\xa1v\x01", 4) == 0,
	      "empty event is {\"v\":1} (%zu bytes)", b.len);
	buf_finish(&b);

	event_init(&ev);
	ev.present = SG_HAS_GEO;
	ev.occurred_ms = -1;
	ev.occurred_offset = INT32_MIN;
	strcpy(ev.currency, "JPY");
	check_round_trip(&ev, "geo at 0,0 and negative time");
}

static void
test_append_and_offset(void)
{
	struct sg_event ev, back;
	struct sg_line lines[3];
	struct sg_buf b = {0};
	struct sg_arena a;
	struct sg_error err;

	fill_event(&ev, lines);
	buf_append(&b, "prefix", 6);
	CHECK_INT_EQ(event_encode(&ev, &b), 0, "encode after existing bytes");
	CHECK(memcmp(b.data, "prefix", 6) == 0, "existing bytes kept");
	CHECK(b.data[b.len] == '\0', "buffer stays NUL-terminated");
	arena_init(&a, 0);
	CHECK_INT_EQ(event_decode(b.data + 6, b.len - 6, &a, &back, &err), 0,
	             "decode from the offset");
	CHECK(event_diff(&ev, &back) == NULL, "same event");
	CHECK(back.lines[0].product.props[0].s != props[0].s, "strings are copied, not aliased");
	arena_finish(&a);
	buf_finish(&b);
}

static void
test_every_prefix(void)
{
	struct sg_event ev;
	struct sg_line lines[3];
	struct sg_buf b = {0};
	struct sg_error err;
	size_t bad = 0;

	fill_event(&ev, lines);
	event_encode(&ev, &b);
	for (size_t len = 0; len < b.len; len++) {
		/* a copy of exactly len bytes so ASan sees any overread */
		char *p = malloc(len ? len : 1);

		memcpy(p, b.data, len);
		if (decode_rc(p, len, &err) != SG_EINVAL || err.message[0] == '\0') {
			bad++;
		}
		free(p);
	}
	CHECK_INT_EQ(bad, 0, "every one of the %zu proper prefixes is rejected", b.len);
	CHECK_INT_EQ(decode_rc(b.data, b.len, &err), 0, "the whole encoding is accepted");
	buf_finish(&b);
}

static void
test_mutations(void)
{
	static const unsigned char evil[] = {0x00, 0xff, 0xdd, 0xdf, 0xdb, 0xc1, 0x7f, 0xcf, 0xd3};
	struct sg_event ev;
	struct sg_line lines[3];
	struct sg_buf b = {0};
	struct sg_error err;
	size_t ok = 0, rejected = 0, other = 0;

	fill_event(&ev, lines);
	event_encode(&ev, &b);
	for (size_t i = 0; i < b.len; i++) {
		for (size_t k = 0; k < sizeof(evil); k++) {
			unsigned char *p = malloc(b.len);
			int rc = 0;

			memcpy(p, b.data, b.len);
			p[i] = evil[k];
			rc = decode_rc(p, b.len, &err);
			ok += rc == 0;
			rejected += rc == SG_EINVAL;
			other += rc != 0 && rc != SG_EINVAL;
			free(p);
		}
	}
	CHECK_INT_EQ(other, 0, "mutated encodings: %zu decode, %zu rejected, none crash", ok,
	             rejected);
	buf_finish(&b);
}

/* clang-format off */
#define HOSTILE(name, lit) {name, lit, sizeof(lit) - 1}
/* clang-format on */

static void
test_hostile_counts(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t len;
	} cases[] = {
	    HOSTILE("array32 of 4G at top", "\xdd\xff\x00\x00\x00"),
	    HOSTILE("map32 of 4G at top", "\xdf\xff\xff\xff\xff"),
	    HOSTILE("lines array32 of 4G", "\x82\xa1v\x01\xa2li\xdd\xff\xff\xff\xff\x80"),
	    HOSTILE("lines count 3, 2 bytes left", "\x82\xa1v\x01\xa2li\x93\x80\x80"),
	    HOSTILE("custom map32 of 4G", "\x82\xa1v\x01\xa2"
	                                  "cf\xdf\xff\xff\xff\xff"),
	    HOSTILE("tenant str32 of 4G", "\x82\xa1v\x01\xa2tn\xdb\xff\xff\xff\xff"
	                                  "ab"),
	    HOSTILE("unknown key bin32 of 4G", "\x82\xa1v\x01\xa1z\xc6\xff\xff\xff\xff"),
	    HOSTILE("unknown key ext32 of 4G", "\x82\xa1v\x01\xa1z\xc9\xff\xff\xff\xff\x01"),
	    HOSTILE("props map16 of 65535",
	            "\x82\xa1v\x01\xa2li\x91\x81\xa1p\x81\xa2pp\xde\xff\xff"),
	    HOSTILE("tags array16 of 65535", "\x82\xa1v\x01\xa2li\x91\x81\xa2tg\xdc\xff\xff\xa0"),
	    HOSTILE("reserved byte 0xc1", "\x82\xa1v\x01\xa1z\xc1"),
	};
	struct sg_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT_EQ(decode_rc(cases[i].bytes, cases[i].len, &err), SG_EINVAL,
		             "hostile: %s", cases[i].name);
	}
}

/* Packs a map into sb with the packer; helpers for hand-made encodings. */
static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void
test_unknown_keys(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct sg_arena a;
	struct sg_event ev;
	struct sg_error err;
	int rc = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	pk_str(&pk, "zz");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "a");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_double(&pk, 2.5);
	msgpack_pack_bin(&pk, 3);
	msgpack_pack_bin_body(&pk, "xyz", 3);
	pk_str(&pk, "b");
	msgpack_pack_nil(&pk);
	pk_str(&pk, "v");
	msgpack_pack_int(&pk, 1);
	pk_str(&pk, "tn");
	pk_str(&pk, "t1");
	pk_str(&pk, "future_ext");
	msgpack_pack_ext(&pk, 4, 7);
	msgpack_pack_ext_body(&pk, "abcd", 4);
	pk_str(&pk, "ta");
	msgpack_pack_uint64(&pk, 1234); /* a wider encoding than needed */
	pk_str(&pk, "li");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "new_line_field");
	msgpack_pack_true(&pk);
	pk_str(&pk, "q");
	msgpack_pack_int8(&pk, -3);

	arena_init(&a, 0);
	error_clear(&err);
	rc = event_decode(sb.data, sb.size, &a, &ev, &err);
	CHECK_INT_EQ(rc, 0, "unknown keys at every level are skipped");
	if (rc != 0) {
		check_diag("%s", err.message);
	}
	CHECK_STR_EQ(ev.tenant, "t1", "known key after an unknown one");
	CHECK_INT_EQ(ev.total, 1234, "uint64 encoding of a small total");
	CHECK_INT_EQ(ev.present, SG_HAS_TOTAL, "presence bit from the key alone");
	CHECK(ev.nlines == 1 && ev.lines[0].quantity_milli == -3, "line read past unknown key");
	arena_finish(&a);
	msgpack_sbuffer_destroy(&sb);
}

/* Decodes {"v":1, key: <value packed by fn>} and returns the result. */
static int
decode_with(const char *key, void (*fn)(msgpack_packer *), int with_version, struct sg_error *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, with_version ? 2 : 1);
	if (with_version) {
		pk_str(&pk, "v");
		msgpack_pack_int(&pk, 1);
	}
	pk_str(&pk, key);
	fn(&pk);
	rc = decode_rc(sb.data, sb.size, err);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
v_int5(msgpack_packer *pk)
{
	msgpack_pack_int(pk, 5);
}

static void
v_int2(msgpack_packer *pk)
{
	msgpack_pack_int(pk, 2);
}

static void
v_int9(msgpack_packer *pk)
{
	msgpack_pack_int(pk, 9);
}

static void
v_str_nul(msgpack_packer *pk)
{
	msgpack_pack_str(pk, 3);
	msgpack_pack_str_body(pk, "a\0b", 3);
}

static void
v_str_long(msgpack_packer *pk)
{
	pk_str(pk, "evt_0123456789012345678901234567890123456789");
}

static void
v_str_euro(msgpack_packer *pk)
{
	pk_str(pk, "EURO");
}

static void
v_u64_max(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, UINT64_MAX);
}

static void
v_big_offset(msgpack_packer *pk)
{
	msgpack_pack_int64(pk, (int64_t)INT32_MAX + 1);
}

static void
v_str(msgpack_packer *pk)
{
	pk_str(pk, "x");
}

static void
v_deep(msgpack_packer *pk)
{
	for (int i = 0; i < 40; i++) {
		msgpack_pack_array(pk, 1);
	}
	msgpack_pack_nil(pk);
}

static void
v_prop_array(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	pk_str(pk, "p");
	msgpack_pack_map(pk, 1);
	pk_str(pk, "pp");
	msgpack_pack_map(pk, 1);
	pk_str(pk, "k");
	msgpack_pack_array(pk, 0);
}

static void
test_wrong_types(void)
{
	static const struct {
		const char *key;
		void (*fn)(msgpack_packer *);
		const char *name;
	} cases[] = {
	    {"tn", v_int5, "tenant as an integer"},
	    {"v", v_int2, "unsupported version"},
	    {"k", v_int9, "unknown kind"},
	    {"d", v_int9, "unknown dialect"},
	    {"x", v_str_nul, "string holding a NUL"},
	    {"id", v_str_long, "id longer than its array"},
	    {"cu", v_str_euro, "4-letter currency"},
	    {"ta", v_u64_max, "uint64 above INT64_MAX"},
	    {"oo", v_big_offset, "offset beyond int32"},
	    {"ot", v_str, "time as a string"},
	    {"li", v_str, "lines as a string"},
	    {"zz", v_deep, "unknown value nested too deep"},
	    {"li", v_prop_array, "array as a property value"},
	};
	struct sg_error err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode_with(cases[i].key, cases[i].fn, 1, &err);

		CHECK(rc == SG_EINVAL && err.code == SG_EINVAL && err.message[0], "rejects %s (%s)",
		      cases[i].name, err.message);
	}
	CHECK_INT_EQ(decode_with("tn", v_str, 0, &err), SG_EINVAL, "rejects a missing version");
	CHECK(strstr(err.message, "version") != NULL, "message names the version");
	decode_with("tn", v_int5, 1, &err);
	CHECK(strstr(err.message, "\"tn\"") != NULL, "message names the key: %s", err.message);
	CHECK_INT_EQ(decode_rc("\x81\xa1v\x01\xc0", 5, &err), SG_EINVAL, "rejects trailing bytes");
	CHECK_INT_EQ(decode_rc("\x81\x01\x01", 3, &err), SG_EINVAL, "rejects an integer key");
	CHECK_INT_EQ(decode_rc("\x91\x01", 2, &err), SG_EINVAL, "rejects a top-level array");
}

static void
test_float32_prop(void)
{
	/* {"v":1,"li":[{"p":{"pp":{"f":float32 1.5}}}]} */
	static const char bytes[] = "\x82\xa1v\x01\xa2li\x91\x81\xa1p\x81\xa2pp\x81\xa1"
	                            "f\xca\x3f\xc0\x00\x00";
	struct sg_arena a;
	struct sg_event ev;
	struct sg_error err;

	arena_init(&a, 0);
	CHECK_INT_EQ(event_decode(bytes, sizeof(bytes) - 1, &a, &ev, &err), 0,
	             "float32 property accepted");
	CHECK(ev.nlines == 1 && ev.lines[0].has_product && ev.lines[0].product.nprops == 1 &&
	          ev.lines[0].product.props[0].type == SG_VAL_REAL &&
	          ev.lines[0].product.props[0].r == 1.5,
	      "float32 property read as 1.5");
	arena_finish(&a);
}

int
main(void)
{
	test_round_trips();
	test_append_and_offset();
	test_every_prefix();
	test_mutations();
	test_hostile_counts();
	test_unknown_keys();
	test_wrong_types();
	test_float32_prop();
	return check_done();
}
