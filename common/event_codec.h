/*
 * msgpack wire format of a canonical event inside Redis: one map with short
 * keys and a version field "v". Encoding uses msgpack-c; decoding is a
 * bounded reader of our own that checks every declared length and count
 * against the bytes left (msgpack-c preallocates from hostile counts).
 */
#ifndef SALESGATE_COMMON_EVENT_CODEC_H
#define SALESGATE_COMMON_EVENT_CODEC_H

#include <stddef.h>

struct sg_arena;
struct sg_buf;
struct sg_error;
struct sg_event;

/* Appends the msgpack encoding of ev to out. Returns 0 or SG_ENOMEM. */
int event_encode(const struct sg_event *ev, struct sg_buf *out);

/*
 * Decodes len bytes at p into ev; strings and arrays are allocated in a.
 * Unknown keys are skipped (forward compatible). Returns 0, SG_EINVAL with
 * err set on malformed or truncated input, or SG_ENOMEM.
 */
int event_decode(const char *p, size_t len, struct sg_arena *a, struct sg_event *ev,
		 struct sg_error *err);

#endif
