/* For unit tests: the heap bytes in use, small blocks and mapped ones, as glibc counts them.
 * A sanitizer's allocator leaves the counts at 0: a test then says it did not measure. */
#ifndef TESTS_UNIT_HEAP_H
#define TESTS_UNIT_HEAP_H

#include <malloc.h>
#include <stddef.h>

static inline size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

#endif
