/* Arena and growable buffer. */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "check.h"

static void
test_arena_alignment(void)
{
	struct sg_arena a;
	int misaligned = 0, overlap = 0;
	unsigned char *prev = NULL;
	size_t prev_len = 0;

	arena_init(&a, 256);
	for (size_t len = 0; len < 200; len++) {
		unsigned char *p = arena_alloc(&a, len);

		if (!p) {
			break;
		}
		misaligned += ((uintptr_t)p % 16) != 0;
		memset(p, 0xab, len); /* ASan flags writes past the chunk */
		if (prev && p < prev + prev_len && p >= prev) {
			overlap++;
		}
		prev = p;
		prev_len = len;
	}
	CHECK_INT_EQ(misaligned, 0, "every allocation is 16-byte aligned");
	CHECK_INT_EQ(overlap, 0, "consecutive allocations do not overlap");
	arena_finish(&a);
}

static void
test_arena_big_and_reset(void)
{
	struct sg_arena a;
	char *small1 = NULL, *big = NULL, *small2 = NULL;

	arena_init(&a, 128);
	small1 = arena_alloc(&a, 16);
	big = arena_alloc(&a, 100000);
	small2 = arena_alloc(&a, 16);
	CHECK(small1 && big && small2, "allocations succeed");
	CHECK(((uintptr_t)big % 16) == 0, "big allocation aligned");
	memset(big, 1, 100000);
	CHECK(small2 == small1 + 16, "a big allocation does not abandon the current chunk");
	arena_reset(&a);
	CHECK(a.head != NULL, "reset keeps a chunk");
	small2 = arena_alloc(&a, 16);
	CHECK(small2 == small1, "and reuses it from the start");
	arena_finish(&a);
	CHECK(a.head == NULL, "finish frees everything");
	arena_finish(NULL);
	CHECK(1, "finish accepts NULL");

	arena_init(&a, 0);
	CHECK_INT_EQ(a.chunk_size, 4096, "0 means the default chunk size");
	CHECK(arena_alloc(&a, SIZE_MAX) == NULL, "SIZE_MAX fails cleanly");
	CHECK(arena_alloc(&a, SIZE_MAX - 8) == NULL, "near SIZE_MAX fails cleanly");
	arena_reset(&a);
	arena_finish(&a);
}

static void
test_arena_strings(void)
{
	struct sg_arena a;
	char *s = NULL;

	arena_init(&a, 64);
	s = arena_strndup(&a, "hello world", 5);
	CHECK_STR_EQ(s, "hello", "strndup copies len bytes and terminates");
	CHECK_STR_EQ(arena_strdup(&a, "x"), "x", "strdup");
	CHECK(arena_strdup(&a, NULL) == NULL, "strdup of NULL is NULL");
	CHECK_STR_EQ(arena_strndup(&a, NULL, 0), "", "strndup of 0 bytes is empty");
	for (int i = 0; i < 1000; i++) {
		arena_strdup(&a, "some string that fills chunks");
	}
	CHECK_STR_EQ(s, "hello", "earlier strings survive new chunks");
	arena_finish(&a);
}

static void
test_buf(void)
{
	struct sg_buf b = {0};
	char big[5000];

	CHECK_INT_EQ(buf_append(&b, "", 0), 0, "empty append");
	CHECK(b.data && b.data[0] == '\0' && b.len == 0, "empty buffer is a terminated string");
	buf_append(&b, "abc", 3);
	buf_printf(&b, "-%d-%s", 42, "x");
	CHECK_STR_EQ(b.data, "abc-42-x", "append then printf");
	CHECK_INT_EQ(b.len, 8, "length");
	memset(big, 'z', sizeof(big));
	CHECK_INT_EQ(buf_append(&b, big, sizeof(big)), 0, "grow by 5000");
	CHECK(b.len == 5008 && b.data[5008] == '\0' && b.cap > 5008, "grown and terminated");
	CHECK_INT_EQ(buf_printf(&b, "%.*s", 3000, big), 0, "printf beyond capacity");
	CHECK(b.len == 8008 && b.data[8007] == 'z' && b.data[8008] == '\0', "printf grew");
	buf_append(&b, "a\0b", 3);
	CHECK_INT_EQ(b.len, 8011, "binary bytes are counted");
	buf_clear(&b);
	CHECK(b.len == 0 && b.data[0] == '\0' && b.cap > 0, "clear keeps memory");
	buf_finish(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0, "finish frees");
	buf_finish(&b);
	buf_clear(&b);
	CHECK(1, "finish and clear accept a zeroed buffer");
	CHECK_INT_EQ(buf_append(&b, "x", SIZE_MAX), -1, "impossible size refused");
	buf_finish(&b);
}

int
main(void)
{
	test_arena_alignment();
	test_arena_big_and_reset();
	test_arena_strings();
	test_buf();
	return check_done();
}
