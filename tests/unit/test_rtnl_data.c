/* kernel-helpers' plain data: text forms of addresses, prefixes and MACs, prefix arithmetic,
 * the route collision rule, and the attribute validation every netlink parser relies on
 * (rtnetlink dumps and notifications, WireGuard's generic netlink replies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/nl.h"
#include "kernel-helpers/rtnl.h"

static struct addr_prefix
P(const char *text) {
	struct addr_prefix p;

	assert_int_equal(addr_prefix_parse(text, &p), 0);
	return p;
}

static void
test_addr_text(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
	} good[] = {
	        {"192.0.2.1", "192.0.2.1", AF_INET},
	        {"0.0.0.0", "0.0.0.0", AF_INET},
	        {"2001:DB8:0:0::1", "2001:db8::1", AF_INET6},
	        {"::ffff:192.0.2.1", "::ffff:192.0.2.1", AF_INET6},
	};
	static const char *const bad[] = {"",        "192.0.2",      "192.0.2.256", "192.0.2.1 ",
	                                  "1::2::3", "host.example", "192.0.2.1/24"};
	char buf[ADDR_STRLEN];
	struct addr a, untouched;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(addr_parse(good[i].in, &a), 0);
		assert_int_equal(a.family, good[i].family);
		assert_string_equal(addr_format(&a, buf), good[i].out);
	}
	memset(&untouched, 0xa5, sizeof(untouched));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = untouched;
		assert_int_equal(addr_parse(bad[i], &a), -EINVAL);
		assert_memory_equal(&a, &untouched, sizeof(a));
	}
	memset(&a, 0, sizeof(a));
	assert_string_equal(addr_format(&a, buf), "none");
}

static void
test_prefix_text(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
	        {"10.0.0.0/8", "10.0.0.0/8"},
	        {"10.1.2.3", "10.1.2.3/32"},
	        {"0.0.0.0/0", "0.0.0.0/0"},
	        {"2001:db8::/32", "2001:db8::/32"},
	        {"2001:db8::1", "2001:db8::1/128"},
	        {"10.1.2.3/24", "10.1.2.3/24"}, /* an interface address keeps its host bits */
	};
	static const char *const bad[] = {"10.0.0.0/33", "10.0.0.0/",   "10.0.0.0/+8",
	                                  "10.0.0.0/ 8", "10.0.0.0/8x", "2001:db8::/129",
	                                  "/8",          "10.0.0.0/-1", "10.0.0.0/08888888888888"};
	char buf[ADDR_PREFIX_STRLEN];
	struct addr_prefix p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(addr_prefix_parse(good[i].in, &p), 0);
		assert_string_equal(addr_prefix_format(&p, buf), good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(addr_prefix_parse(bad[i], &p), -EINVAL);
}

static void
test_mac_text(void **state)
{
	static const char *const bad[] = {"",
	                                  "02:00:00:00:00",
	                                  "02:00:00:00:00:00:00",
	                                  "02-00-00-00-00-01",
	                                  "2:0:0:0:0:1",
	                                  "02:00:00:00:00:0g",
	                                  "02:00:00:00:00:01 "};
	uint8_t mac[KH_MAC_LEN], want[KH_MAC_LEN] = {0x02, 0xab, 0xcd, 0xef, 0x00, 0x01};
	char buf[KH_MAC_STRLEN];

	(void)state;
	assert_int_equal(kh_mac_parse("02:AB:cd:EF:00:01", mac), 0);
	assert_memory_equal(mac, want, KH_MAC_LEN);
	assert_string_equal(kh_mac_format(mac, buf), "02:ab:cd:ef:00:01");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, want, KH_MAC_LEN);
		assert_int_equal(kh_mac_parse(bad[i], mac), -EINVAL);
		assert_memory_equal(mac, want, KH_MAC_LEN);
	}
}

