/*
 * msgpack wire format of a canonical event; see event_codec.h.
 *
 * The plain scalar fields of the event, a line and a product are described
 * once, in the tables below, and both the encoder and the decoder walk the
 * same tables, so a field cannot be written under one key and read under
 * another. Composite fields (lines, product, props, tags, custom) and the
 * enums are coded by hand next to the tables.
 *
 * Wire map of an event (absent, NULL and zero-presence fields are omitted):
 *   v version (always)  d dialect  k kind  li [line]  cf {key: JSON text}
 *   plus event_fields[]; a line: line_fields[] + p {product} + tg [str];
 *   a product: product_fields[] + pp {key: str|int|float|bool|nil}.
 * A NULL string inside an array or map (tag, custom JSON, prop string) is
 * written as nil; a NULL map key (prop, custom) is written as "".
 */
#include "event_codec.h"

#include <limits.h>
#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "error.h"
#include "event.h"
#include "mp_reader.h"

#define SKIP_DEPTH 16 /* deepest unknown value skipped */

enum field_type {
	FT_STR,   /* const char *; omitted when NULL */
	FT_CHARS, /* char[size], NUL-terminated; omitted when "" */
	FT_I64,   /* int64_t; omitted when its presence bit is clear, or when 0 without one */
	FT_I32,   /* int32_t; omitted when 0 */
	FT_BITS,  /* unsigned presence bits; omitted when 0 */
};

struct field {
	const char *key;      /* wire key */
	enum field_type type; /* C type at off */
	size_t off;           /* offset of the member */
	size_t size;          /* size of the member (FT_CHARS capacity with the NUL) */
	unsigned bit;         /* FT_I64: enum sg_present bit, or 0 */
};

/* The scalar fields of one struct, and where its presence bits live. */
struct schema {
	const struct field *fields; /* table */
	size_t n;                   /* entries in fields */
	int has_present;            /* the struct has presence bits at present_off */
	size_t present_off;         /* offset of `unsigned present` */
};

/* One field per line reads best as a table. */
/* clang-format off */
#define FIELD(k, t, st, m, b) {k, t, offsetof(st, m), sizeof(((st *)0)->m), b}
#define EV(k, t, m, b) FIELD(k, t, struct sg_event, m, b)
#define LN(k, t, m, b) FIELD(k, t, struct sg_line, m, b)
#define PR(k, m) FIELD(k, FT_STR, struct sg_product_ref, m, 0)
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct field event_fields[] = {
	EV("id", FT_CHARS, id, 0),
	EV("tn", FT_STR, tenant, 0),
	EV("x", FT_STR, external_id, 0),
	EV("uk", FT_STR, upsert_key, 0),
	EV("ot", FT_I64, occurred_ms, 0),
	EV("oo", FT_I32, occurred_offset, 0),
	EV("rt", FT_I64, received_ms, 0),
	EV("st", FT_STR, store_id, 0),
	EV("sx", FT_STR, store_external_id, 0),
	EV("dv", FT_STR, device_id, 0),
	EV("mc", FT_STR, merchant_id, 0),
	EV("pi", FT_STR, profile_id, 0),
	EV("cx", FT_STR, customer_external_id, 0),
	EV("ce", FT_STR, customer_email, 0),
	EV("cp", FT_STR, customer_phone, 0),
	EV("cu", FT_CHARS, currency, 0),
	EV("ta", FT_I64, total, SG_HAS_TOTAL),
	EV("di", FT_I64, discount, SG_HAS_DISCOUNT),
	EV("tx", FT_I64, tax, SG_HAS_TAX),
	EV("sh", FT_I64, shipping, SG_HAS_SHIPPING),
	EV("oc", FT_CHARS, orig_currency, 0),
	EV("oa", FT_I64, orig_total, SG_HAS_ORIG_TOTAL),
	EV("xr", FT_STR, exchange_rate, 0),
	EV("s", FT_STR, state, 0),
	EV("pr", FT_BITS, present, 0),
	EV("la", FT_I64, lat_e7, SG_HAS_GEO),
	EV("lo", FT_I64, lon_e7, SG_HAS_GEO),
	EV("vi", FT_STR, voucher_id, 0),
	EV("vs", FT_STR, voucher_serial, 0),
	EV("so", FT_STR, source, 0),
};

