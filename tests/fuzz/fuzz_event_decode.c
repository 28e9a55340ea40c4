/*
 * libFuzzer target: arbitrary bytes as a stored msgpack event (what the
 * worker and the gateway's reads decode from Redis). The decoder must
 * refuse anything malformed without reading out of bounds or allocating
 * from a declared count; what it accepts must encode and decode again.
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "error.h"
#include "event.h"
#include "event_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_arena a;
	struct sg_error err;
	struct sg_event ev, again;
	struct sg_buf enc = {0};

	arena_init(&a, 4096);
	error_clear(&err);
	if (event_decode((const char *)data, size, &a, &ev, &err) == 0 &&
	    event_encode(&ev, &enc) == 0 &&
	    event_decode(enc.data, enc.len, &a, &again, &err) != 0) {
		__builtin_trap(); /* what decodes must round-trip */
	}
	buf_finish(&enc);
	arena_finish(&a);
	return 0;
}
