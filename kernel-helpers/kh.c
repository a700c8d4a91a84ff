/* Text forms of MAC addresses and route types, the route and rule checks, and the per-thread
 * description of the last failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kernel-helpers/kh.h"
#include "kernel-helpers/rtnl.h"
#include "kernel-helpers/nl.h"

static _Thread_local char last_error[512];

const char *
kh_last_error(void)
{
	return last_error;
}

int
kh_fail(int err, const char *fmt, ...)
{
	char text[sizeof(last_error)];
	va_list ap;

	/* Formatted aside first: a caller may put the previous text in front of itself. */
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memcpy(last_error, text, sizeof(last_error));
	return err < 0 ? err : -err;
}

void
kh_clear_error(void)
{
	last_error[0] = '\0';
}

int
kh_mac_parse(const char *text, uint8_t mac[KH_MAC_LEN])
{
	uint8_t m[KH_MAC_LEN];

	for (int i = 0; i < KH_MAC_LEN; i++) {
		int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = *text++;
			int d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return -EINVAL;
			v = v * 16 + d;
		}
		m[i] = (uint8_t)v;
		if (*text != (i == KH_MAC_LEN - 1 ? '\0' : ':'))
			return -EINVAL;
		text++;
	}
	memcpy(mac, m, KH_MAC_LEN);
	return 0;
}

const char *
kh_mac_format(const uint8_t mac[KH_MAC_LEN], char buf[KH_MAC_STRLEN])
{
	snprintf(buf, KH_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
	         mac[3], mac[4], mac[5]);
	return buf;
}

enum kh_overlap
kh_route_overlap(const struct kh_route *mine, const struct kh_route *other)
{
	if (mine->dst.addr.family != other->dst.addr.family || mine->table != other->table ||
	    mine->protocol == other->protocol)
		return KH_OVERLAP_NONE;
	if (addr_prefix_equal(&mine->dst, &other->dst))
		return KH_OVERLAP_SAME;
	if (addr_prefix_contains(&mine->dst, &other->dst))
		return KH_OVERLAP_MORE_SPECIFIC;
	/* A default route covers everything and is harmed by nothing. */
	if (other->dst.len > 0 && addr_prefix_contains(&other->dst, &mine->dst))
		return KH_OVERLAP_LESS_SPECIFIC;
	return KH_OVERLAP_NONE;
}

const char *
kh_route_problem(const struct kh_route *route, bool del)
{
	int family = route->dst.addr.family;

	if (family != AF_INET && family != AF_INET6)
		return "not an IPv4 or IPv6 prefix";
	if (!addr_prefix_is_canonical(&route->dst))
		return "host bits set in the prefix";
	if (route->table == 0)
		return "no table";
	if (route->gateway.family != AF_UNSPEC && route->gateway.family != family)
		return "gateway of another address family";
	if (del)
		return NULL;
	if (route->type && route->type != KH_ROUTE_UNICAST && !kh_route_type_hopless(route->type))
		return "a route type netd does not install";
	if (kh_route_type_hopless(route->type)) {
		if (route->oif || route->gateway.family != AF_UNSPEC)
			return "a reject or throw route has no output interface or gateway";
	} else if (!route->oif && route->gateway.family == AF_UNSPEC) {
		return "neither an output interface nor a gateway";
	}
	return NULL;
}

static const char *const route_type_names[] = {
        [KH_ROUTE_UNICAST] = "unicast",
        [KH_ROUTE_BLACKHOLE] = "blackhole",
        [KH_ROUTE_UNREACHABLE] = "unreachable",
        [KH_ROUTE_PROHIBIT] = "prohibit",
        [KH_ROUTE_THROW] = "throw",
};

bool
kh_route_type_rejects(uint8_t type)
{
	return type == KH_ROUTE_BLACKHOLE || type == KH_ROUTE_UNREACHABLE ||
	       type == KH_ROUTE_PROHIBIT;
}

bool
kh_route_type_hopless(uint8_t type)
{
	return kh_route_type_rejects(type) || type == KH_ROUTE_THROW;
}

const char *
kh_route_type_name(uint8_t type, char buf[16])
{
	if (type < sizeof(route_type_names) / sizeof(route_type_names[0]) && route_type_names[type])
		return route_type_names[type];
	snprintf(buf, 16, "type %u", type);
	return buf;
}

int
kh_route_type_parse(const char *name, uint8_t *type)
{
	for (size_t i = 0; i < sizeof(route_type_names) / sizeof(route_type_names[0]); i++) {
		if (route_type_names[i] && strcmp(route_type_names[i], name) == 0) {
			*type = (uint8_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
kh_rule_problem(const struct kh_rule *rule)
{
	if (rule->family != AF_INET && rule->family != AF_INET6)
		return "not an IPv4 or IPv6 rule";
	if (rule->table == 0)
		return "no table";
	if (rule->src.len &&
	    (rule->src.addr.family != rule->family || !addr_prefix_is_canonical(&rule->src)))
		return "source prefix of another family or with host bits set";
	if (rule->dst.len &&
	    (rule->dst.addr.family != rule->family || !addr_prefix_is_canonical(&rule->dst)))
		return "destination prefix of another family or with host bits set";
	return NULL;
}