static void
test_prefix_relations(void **state)
{
	struct addr_prefix a = P("10.0.0.0/8"), b = P("10.20.0.0/16"), c = P("10.20.0.0/16");
	struct addr_prefix v6 = P("2001:db8::/32"), v6b = P("2001:db8:8000::/33");

	(void)state;
	assert_true(addr_prefix_contains(&a, &b));
	assert_false(addr_prefix_contains(&b, &a));
	assert_true(addr_prefix_contains(&b, &c));
	assert_true(addr_prefix_equal(&b, &c));
	assert_false(addr_prefix_equal(&a, &b));
	assert_false(addr_prefix_contains(&a, &v6));
	assert_true(addr_prefix_contains(&v6, &v6b));
	/* The bit right after the prefix decides: 10.128/9 is not in 10.0/9. */
	struct addr_prefix lo = P("10.0.0.0/9"), hi = P("10.128.0.0/9");
	assert_false(addr_prefix_contains(&lo, &hi));
	assert_true(addr_prefix_contains(&a, &hi));
	struct addr_prefix all = P("0.0.0.0/0");
	assert_true(addr_prefix_contains(&all, &a));

	assert_true(addr_prefix_is_canonical(&a));
	struct addr_prefix host = P("10.1.2.3/24"), host7 = P("10.1.2.128/25"),
	                   odd = P("10.1.2.129/25");
	assert_false(addr_prefix_is_canonical(&host));
	assert_true(addr_prefix_is_canonical(&host7));
	assert_false(addr_prefix_is_canonical(&odd));
	struct addr_prefix v6host = P("2001:db8::1/64");
	assert_false(addr_prefix_is_canonical(&v6host));
	assert_true(addr_prefix_is_canonical(&v6));
	struct addr_prefix none;
	memset(&none, 0, sizeof(none));
	assert_false(addr_prefix_is_canonical(&none));
}

static struct kh_route
R(const char *dst, uint32_t table, uint8_t protocol) {
	struct kh_route r;

	memset(&r, 0, sizeof(r));
	r.dst = P(dst);
	r.table = table;
	r.protocol = protocol;
	return r;
}

static void
test_route_overlap(void **state)
{
	static const struct {
		const char *other;
		uint32_t table;
		uint8_t protocol;
		enum kh_overlap want;
	} cases[] = {
	        {"10.20.0.0/16", 51820, 4, KH_OVERLAP_SAME},
	        {"10.20.5.0/24", 51820, 4, KH_OVERLAP_MORE_SPECIFIC},
	        {"10.20.5.7/32", 51820, 2, KH_OVERLAP_MORE_SPECIFIC},
	        {"10.0.0.0/8", 51820, 4, KH_OVERLAP_LESS_SPECIFIC},
	        {"0.0.0.0/0", 51820, 4, KH_OVERLAP_NONE},      /* every prefix is in the default */
	        {"10.21.0.0/16", 51820, 4, KH_OVERLAP_NONE},   /* a neighbour, not an overlap */
	        {"10.20.0.0/16", 254, 4, KH_OVERLAP_NONE},     /* another table */
	        {"10.20.0.0/16", 51820, 200, KH_OVERLAP_NONE}, /* netd's own: replaceable */
	        {"::/0", 51820, 4, KH_OVERLAP_NONE},
	};
	struct kh_route mine = R("10.20.0.0/16", 51820, 200);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kh_route other = R(cases[i].other, cases[i].table, cases[i].protocol);
		assert_int_equal(kh_route_overlap(&mine, &other), cases[i].want);
	}
	/* netd's own default route does collide with another default. */
	struct kh_route mydefault = R("0.0.0.0/0", 51820, 200), theirs = R("0.0.0.0/0", 51820, 3);
	assert_int_equal(kh_route_overlap(&mydefault, &theirs), KH_OVERLAP_SAME);
	struct kh_route v6 = R("2001:db8::/32", 51820, 200),
	                v6more = R("2001:db8:1::/48", 51820, 3);
	assert_int_equal(kh_route_overlap(&v6, &v6more), KH_OVERLAP_MORE_SPECIFIC);
}

