/* One block of names for a table's entries. */
#include "netd/names.h"

#include <stdlib.h>
#include <string.h>

static const char **
field(void *items, size_t i, size_t size, size_t off)
{
	return (const char **)((char *)items + i * size + off);
}

char *
names_own(void *items, size_t n, size_t size, const size_t *offs, size_t noffs)
{
	size_t len = 0, at = 0;
	char *names;

	for (size_t i = 0; i < n; i++)
		for (size_t f = 0; f < noffs; f++)
			len += strlen(*field(items, i, size, offs[f])) + 1;
	names = malloc(len ? len : 1);
	if (names == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		for (size_t f = 0; f < noffs; f++) {
			const char **name = field(items, i, size, offs[f]);
			size_t l = strlen(*name) + 1;

			*name = memcpy(names + at, *name, l);
			at += l;
		}
	}
	return names;
}
