/* Growable NUL-terminated byte buffer; see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

/* Makes room for extra more bytes plus the NUL. Returns 0 or -1. */
static int
buf_reserve(struct sg_buf *b, size_t extra)
{
	size_t need = 0, cap = 0;
	char *p = NULL;

	if (extra > SIZE_MAX - b->len - 1) {
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->cap) {
		return 0;
	}
	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need) {
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	}
	p = realloc(b->data, cap);
	if (!p) {
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void
buf_clear(struct sg_buf *b)
{
	b->len = 0;
	if (b->data) {
		b->data[0] = '\0';
	}
}

void
buf_finish(struct sg_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int
buf_append(struct sg_buf *b, const void *p, size_t len)
{
	if (buf_reserve(b, len) < 0) {
		return -1;
	}
	if (len) {
		memcpy(b->data + b->len, p, len);
	}
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_printf(struct sg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (buf_reserve(b, BUF_MIN_CAP) < 0) {
		return -1;
	}
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n) < 0) {
			b->data[b->len] = '\0';
			return -1;
		}
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	if (n < 0) {
		b->data[b->len] = '\0';
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

int
buf_grow_array(void **v, size_t *cap, size_t need, size_t sz)
{
	size_t ncap = *cap ? *cap : 16;
	void *nv = NULL;

	if (need <= *cap) {
		return 0;
	}
	while (ncap < need) {
		ncap *= 2;
	}
	nv = realloc(*v, ncap * sz);
	if (nv == NULL) {
		return -1;
	}
	*v = nv;
	*cap = ncap;
	return 0;
}