/* Attribute buffers are written byte by byte so that the tests say exactly what is on the
 * wire. */
struct buf {
	uint8_t b[256];
	size_t len;
};

static void
put_attr(struct buf *b, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr a = {.nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type};

	memcpy(b->b + b->len, &a, sizeof(a));
	memcpy(b->b + b->len + NLA_HDRLEN, data, len);
	b->len += NLA_ALIGN(NLA_HDRLEN + len);
}

enum { T_U8 = 1, T_U32, T_STR, T_BIN, T_NEST, T_U64, T_ADDR, T_SA, T_MAX };

static const struct kh_attr_policy policy[T_MAX] = {
        [T_U8] = {KH_ATTR_U8, 0, 0},       [T_U32] = {KH_ATTR_U32, 0, 0},
        [T_STR] = {KH_ATTR_STRING, 0, 8},  [T_BIN] = {KH_ATTR_BINARY, 4, 16},
        [T_NEST] = {KH_ATTR_NESTED, 0, 0}, [T_U64] = {KH_ATTR_U64, 0, 0},
        [T_ADDR] = {KH_ATTR_ADDR, 0, 0},   [T_SA] = {KH_ATTR_SOCKADDR, 0, 0},
};

static int
parse(const struct buf *b, const struct nlattr **tb)
{
	return kh_attr_parse(b->b, b->len, policy, T_MAX, tb, "test");
}

static void
test_attr_policy(void **state)
{
	const struct nlattr *tb[T_MAX];
	uint32_t v = 0x01020304;
	uint64_t v64 = 7;
	uint8_t bin[20] = {0};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6}, sin6_as4 = {.sin6_family = AF_INET};
	struct buf b;

	(void)state;
	memset(&b, 0, sizeof(b));
	put_attr(&b, T_U8, "\x07", 1);
	put_attr(&b, T_U32, &v, 4);
	put_attr(&b, T_STR, "vx0", 4);
	put_attr(&b, T_BIN, bin, 4);
	put_attr(&b, T_NEST | NLA_F_NESTED, "", 0);
	put_attr(&b, T_U64, &v64, 8);
	put_attr(&b, T_ADDR, bin, 16);
	put_attr(&b, T_SA, &sin6, sizeof(sin6));
	put_attr(&b, 999, "ignored", 7); /* beyond the policy: skipped */
	assert_int_equal(parse(&b, tb), 0);
	assert_int_equal(kh_attr_u8(tb[T_U8]), 7);
	assert_int_equal(kh_attr_u32(tb[T_U32]), v);
	assert_string_equal(kh_attr_data(tb[T_STR]), "vx0");
	assert_int_equal(kh_attr_len(tb[T_BIN]), 4);
	assert_non_null(tb[T_NEST]); /* the flag bits are not part of the type */

	const struct {
		uint16_t type;
		const char *data;
		uint16_t len;
	} bad[] = {
	        {T_U8, "", 0},
	        {T_U32, "\1\2\3", 3},
	        {T_STR, "vx0", 3},      /* no NUL inside */
	        {T_STR, "longname", 9}, /* 8 bytes with the NUL at most */
	        {T_STR, "", 0},
	        {T_BIN, "\1\2\3", 3},
	        {T_BIN, (const char *)bin, 17},
	        {T_U8, "\1\2", 2}, /* integers are exactly their size */
	        {T_U64, (const char *)&v, 4},
	        {T_ADDR, (const char *)bin, 8},
	        {T_SA, (const char *)&sin6_as4, sizeof(sin6_as4)}, /* family and length disagree */
	        {T_SA, (const char *)bin, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&b, 0, sizeof(b));
		put_attr(&b, T_U8, "\x07", 1);
		put_attr(&b, bad[i].type, bad[i].data, bad[i].len);
		assert_int_equal(parse(&b, tb), -EBADMSG);
		assert_non_null(strstr(kh_last_error(), "test: attribute"));
	}
	/* A type the policy reads may come once only. */
	memset(&b, 0, sizeof(b));
	put_attr(&b, T_U32, &v, 4);
	put_attr(&b, T_U32, &v, 4);
	assert_int_equal(parse(&b, tb), -EBADMSG);
	assert_string_equal(kh_last_error(), "test: attribute 2 repeated");

	/* A length running past the buffer, and one shorter than the header. */
	memset(&b, 0, sizeof(b));
	put_attr(&b, T_U32, &v, 4);
	b.len -= 1;
	assert_int_equal(parse(&b, tb), -EBADMSG);
	memset(&b, 0, sizeof(b));
	put_attr(&b, T_U32, &v, 4);
	b.b[0] = 3;
	assert_int_equal(parse(&b, tb), -EBADMSG);
	/* Trailing bytes too short for a header: the kernel pads inside each attribute, so
	 * they are no padding of its. */
	memset(&b, 0, sizeof(b));
	put_attr(&b, T_U32, &v, 4);
	b.len += 3;
	assert_int_equal(parse(&b, tb), -EBADMSG);
	/* The last attribute needs no padding after it. */
	memset(&b, 0, sizeof(b));
	put_attr(&b, T_STR, "ab", 3);
	b.len = NLA_HDRLEN + 3;
	assert_int_equal(parse(&b, tb), 0);
	assert_string_equal(kh_attr_data(tb[T_STR]), "ab");
}

