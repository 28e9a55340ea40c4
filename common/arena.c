/* Chunked bump allocator; see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_CHUNK 4096

struct sg_arena_chunk {
	struct sg_arena_chunk *next; /* older chunk */
	size_t cap;                  /* bytes in data */
	size_t used;                 /* bytes handed out, alignment padding included */
	int big;                     /* holds one big allocation; never kept by reset */
	unsigned char data[];        /* the memory handed out */
};

void
arena_init(struct sg_arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
}

/* A chunk able to hand out cap bytes at 16-byte alignment (malloc may align to 8 only). */
static struct sg_arena_chunk *
chunk_new(size_t cap, int big)
{
	struct sg_arena_chunk *c = NULL;

	if (cap > SIZE_MAX - sizeof(*c) - ARENA_ALIGN) {
		return NULL;
	}
	c = malloc(sizeof(*c) + cap + ARENA_ALIGN - 1);
	if (!c) {
		return NULL;
	}
	c->next = NULL;
	c->cap = cap + ARENA_ALIGN - 1;
	c->used = 0;
	c->big = big;
	return c;
}

/* Takes len aligned bytes from c, or returns NULL when they do not fit. */
static void *
chunk_take(struct sg_arena_chunk *c, size_t len)
{
	uintptr_t base = (uintptr_t)c->data;
	uintptr_t at = (base + c->used + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	size_t off = (size_t)(at - base);

	if (off > c->cap || len > c->cap - off) {
		return NULL;
	}
	c->used = off + len;
	return c->data + off;
}

/*
 * A big allocation gets a chunk of its own, linked behind the head so the
 * head keeps serving small allocations instead of being abandoned.
 */
static void *
arena_alloc_big(struct sg_arena *a, size_t len)
{
	struct sg_arena_chunk *c = chunk_new(len, 1);

	if (!c) {
		return NULL;
	}
	if (a->head) {
		c->next = a->head->next;
		a->head->next = c;
	} else {
		a->head = c;
	}
	return chunk_take(c, len);
}

void *
arena_alloc(struct sg_arena *a, size_t len)
{
	struct sg_arena_chunk *c = NULL;
	void *p = NULL;

	if (len == 0) {
		len = 1; /* every allocation gets a distinct address */
	}
	if (len > a->chunk_size / 2) {
		return arena_alloc_big(a, len);
	}
	if (a->head && (p = chunk_take(a->head, len))) {
		return p;
	}
	c = chunk_new(a->chunk_size, 0);
	if (!c) {
		return NULL;
	}
	c->next = a->head;
	a->head = c;
	return chunk_take(c, len);
}

void
arena_reset(struct sg_arena *a)
{
	struct sg_arena_chunk *c = a->head, *next = NULL, *keep = NULL;

	for (; c; c = next) {
		next = c->next;
		if (!keep && !c->big) {
			keep = c;
			continue;
		}
		free(c);
	}
	if (keep) {
		keep->next = NULL;
		keep->used = 0;
	}
	a->head = keep;
}

void
arena_finish(struct sg_arena *a)
{
	struct sg_arena_chunk *c = NULL, *next = NULL;

	if (!a) {
		return;
	}
	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

char *
arena_strndup(struct sg_arena *a, const char *s, size_t len)
{
	char *p = NULL;

	if (len == SIZE_MAX) {
		return NULL;
	}
	p = arena_alloc(a, len + 1);
	if (!p) {
		return NULL;
	}
	if (len) {
		memcpy(p, s, len);
	}
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct sg_arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}