static const struct field line_fields[] = {
	LN("x", FT_STR, external_id, 0),
	LN("q", FT_I64, quantity_milli, 0),
	LN("up", FT_I64, unit_price, SG_HAS_UNIT_PRICE),
	LN("t", FT_I64, total, 0),
	LN("di", FT_I64, discount, SG_HAS_DISCOUNT),
	LN("tx", FT_I64, tax, SG_HAS_TAX),
	LN("co", FT_I64, cost, SG_HAS_COST),
	LN("pr", FT_BITS, present, 0),
};

static const struct field product_fields[] = {
	PR("pi", product_id), PR("x", external_id), PR("sku", sku), PR("ean", ean), PR("n", name),
};

static const struct schema event_schema = {event_fields, NELEM(event_fields), 1,
	                                       offsetof(struct sg_event, present)};
static const struct schema line_schema = {line_fields, NELEM(line_fields), 1,
	                                      offsetof(struct sg_line, present)};
static const struct schema product_schema = {product_fields, NELEM(product_fields), 0, 0};
/* clang-format on */

/* ------------------------------------------------------------------ */
/* Encoding                                                             */
/* ------------------------------------------------------------------ */

/* Where the packer writes: the caller's buffer, with a sticky failure flag. */
struct enc_sink {
	struct sg_buf *out; /* appended to */
	int failed;         /* an append failed or a count did not fit */
};

/*
 * One map being written. A map body runs twice: first counting (nothing is
 * written, entries are counted for the header), then writing.
 */
struct enc {
	msgpack_packer *pk;    /* writes into sink */
	struct enc_sink *sink; /* for failures found before packing */
	int counting;          /* count entries only */
	uint32_t n;            /* entries counted */
};

typedef void (*enc_body_fn)(struct enc *e, const void *obj);

static int
sink_write(void *data, const char *p, size_t len)
{
	struct enc_sink *s = data;

	if (buf_append(s->out, p, len) < 0) {
		s->failed = 1;
		return -1;
	}
	return 0;
}

static void
enc_str(struct enc *e, const char *s, size_t len)
{
	if (len > UINT32_MAX) {
		e->sink->failed = 1;
		return;
	}
	msgpack_pack_str(e->pk, len);
	msgpack_pack_str_body(e->pk, s, len);
}

/* A NULL string becomes nil. */
static void
enc_str_or_nil(struct enc *e, const char *s)
{
	if (s) {
		enc_str(e, s, strlen(s));
	} else {
		msgpack_pack_nil(e->pk);
	}
}

/* Counts or writes one key. Returns 1 when the caller must write the value. */
static int
enc_key(struct enc *e, const char *key)
{
	if (e->counting) {
		e->n++;
		return 0;
	}
	enc_str(e, key ? key : "", key ? strlen(key) : 0);
	return 1;
}

/* Writes a nested map: counts its entries with body, then writes them. */
static void
enc_map(struct enc *e, enc_body_fn body, const void *obj)
{
	struct enc sub = {e->pk, e->sink, 1, 0};

	body(&sub, obj);
	msgpack_pack_map(e->pk, sub.n);
	sub.counting = 0;
	body(&sub, obj);
}

static int
enc_count_ok(struct enc *e, size_t n)
{
	if (n > UINT32_MAX) {
		e->sink->failed = 1;
		return 0;
	}
	return 1;
}

/* Writes one table field when it is set. */
static void
enc_field(struct enc *e, const struct field *f, const char *at, unsigned present)
{
	const char *s = NULL;
	int64_t i64 = 0;
	int32_t i32 = 0;
	unsigned bits = 0;

	switch (f->type) {
	case FT_STR:
		memcpy(&s, at, sizeof(s));
		if (s && enc_key(e, f->key)) {
			enc_str(e, s, strlen(s));
		}
		break;
	case FT_CHARS:
		if (strnlen(at, f->size - 1) > 0 && enc_key(e, f->key)) {
			enc_str(e, at, strnlen(at, f->size - 1));
		}
		break;
	case FT_I64:
		memcpy(&i64, at, sizeof(i64));
		if ((f->bit ? (present & f->bit) != 0 : i64 != 0) && enc_key(e, f->key)) {
			msgpack_pack_int64(e->pk, i64);
		}
		break;
	case FT_I32:
		memcpy(&i32, at, sizeof(i32));
		if (i32 != 0 && enc_key(e, f->key)) {
			msgpack_pack_int32(e->pk, i32);
		}
		break;
	case FT_BITS:
		memcpy(&bits, at, sizeof(bits));
		if (bits != 0 && enc_key(e, f->key)) {
			msgpack_pack_unsigned_int(e->pk, bits);
		}
		break;
	}
}

