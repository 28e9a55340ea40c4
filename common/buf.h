/* Growable byte buffer, reused across requests to avoid allocation storms. */
#ifndef SALESGATE_COMMON_BUF_H
#define SALESGATE_COMMON_BUF_H

#include <stddef.h>

struct sg_buf {
	char *data; /* NUL-terminated after every append (not counted in len) */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};

/* Empties the buffer, keeping its memory. */
void buf_clear(struct sg_buf *b);

/* Frees the memory. Accepts a zeroed buffer. */
void buf_finish(struct sg_buf *b);

/* Appends len bytes. Returns 0, or -1 when out of memory. */
int buf_append(struct sg_buf *b, const void *p, size_t len);

/*
 * Grows the array *v (elements of size sz, capacity *cap) to hold at least
 * need elements, doubling from 16. Returns 0, or -1 when out of memory
 * (the array is left as it was).
 */
int buf_grow_array(void **v, size_t *cap, size_t need, size_t sz);

/* Appends a formatted string. Returns 0, or -1 on error. */
int buf_printf(struct sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
