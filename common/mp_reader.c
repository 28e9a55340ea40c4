/* Bounded msgpack reader; see mp_reader.h. */
#include "mp_reader.h"

#include <string.h>

/* One decoded value header: everything before the payload. */
struct mp_head {
	enum sg_mp_type type; /* kind of value */
	size_t hlen;          /* header bytes, type byte included */
	uint64_t n;           /* str/bin/ext: payload bytes; array: values; map: pairs */
	int64_t i;            /* SG_MP_INT value (when !big); SG_MP_BOOL 0/1 */
	int big;              /* SG_MP_INT: a uint64 above INT64_MAX */
	uint64_t bits;        /* SG_MP_FLOAT: IEEE bits */
	int f32;              /* SG_MP_FLOAT: bits hold a float 32 */
};

/* Big-endian unsigned integer of n (1..8) bytes. */
static uint64_t
be_read(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t k = 0; k < n; k++) {
		v = (v << 8) | p[k];
	}
	return v;
}

/* Two's complement of the low 8*bytes bits of v, without implementation-defined casts. */
static int64_t
to_signed(uint64_t v, size_t bytes)
{
	uint64_t sign = (uint64_t)1 << (bytes * 8 - 1);

	if (!(v & sign)) {
		return (int64_t)v;
	}
	return -(int64_t)(sign - (v & (sign - 1)) - 1) - 1;
}

/*
 * Classifies the 0xc0-0xdf forms: sets h->type and how many bytes follow
 * the type byte as a length (lenb) or as a fixed-size value (valb).
 */
static int
head_classify(unsigned c, struct mp_head *h, size_t *lenb, size_t *valb)
{
	if (c == 0xc0) {
		h->type = SG_MP_NIL;
	} else if (c == 0xc2 || c == 0xc3) {
		h->type = SG_MP_BOOL;
		h->i = c & 1;
	} else if (c >= 0xc4 && c <= 0xc6) {
		h->type = SG_MP_BIN;
		*lenb = (size_t)1 << (c - 0xc4);
	} else if (c >= 0xc7 && c <= 0xc9) {
		h->type = SG_MP_EXT; /* the ext type byte is added to n by the caller */
		*lenb = (size_t)1 << (c - 0xc7);
	} else if (c == 0xca || c == 0xcb) {
		h->type = SG_MP_FLOAT;
		h->f32 = c == 0xca;
		*valb = c == 0xca ? 4 : 8;
	} else if (c >= 0xcc && c <= 0xd3) {
		h->type = SG_MP_INT;
		*valb = (size_t)1 << ((c - 0xcc) & 3);
	} else if (c >= 0xd4 && c <= 0xd8) {
		h->type = SG_MP_EXT;
		h->n = 1 + ((uint64_t)1 << (c - 0xd4)); /* type byte + data */
	} else if (c >= 0xd9 && c <= 0xdb) {
		h->type = SG_MP_STR;
		*lenb = (size_t)1 << (c - 0xd9);
	} else if (c == 0xdc || c == 0xdd) {
		h->type = SG_MP_ARRAY;
		*lenb = (size_t)2 << (c - 0xdc);
	} else if (c == 0xde || c == 0xdf) {
		h->type = SG_MP_MAP;
		*lenb = (size_t)2 << (c - 0xde);
	} else {
		h->type = SG_MP_INVALID; /* 0xc1 */
		return -1;
	}
	return 0;
}

/* Checks a declared length or count against the bytes left after the header. */
static int
head_check(const struct mp_head *h, size_t left)
{
	switch (h->type) {
	case SG_MP_STR:
	case SG_MP_BIN:
	case SG_MP_EXT:
	case SG_MP_ARRAY: /* every value takes at least one byte */
		return h->n <= left ? 0 : -1;
	case SG_MP_MAP: /* every pair takes at least two */
		return h->n <= left / 2 ? 0 : -1;
	default:
		return 0;
	}
}

/* Decodes the header of the next value without moving r. Returns 0 or -1. */
static int
head_read(const struct sg_mp_reader *r, struct mp_head *h)
{
	size_t left = (size_t)(r->end - r->p);
	size_t lenb = 0, valb = 0;
	unsigned c;

	memset(h, 0, sizeof(*h));
	if (left == 0) {
		return -1;
	}
	c = r->p[0];
	h->hlen = 1;
	if (c <= 0x7f) {
		h->type = SG_MP_INT;
		h->i = c;
	} else if (c <= 0x8f) {
		h->type = SG_MP_MAP;
		h->n = c & 0x0f;
	} else if (c <= 0x9f) {
		h->type = SG_MP_ARRAY;
		h->n = c & 0x0f;
	} else if (c <= 0xbf) {
		h->type = SG_MP_STR;
		h->n = c & 0x1f;
	} else if (c >= 0xe0) {
		h->type = SG_MP_INT;
		h->i = to_signed(c, 1);
	} else if (head_classify(c, h, &lenb, &valb) < 0) {
		return -1;
	}
	if (left - 1 < lenb + valb) {
		return -1;
	}
	h->hlen += lenb + valb;
	if (lenb) {
		h->n = be_read(r->p + 1, lenb) + (h->type == SG_MP_EXT);
	}
	if (valb && h->type == SG_MP_FLOAT) {
		h->bits = be_read(r->p + 1, valb);
	} else if (valb) {
		uint64_t v = be_read(r->p + 1, valb);

		if (c >= 0xd0) {
			h->i = to_signed(v, valb);
		} else if (v > (uint64_t)INT64_MAX) {
			h->big = 1;
		} else {
			h->i = (int64_t)v;
		}
	}
	return head_check(h, left - h->hlen);
}