static void
enc_fields(struct enc *e, const struct schema *sc, const void *obj)
{
	const char *base = obj;
	unsigned present = 0;

	if (sc->has_present) {
		memcpy(&present, base + sc->present_off, sizeof(present));
	}
	for (size_t i = 0; i < sc->n; i++) {
		enc_field(e, &sc->fields[i], base + sc->fields[i].off, present);
	}
}

static void
enc_props_body(struct enc *e, const void *obj)
{
	const struct sg_product_ref *p = obj;

	for (size_t i = 0; i < p->nprops; i++) {
		const struct sg_prop *pp = &p->props[i];

		if (!enc_key(e, pp->key)) {
			continue;
		}
		switch (pp->type) {
		case SG_VAL_STR:
			enc_str_or_nil(e, pp->s);
			break;
		case SG_VAL_INT:
			msgpack_pack_int64(e->pk, pp->i);
			break;
		case SG_VAL_REAL:
			msgpack_pack_double(e->pk, pp->r);
			break;
		case SG_VAL_BOOL:
			if (pp->i) {
				msgpack_pack_true(e->pk);
			} else {
				msgpack_pack_false(e->pk);
			}
			break;
		default:
			msgpack_pack_nil(e->pk); /* not a type: read back as a NULL string */
			break;
		}
	}
}

static void
enc_product_body(struct enc *e, const void *obj)
{
	const struct sg_product_ref *p = obj;

	enc_fields(e, &product_schema, p);
	if (p->nprops && enc_key(e, "pp") && enc_count_ok(e, p->nprops)) {
		enc_map(e, enc_props_body, p);
	}
}

static void
enc_tags(struct enc *e, const struct sg_line *l)
{
	if (!enc_count_ok(e, l->ntags)) {
		return;
	}
	msgpack_pack_array(e->pk, l->ntags);
	for (size_t i = 0; i < l->ntags; i++) {
		enc_str_or_nil(e, l->tags[i]);
	}
}

static void
enc_line_body(struct enc *e, const void *obj)
{
	const struct sg_line *l = obj;

	enc_fields(e, &line_schema, l);
	if (l->has_product && enc_key(e, "p")) {
		enc_map(e, enc_product_body, &l->product);
	}
	if (l->ntags && enc_key(e, "tg")) {
		enc_tags(e, l);
	}
}

static void
enc_lines(struct enc *e, const struct sg_event *ev)
{
	if (!enc_count_ok(e, ev->nlines)) {
		return;
	}
	msgpack_pack_array(e->pk, ev->nlines);
	for (size_t i = 0; i < ev->nlines; i++) {
		enc_map(e, enc_line_body, &ev->lines[i]);
	}
}

static void
enc_custom_body(struct enc *e, const void *obj)
{
	const struct sg_event *ev = obj;

	for (size_t i = 0; i < ev->ncustom; i++) {
		if (enc_key(e, ev->custom[i].key)) {
			enc_str_or_nil(e, ev->custom[i].json);
		}
	}
}

static void
enc_event_body(struct enc *e, const void *obj)
{
	const struct sg_event *ev = obj;

	if (enc_key(e, "v")) {
		msgpack_pack_int(e->pk, SG_EVENT_VERSION);
	}
	if (ev->dialect && enc_key(e, "d")) {
		msgpack_pack_int(e->pk, (int)ev->dialect);
	}
	if (ev->kind && enc_key(e, "k")) {
		msgpack_pack_int(e->pk, (int)ev->kind);
	}
	enc_fields(e, &event_schema, ev);
	if (ev->nlines && enc_key(e, "li")) {
		enc_lines(e, ev);
	}
	if (ev->ncustom && enc_key(e, "cf") && enc_count_ok(e, ev->ncustom)) {
		enc_map(e, enc_custom_body, ev);
	}
}

