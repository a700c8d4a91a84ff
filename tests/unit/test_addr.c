/* The address vocabulary: text forms of endpoints, the orders the mesh and the config sort
 * by, containment and overlap, host prefixes and masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netd/addr.h"

static struct addr_prefix
prefix(const char *text)
{
	struct addr_prefix p;

	assert_int_equal(addr_prefix_parse(text, &p), 0);
	return p;
}

static void
test_endpoint_text(void **state)
{
	struct addr_endpoint v4 = {.port = 7946}, v6 = {.port = 51820}, none = {.port = 1};
	char buf[ADDR_ENDPOINT_STRLEN];

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1", &v4.addr), 0);
	assert_int_equal(addr_parse("2001:db8::1", &v6.addr), 0);
	assert_string_equal(addr_endpoint_format(&v4, buf), "192.0.2.1:7946");
	assert_string_equal(addr_endpoint_format(&v6, buf), "[2001:db8::1]:51820");
	assert_string_equal(addr_endpoint_format(&none, buf), "none:1");
	/* The longest IPv6 text with the largest port fits. */
	assert_int_equal(addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &v6.addr), 0);
	v6.port = 65535;
	assert_string_equal(addr_endpoint_format(&v6, buf),
	                    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	assert_int_equal(addr_parse("192.0.2.1:7946", &v4.addr), -EINVAL);
}

static void
test_endpoint_equal(void **state)
{
	struct addr_endpoint a = {.port = 7946}, b;

	(void)state;
	assert_int_equal(addr_parse("192.0.2.1", &a.addr), 0);
	b = a;
	assert_true(addr_endpoint_equal(&a, &b));
	b.port = 7947;
	assert_false(addr_endpoint_equal(&a, &b));
	b = a;
	/* Bytes past the family's length are not the address. */
	b.addr.u.bytes[9] = 0xff;
	assert_true(addr_endpoint_equal(&a, &b));
	assert_int_equal(addr_parse("::ffff:192.0.2.1", &b.addr), 0);
	assert_false(addr_endpoint_equal(&a, &b));
}

/* IPv4 before IPv6, then by address (as a number: its first byte weighs most), a prefix
 * before the longer ones at its address. */
static void
test_order(void **state)
{
	static const char *const sorted[] = {
	        "0.0.0.0/0",     "10.0.0.0/8",   "10.0.0.0/16",        "10.0.0.1/32",
	        "10.0.0.255/32", "10.0.1.0/24",  "10.1.0.0/16",        "127.255.255.255/32",
	        "128.0.0.0/1",   "192.0.2.0/24", "255.255.255.255/32", "::/0",
	        "2001:db8::/32", "fd00::/8"};
	const size_t n = sizeof(sorted) / sizeof(sorted[0]);

	(void)state;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			struct addr_prefix a = prefix(sorted[i]), b = prefix(sorted[j]);
			int c = addr_prefix_cmp(&a, &b);

			assert_true(i < j ? c < 0 : i > j ? c > 0 : c == 0);
			assert_int_equal(addr_prefix_equal(&a, &b), i == j);
		}
}

static void
test_contains_and_overlap(void **state)
{
	struct addr_prefix outer = prefix("10.1.0.0/16"), inner = prefix("10.1.2.0/24"),
	                   other = prefix("10.2.0.0/16"), v6 = prefix("a01::/16"),
	                   all = prefix("0.0.0.0/0"), odd = prefix("10.1.128.0/17");

	(void)state;
	assert_true(addr_prefix_contains(&outer, &inner));
	assert_true(addr_prefix_contains(&outer, &outer));
	assert_true(addr_prefix_contains(&outer, &odd));
	assert_false(addr_prefix_contains(&odd, &inner));
	assert_false(addr_prefix_contains(&inner, &outer));
	assert_false(addr_prefix_contains(&outer, &other));
	assert_false(addr_prefix_contains(&outer, &v6));
	assert_true(addr_prefix_contains(&all, &other));
	assert_true(addr_prefix_overlap(&inner, &outer));
	assert_true(addr_prefix_overlap(&outer, &inner));
	assert_false(addr_prefix_overlap(&outer, &other));
	assert_false(addr_prefix_overlap(&odd, &inner));
	assert_false(addr_prefix_overlap(&all, &v6));
}

static void
test_host_and_mask(void **state)
{
	struct addr a;
	struct addr_prefix p, m;
	char buf[ADDR_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(addr_parse("fd99::7", &a), 0);
	p = addr_host(&a);
	assert_string_equal(addr_prefix_format(&p, buf), "fd99::7/128");
	assert_true(addr_prefix_is_canonical(&p));
	p = prefix("10.1.2.3/20");
	assert_false(addr_prefix_is_canonical(&p));
	m = addr_prefix_masked(&p);
	assert_string_equal(addr_prefix_format(&m, buf), "10.1.0.0/20");
	assert_true(addr_prefix_is_canonical(&m));
	assert_true(addr_prefix_contains(&m, &p));
}

/* A packed prefix is 18 bytes and gives back the prefix it was packed from, host bits and
 * all. */
static void
test_packed(void **state)
{
	static const char *const texts[] = {"10.1.2.3/20", "0.0.0.0/0", "2001:db8::1/64",
	                                    "fd99::7/128"};

	(void)state;
	assert_int_equal(sizeof(struct addr_prefix_packed), 18);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct addr_prefix p = prefix(texts[i]);
		struct addr_prefix_packed packed = addr_prefix_pack(&p);
		struct addr_prefix back = addr_prefix_unpack(&packed);
		char buf[ADDR_PREFIX_STRLEN];

		assert_true(addr_prefix_equal(&back, &p));
		assert_string_equal(addr_prefix_format(&back, buf), texts[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_endpoint_text), cmocka_unit_test(test_endpoint_equal),
	        cmocka_unit_test(test_order),         cmocka_unit_test(test_contains_and_overlap),
	        cmocka_unit_test(test_host_and_mask), cmocka_unit_test(test_packed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
