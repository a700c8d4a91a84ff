/* One block of names for a table's entries: each field points at a copy of its own, in one
 * block, whatever the strings it pointed at become. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netd/names.h"

struct entry {
	const char *name;
	int figure;
	const char *relay;
};

static void
test_names_copied(void **state)
{
	char given[3][8] = {"alpha", "beta", ""};
	struct entry e[2] = {{given[0], 1, given[2]}, {given[1], 2, given[0]}};
	const size_t offs[] = {offsetof(struct entry, name), offsetof(struct entry, relay)};
	char *names;

	(void)state;
	names = names_own(e, 2, sizeof(e[0]), offs, 2);
	assert_non_null(names);
	memset(given, 'x', sizeof(given));
	assert_string_equal(e[0].name, "alpha");
	assert_string_equal(e[0].relay, "");
	assert_string_equal(e[1].name, "beta");
	assert_string_equal(e[1].relay, "alpha");
	assert_int_equal(e[0].figure, 1);
	assert_int_equal(e[1].figure, 2);
	/* One block: "alpha", "", "beta", "alpha", each with its end. */
	assert_ptr_equal(e[0].name, names);
	assert_ptr_equal(e[1].relay, names + 6 + 1 + 5);
	free(names);
	/* No entries: a block all the same, to free like any other. */
	names = names_own(NULL, 0, sizeof(e[0]), offs, 2);
	assert_non_null(names);
	free(names);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names_copied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