int
event_encode(const struct sg_event *ev, struct sg_buf *out)
{
	struct enc_sink sink = {out, 0};
	msgpack_packer pk;
	struct enc top;
	size_t start = out->len;

	msgpack_packer_init(&pk, &sink, sink_write);
	top.pk = &pk;
	top.sink = &sink;
	top.counting = 0;
	top.n = 0;
	enc_map(&top, enc_event_body, ev);
	if (sink.failed) {
		out->len = start; /* never leave half an event behind */
		if (out->data) {
			out->data[start] = '\0';
		}
		return SG_ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                             */
/* ------------------------------------------------------------------ */

struct dec {
	struct sg_mp_reader r;      /* cursor over the input */
	const unsigned char *start; /* first input byte, for offsets in messages */
	struct sg_arena *a;         /* owns every decoded string and array */
	struct sg_error *err;       /* filled on failure */
	const char *key;            /* key being decoded (not NUL-terminated) */
	size_t klen;                /* bytes of key */
	size_t vstart;              /* input offset of the value of key */
};

/* Called once per key of a map; the value is the next thing in d->r. */
typedef int (*dec_key_fn)(struct dec *d, const char *k, size_t klen, void *obj);

static int
dec_fail(struct dec *d, const char *what)
{
	int klen = d->klen > 40 ? 40 : (int)d->klen;

	if (!d->key) {
		return error_set(d->err, SG_EINVAL, "event: %s (byte %zu)", what,
		                 (size_t)(d->r.p - d->start));
	}
	return error_set(d->err, SG_EINVAL, "event: %s at \"%.*s\" (byte %zu)", what, klen, d->key,
	                 d->vstart);
}

static int
dec_nomem(struct dec *d)
{
	return error_set(d->err, SG_ENOMEM, "event: out of memory");
}

/* Notes the key whose value comes next, for error messages. */
static void
dec_at_key(struct dec *d, const char *k, size_t klen)
{
	d->key = k;
	d->klen = klen;
	d->vstart = (size_t)(d->r.p - d->start);
}

static int
key_is(const char *k, size_t klen, const char *name)
{
	return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/* Allocates a zeroed array of n elements of size sz in the arena. */
static void *
dec_array_alloc(struct dec *d, size_t n, size_t sz)
{
	void *p = NULL;

	if (n > SIZE_MAX / sz) {
		return NULL;
	}
	p = arena_alloc(d->a, n * sz);
	if (p) {
		memset(p, 0, n * sz);
	}
	return p;
}

/* Reads a str into a NUL-terminated arena copy; embedded NULs are refused. */
static int
dec_str(struct dec *d, const char **out)
{
	const char *s = NULL;
	size_t len = 0;

	if (mp_read_str(&d->r, &s, &len) < 0) {
		return dec_fail(d, "expected a string");
	}
	if (memchr(s, '\0', len)) {
		return dec_fail(d, "NUL inside a string");
	}
	*out = arena_strndup(d->a, s, len);
	return *out ? 0 : dec_nomem(d);
}

/* Reads a str, or nil as NULL. */
static int
dec_str_or_nil(struct dec *d, const char **out)
{
	if (mp_peek(&d->r) == SG_MP_NIL) {
		mp_read_nil(&d->r);
		*out = NULL;
		return 0;
	}
	return dec_str(d, out);
}

static int
dec_int(struct dec *d, int64_t *v, int64_t min, int64_t max)
{
	if (mp_read_int(&d->r, v) < 0) {
		return dec_fail(d, "expected an integer");
	}
	if (*v < min || *v > max) {
		return dec_fail(d, "integer out of range");
	}
	return 0;
}

/* Reads a str into a char[size] member. */
static int
dec_chars(struct dec *d, char *dst, size_t size)
{
	const char *s = NULL;
	size_t len = 0;

	if (mp_read_str(&d->r, &s, &len) < 0) {
		return dec_fail(d, "expected a string");
	}
	if (len >= size || memchr(s, '\0', len)) {
		return dec_fail(d, "string too long or holding a NUL");
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* Decodes the value of one table field into the struct at base. */
static int
dec_field(struct dec *d, const struct schema *sc, const struct field *f, char *base)
{
	char *at = base + f->off;
	const char *s = NULL;
	int64_t v = 0;
	unsigned present = 0, bits = 0;
	int32_t i32 = 0;
	int rc = 0;

	switch (f->type) {
	case FT_STR:
		rc = dec_str(d, &s);
		memcpy(at, &s, sizeof(s));
		return rc;
	case FT_CHARS:
		return dec_chars(d, at, f->size);
	case FT_I64:
		rc = dec_int(d, &v, INT64_MIN, INT64_MAX);
		memcpy(at, &v, sizeof(v));
		bits = f->bit;
		break;
	case FT_I32:
		rc = dec_int(d, &v, INT32_MIN, INT32_MAX);
		i32 = (int32_t)v;
		memcpy(at, &i32, sizeof(i32));
		break;
	case FT_BITS:
		rc = dec_int(d, &v, 0, UINT_MAX);
		bits = (unsigned)v;
		break;
	}
	if (rc == 0 && bits && sc->has_present) {
		/* OR, not assign: "pr" and the keys it covers may come in any order */
		memcpy(&present, base + sc->present_off, sizeof(present));
		present |= bits;
		memcpy(base + sc->present_off, &present, sizeof(present));
	}
	return rc;
}

/*
 * Decodes the value of key when sc has it; otherwise skips the value
 * (unknown keys are how newer writers stay readable by older readers).
 */
static int
dec_field_or_skip(struct dec *d, const struct schema *sc, const char *k, size_t klen, void *obj)
{
	for (size_t i = 0; i < sc->n; i++) {
		if (key_is(k, klen, sc->fields[i].key)) {
			return dec_field(d, sc, &sc->fields[i], obj);
		}
	}
	if (mp_skip(&d->r, SKIP_DEPTH) < 0) {
		return dec_fail(d, "truncated or malformed value");
	}
	return 0;
}

/* Reads a map header and calls on_key for each pair. */
static int
dec_map(struct dec *d, dec_key_fn on_key, void *obj)
{
	uint32_t n = 0;
	int rc = 0;

	if (mp_read_map(&d->r, &n) < 0) {
		return dec_fail(d, "expected a map");
	}
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		const char *k = NULL;
		size_t klen = 0;

		if (mp_read_str(&d->r, &k, &klen) < 0) {
			return dec_fail(d, "expected a string key");
		}
		dec_at_key(d, k, klen);
		rc = on_key(d, k, klen, obj);
	}
	return rc;
}

/*
 * Reads the map or array header of a collection and gives *items n zeroed
 * elements. The reader has checked n against the bytes left (each element
 * takes at least one byte), so a forged count fails before anything is
 * allocated; what is allocated is at most len * sz, never 4G * sz.
 */
static int
dec_collection(struct dec *d, uint32_t *n, void **items, size_t sz, int is_map)
{
	int rc = is_map ? mp_read_map(&d->r, n) : mp_read_array(&d->r, n);

	if (rc < 0) {
		return dec_fail(d, is_map ? "expected a map" : "expected an array");
	}
	*items = NULL;
	if (*n == 0) {
		return 0;
	}
	*items = dec_array_alloc(d, *n, sz);
	return *items ? 0 : dec_nomem(d);
}

/* Reads one property value, typed by its msgpack type. */
static int
dec_prop_value(struct dec *d, struct sg_prop *p)
{
	int b = 0;

	switch (mp_peek(&d->r)) {
	case SG_MP_STR:
	case SG_MP_NIL:
		p->type = SG_VAL_STR;
		return dec_str_or_nil(d, &p->s);
	case SG_MP_INT:
		p->type = SG_VAL_INT;
		return dec_int(d, &p->i, INT64_MIN, INT64_MAX);
	case SG_MP_FLOAT:
		p->type = SG_VAL_REAL;
		return mp_read_float(&d->r, &p->r) < 0 ? dec_fail(d, "truncated float") : 0;
	case SG_MP_BOOL:
		p->type = SG_VAL_BOOL;
		if (mp_read_bool(&d->r, &b) < 0) {
			return dec_fail(d, "truncated bool");
		}
		p->i = b;
		return 0;
	default:
		return dec_fail(d, "property is not a scalar");
	}
}

static int
dec_props(struct dec *d, struct sg_product_ref *prod)
{
	uint32_t n = 0;
	void *items = NULL;
	int rc = dec_collection(d, &n, &items, sizeof(struct sg_prop), 1);

	prod->props = items;
	prod->nprops = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++, prod->nprops++) {
		rc = dec_str(d, &prod->props[i].key);
		if (rc == 0) {
			dec_at_key(d, prod->props[i].key, strlen(prod->props[i].key));
			rc = dec_prop_value(d, &prod->props[i]);
		}
	}
	return rc;
}

static int
dec_product_key(struct dec *d, const char *k, size_t klen, void *obj)
{
	struct sg_product_ref *p = obj;

	if (key_is(k, klen, "pp")) {
		return dec_props(d, p);
	}
	return dec_field_or_skip(d, &product_schema, k, klen, p);
}

static int
dec_tags(struct dec *d, struct sg_line *l)
{
	uint32_t n = 0;
	void *items = NULL;
	int rc = dec_collection(d, &n, &items, sizeof(const char *), 0);

	l->tags = items;
	l->ntags = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++, l->ntags++) {
		rc = dec_str_or_nil(d, &l->tags[i]);
	}
	return rc;
}

static int
dec_line_key(struct dec *d, const char *k, size_t klen, void *obj)
{
	struct sg_line *l = obj;

	if (key_is(k, klen, "p")) {
		memset(&l->product, 0, sizeof(l->product));
		l->has_product = 1;
		return dec_map(d, dec_product_key, &l->product);
	}
	if (key_is(k, klen, "tg")) {
		return dec_tags(d, l);
	}
	return dec_field_or_skip(d, &line_schema, k, klen, l);
}

static int
dec_lines(struct dec *d, struct sg_event *ev)
{
	uint32_t n = 0;
	void *items = NULL;
	int rc = dec_collection(d, &n, &items, sizeof(struct sg_line), 0);

	ev->lines = items;
	ev->nlines = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++, ev->nlines++) {
		rc = dec_map(d, dec_line_key, &ev->lines[i]);
	}
	return rc;
}

static int
dec_custom(struct dec *d, struct sg_event *ev)
{
	uint32_t n = 0;
	void *items = NULL;
	int rc = dec_collection(d, &n, &items, sizeof(struct sg_attr), 1);

	ev->custom = items;
	ev->ncustom = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++, ev->ncustom++) {
		rc = dec_str(d, &ev->custom[i].key);
		if (rc == 0) {
			dec_at_key(d, ev->custom[i].key, strlen(ev->custom[i].key));
			rc = dec_str_or_nil(d, &ev->custom[i].json);
		}
	}
	return rc;
}

