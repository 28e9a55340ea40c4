/*
 * Bounded msgpack reader: a cursor over const bytes that checks every
 * declared length and count against the bytes left before it believes it
 * (a count of N elements needs at least N bytes, N map pairs 2N bytes), so
 * hostile input can neither read past the buffer nor make a caller
 * preallocate from a forged count (msgpack-c's `dd ff 00 00 00` pitfall).
 *
 * Every read returns 0 and advances, or returns -1 and leaves the cursor
 * where it was. Strings point into the input; nothing is allocated.
 */
#ifndef SALESGATE_COMMON_MP_READER_H
#define SALESGATE_COMMON_MP_READER_H

#include <stddef.h>
#include <stdint.h>

#define SG_MP_MAX_DEPTH 32 /* deepest nesting mp_skip accepts */

enum sg_mp_type {
	SG_MP_END = 0, /* no bytes left */
	SG_MP_NIL,
	SG_MP_BOOL,
	SG_MP_INT,   /* any fixint, int or uint encoding */
	SG_MP_FLOAT, /* float 32 or float 64 */
	SG_MP_STR,
	SG_MP_BIN,
	SG_MP_ARRAY,
	SG_MP_MAP,
	SG_MP_EXT,
	SG_MP_INVALID, /* 0xc1, reserved by the spec */
};

struct sg_mp_reader {
	const unsigned char *p;   /* next unread byte */
	const unsigned char *end; /* one past the last byte */
};

/* Points r at len bytes of p (borrowed: they must outlive r). */
void mp_reader_init(struct sg_mp_reader *r, const void *p, size_t len);

/* Bytes not read yet. */
size_t mp_remaining(const struct sg_mp_reader *r);

/* Type of the next value from its first byte only (lengths unchecked). */
enum sg_mp_type mp_peek(const struct sg_mp_reader *r);

/* Reads a map header; *n pairs follow. Fails when fewer than 2n bytes are left. */
int mp_read_map(struct sg_mp_reader *r, uint32_t *n);

/* Reads an array header; *n values follow. Fails when fewer than n bytes are left. */
int mp_read_array(struct sg_mp_reader *r, uint32_t *n);

/* Reads a str; *s points into the input (not NUL-terminated), *len bytes. */
int mp_read_str(struct sg_mp_reader *r, const char **s, size_t *len);

/* Reads any integer encoding; fails on a uint64 above INT64_MAX. */
int mp_read_int(struct sg_mp_reader *r, int64_t *v);

/* Reads a float 32 or float 64 (integers are not converted). */
int mp_read_float(struct sg_mp_reader *r, double *v);

/* Reads true or false into *v as 1 or 0. */
int mp_read_bool(struct sg_mp_reader *r, int *v);

/* Reads a nil. */
int mp_read_nil(struct sg_mp_reader *r);

/*
 * Skips one complete value of any type, nested containers included, without
 * recursion. Fails on truncation, on 0xc1, or when containers nest deeper
 * than max_depth (capped at SG_MP_MAX_DEPTH; 0 allows no non-empty container).
 */
int mp_skip(struct sg_mp_reader *r, unsigned max_depth);

#endif