void
mp_reader_init(struct sg_mp_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->end = r->p + len;
}

size_t
mp_remaining(const struct sg_mp_reader *r)
{
	return (size_t)(r->end - r->p);
}

enum sg_mp_type
mp_peek(const struct sg_mp_reader *r)
{
	struct mp_head h;
	size_t lenb = 0, valb = 0;
	unsigned c;

	if (r->p == r->end) {
		return SG_MP_END;
	}
	c = r->p[0];
	if (c <= 0x7f || c >= 0xe0) {
		return SG_MP_INT;
	}
	if (c <= 0x8f) {
		return SG_MP_MAP;
	}
	if (c <= 0x9f) {
		return SG_MP_ARRAY;
	}
	if (c <= 0xbf) {
		return SG_MP_STR;
	}
	memset(&h, 0, sizeof(h));
	head_classify(c, &h, &lenb, &valb);
	return h.type;
}

/* Reads the next header if it has type t, advancing past the header only. */
static int
head_take(struct sg_mp_reader *r, enum sg_mp_type t, struct mp_head *h)
{
	if (head_read(r, h) < 0 || h->type != t) {
		return -1;
	}
	r->p += h->hlen;
	return 0;
}

int
mp_read_map(struct sg_mp_reader *r, uint32_t *n)
{
	struct mp_head h;

	if (head_take(r, SG_MP_MAP, &h) < 0) {
		return -1;
	}
	*n = (uint32_t)h.n;
	return 0;
}

int
mp_read_array(struct sg_mp_reader *r, uint32_t *n)
{
	struct mp_head h;

	if (head_take(r, SG_MP_ARRAY, &h) < 0) {
		return -1;
	}
	*n = (uint32_t)h.n;
	return 0;
}

int
mp_read_str(struct sg_mp_reader *r, const char **s, size_t *len)
{
	struct mp_head h;

	if (head_take(r, SG_MP_STR, &h) < 0) {
		return -1;
	}
	*s = (const char *)r->p;
	*len = (size_t)h.n;
	r->p += h.n;
	return 0;
}

int
mp_read_int(struct sg_mp_reader *r, int64_t *v)
{
	struct mp_head h;

	if (head_read(r, &h) < 0 || h.type != SG_MP_INT || h.big) {
		return -1;
	}
	r->p += h.hlen;
	*v = h.i;
	return 0;
}

int
mp_read_float(struct sg_mp_reader *r, double *v)
{
	struct mp_head h;

	if (head_take(r, SG_MP_FLOAT, &h) < 0) {
		return -1;
	}
	if (h.f32) {
		uint32_t b = (uint32_t)h.bits;
		float f;

		memcpy(&f, &b, sizeof(f));
		*v = f;
	} else {
		memcpy(v, &h.bits, sizeof(*v));
	}
	return 0;
}

int
mp_read_bool(struct sg_mp_reader *r, int *v)
{
	struct mp_head h;

	if (head_take(r, SG_MP_BOOL, &h) < 0) {
		return -1;
	}
	*v = (int)h.i;
	return 0;
}

int
mp_read_nil(struct sg_mp_reader *r)
{
	struct mp_head h;

	return head_take(r, SG_MP_NIL, &h);
}

int
mp_skip(struct sg_mp_reader *r, unsigned max_depth)
{
	uint64_t pending[SG_MP_MAX_DEPTH + 1]; /* values still to skip per level */
	const unsigned char *start = r->p;
	unsigned depth = 0;
	struct mp_head h;

	if (max_depth > SG_MP_MAX_DEPTH) {
		max_depth = SG_MP_MAX_DEPTH;
	}
	pending[0] = 1;
	for (;;) {
		while (depth > 0 && pending[depth] == 0) {
			depth--;
		}
		if (pending[depth] == 0) {
			return 0;
		}
		if (head_read(r, &h) < 0) {
			goto fail;
		}
		pending[depth]--;
		r->p += h.hlen;
		if (h.type == SG_MP_STR || h.type == SG_MP_BIN || h.type == SG_MP_EXT) {
			r->p += h.n;
		} else if ((h.type == SG_MP_ARRAY || h.type == SG_MP_MAP) && h.n > 0) {
			if (depth == max_depth) {
				goto fail;
			}
			depth++;
			pending[depth] = h.type == SG_MP_MAP ? 2 * h.n : h.n;
		}
	}
fail:
	r->p = start;
	return -1;
}
