/* Bump allocator owning everything one request or one decoded event needs. */
#ifndef SALESGATE_COMMON_ARENA_H
#define SALESGATE_COMMON_ARENA_H

#include <stddef.h>

struct sg_arena_chunk;

struct sg_arena {
	struct sg_arena_chunk *head; /* newest chunk first; NULL when empty */
	size_t chunk_size;           /* default size of a new chunk */
};

/* Prepares an empty arena; allocates nothing until the first alloc. */
void arena_init(struct sg_arena *a, size_t chunk_size);

/*
 * Frees every chunk but one regular-size chunk, which is kept and emptied
 * (zero cost reuse); chunks of big allocations are always freed.
 */
void arena_reset(struct sg_arena *a);

/* Frees every chunk. The arena may be reused after arena_init. Accepts NULL. */
void arena_finish(struct sg_arena *a);

/*
 * Returns len bytes aligned to 16, or NULL when out of memory. An
 * allocation over half the chunk size gets a chunk of its own.
 */
void *arena_alloc(struct sg_arena *a, size_t len);

/* Copies len bytes of s and appends a NUL. Returns NULL when out of memory. */
char *arena_strndup(struct sg_arena *a, const char *s, size_t len);

/* arena_strndup of a NUL-terminated string; NULL in gives NULL out. */
char *arena_strdup(struct sg_arena *a, const char *s);

#endif