static void
test_invalid_requests_stay_local(void **state)
{
	struct kh_route r = R("10.1.2.3/24", 51820, 200);
	struct kh_rule rule;

	(void)state;
	/* Refused before any socket is opened, with the reason in words. */
	r.oif = 1;
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(),
	                    "install route 10.1.2.3/24 table 51820: host bits set in the prefix");
	r = R("10.1.2.0/24", 0, 200);
	r.oif = 1;
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(), "install route 10.1.2.0/24 table 0: no table");
	r = R("10.1.2.0/24", 51820, 200);
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(), "install route 10.1.2.0/24 table 51820: neither an "
	                                     "output interface nor a gateway");
	r.type = KH_ROUTE_UNREACHABLE;
	r.oif = 1;
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(), "install route 10.1.2.0/24 table 51820: a reject "
	                                     "or throw route has no output interface or gateway");
	r.type = KH_ROUTE_THROW;
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(), "install route 10.1.2.0/24 table 51820: a reject "
	                                     "or throw route has no output interface or gateway");
	r.oif = 0;
	r.type = 2; /* RTN_LOCAL: the kernel's, never netd's */
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(),
	                    "install route 10.1.2.0/24 table 51820: a route type netd does not "
	                    "install");
	r.type = 0;
	assert_int_equal(addr_parse("2001:db8::1", &r.gateway), 0);
	assert_int_equal(kh_route_replace(&r), -EINVAL);
	assert_string_equal(kh_last_error(),
	                    "install route 10.1.2.0/24 table 51820: gateway of another address "
	                    "family");

	memset(&rule, 0, sizeof(rule));
	rule.family = AF_INET;
	rule.priority = 100;
	rule.table = 51820;
	rule.src = P("2001:db8::/32");
	assert_int_equal(kh_rule_add(&rule), -EINVAL);
	assert_string_equal(kh_last_error(), "add rule priority 100 table 51820: source prefix of "
	                                     "another family or with host bits set");
	assert_int_equal(kh_link_add_bridge("a/b", 0, NULL), -EINVAL);
	assert_string_equal(kh_last_error(), "create bridge: invalid interface name \"a/b\"");
	assert_int_equal(kh_link_add_bridge("sixteen-chars-xx", 0, NULL), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_addr_text),
	        cmocka_unit_test(test_prefix_text),
	        cmocka_unit_test(test_mac_text),
	        cmocka_unit_test(test_prefix_relations),
	        cmocka_unit_test(test_route_overlap),
	        cmocka_unit_test(test_attr_policy),
	        cmocka_unit_test(test_invalid_requests_stay_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