/* Event-level state beyond the event itself. */
struct dec_event {
	struct sg_event *ev; /* being filled */
	int seen_version;    /* "v" was present */
};

static int
dec_event_key(struct dec *d, const char *k, size_t klen, void *obj)
{
	struct dec_event *de = obj;
	int64_t v = 0;
	int rc = 0;

	if (key_is(k, klen, "v")) {
		rc = dec_int(d, &v, SG_EVENT_VERSION, SG_EVENT_VERSION);
		de->seen_version = 1;
	} else if (key_is(k, klen, "d")) {
		rc = dec_int(d, &v, SG_DIALECT_NONE, SG_DIALECT_NOMANINI);
		de->ev->dialect = (enum sg_dialect)v;
	} else if (key_is(k, klen, "k")) {
		rc = dec_int(d, &v, 0, SG_KIND_UPSERT);
		de->ev->kind = (enum sg_event_kind)v;
	} else if (key_is(k, klen, "li")) {
		rc = dec_lines(d, de->ev);
	} else if (key_is(k, klen, "cf")) {
		rc = dec_custom(d, de->ev);
	} else {
		rc = dec_field_or_skip(d, &event_schema, k, klen, de->ev);
	}
	return rc;
}

/* On failure ev holds whatever was decoded so far; callers discard it. */
int
event_decode(const char *p, size_t len, struct sg_arena *a, struct sg_event *ev,
             struct sg_error *err)
{
	struct dec d;
	struct dec_event de = {ev, 0};
	int rc = 0;

	memset(&d, 0, sizeof(d));
	mp_reader_init(&d.r, p, len);
	d.start = d.r.p;
	d.a = a;
	d.err = err;
	event_init(ev);
	rc = dec_map(&d, dec_event_key, &de);
	if (rc != 0) {
		return rc;
	}
	dec_at_key(&d, NULL, 0);
	if (!de.seen_version) {
		return dec_fail(&d, "no version");
	}
	if (mp_remaining(&d.r) != 0) {
		return dec_fail(&d, "trailing bytes after the event");
	}
	return 0;
}
