/* Site names kept by a table that is rebuilt as a whole (the desired state's peers, the path
 * table, the path MTU peers, the drift table, the reconciler's saved scope): each entry points
 * into one block of the table's own, where a 33-byte array in every entry kept mostly
 * padding. */
#ifndef NETD_NAMES_H
#define NETD_NAMES_H

#include <stddef.h>

/* For n items of size bytes at items, the strings each item's `const char *` fields at the
 * byte offsets offs (noffs of them) point to, copied one after the other into a block, and
 * those fields pointed at the copies. Returns the block, the caller's to free once the items
 * are gone; NULL for no memory, the items left pointing where they did. */
char *names_own(void *items, size_t n, size_t size, const size_t *offs, size_t noffs);

#endif
