/* hellostorm: an outsider flooding gossip seeds with hellos that name trusted sites, for the
 * lab's flood test. With -s it spoofs: a raw socket, each hello from a random address of
 * PREFIX and a random port. Without, it sends from its own address and answers every cookie
 * reply with a hello carrying that cookie, as an attacker that owns its address would.
 * Always bounded: -n hellos at most, for -t seconds at most. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netd/wire.h"

#define MAX_TARGETS 8
#define MAX_NAMES   64

static const char usage_text[] =
        "usage: hellostorm [-s ADDR/LEN] [-r RATE] [-n COUNT] [-t SECONDS] -d ADDR:PORT "
        "[-d ADDR:PORT...] NAME...\n"
        "  -s  spoof sources from this IPv4 prefix (needs CAP_NET_RAW)\n"
        "  -r  hellos per second to each target (default 10000)\n"
        "  -n  at most this many hellos in all (default 100000)\n"
        "  -t  for at most this many seconds (default 10)\n";

static struct sockaddr_in targets[MAX_TARGETS];
static size_t ntargets;
static const char *names[MAX_NAMES];
static size_t nnames;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
parse_target(const char *s, struct sockaddr_in *sin)
{
	char addr[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
}

/* A hello without a cookie; the nonce says which name it claims, so that a cookie reply
 * can be answered under the same name. */
static void
make_hello(uint8_t buf[WIRE_HELLO_LEN], const uint8_t *cookie, uint64_t nonce)
{
	struct wire_hello h = {0};

	snprintf(h.name, sizeof(h.name), "%s", names[nonce % nnames]);
	h.nonce = nonce;
	if (cookie != NULL) {
		h.has_cookie = true;
		memcpy(h.cookie, cookie, WIRE_COOKIE_LEN);
	}
	if (wire_hello_encode(&h, buf, WIRE_HELLO_LEN) != WIRE_HELLO_LEN) {
		fprintf(stderr, "hellostorm: %s: not a site name\n", h.name);
		exit(2);
	}
}

static void
send_spoofed(int fd, const struct sockaddr_in *to, uint32_t net, uint32_t hostmask)
{
	uint8_t pkt[sizeof(struct iphdr) + sizeof(struct udphdr) + WIRE_HELLO_LEN] = {0};
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
	uint64_t r = rnd();

	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof(pkt));
	ip->saddr = htonl(net | ((uint32_t)r & hostmask));
	ip->daddr = to->sin_addr.s_addr;
	udp->source = htons((uint16_t)(1024 + (r >> 32) % 64000));
	udp->dest = to->sin_port;
	udp->len = htons(sizeof(*udp) + WIRE_HELLO_LEN);
	/* The UDP checksum stays zero: optional over IPv4. */
	make_hello(pkt + sizeof(*ip) + sizeof(*udp), NULL, rnd());
	sendto(fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)to, sizeof(*to));
}

/* Every cookie reply waiting, sent back as a hello with that cookie to where it came from. */
static unsigned long
answer_cookies(int fd)
{
	uint8_t buf[WIRE_DATAGRAM_MAX], hello[WIRE_HELLO_LEN];
	unsigned long n = 0;
	struct sockaddr_in from;
	socklen_t sl = sizeof(from);
	struct wire_cookie c;
	ssize_t len;

	while ((len = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
	                       &sl)) >= 0) {
		if (wire_cookie_decode(buf, (size_t)len, &c) == 0) {
			make_hello(hello, c.cookie, c.nonce);
			sendto(fd, hello, sizeof(hello), 0, (struct sockaddr *)&from, sl);
			n++;
		}
		sl = sizeof(from);
	}
	return n;
}

int
main(int argc, char **argv)
{
	double rate = 10000, seconds = 10, t0, elapsed = 0;
	unsigned long count = 100000, sent = 0, answered = 0;
	uint32_t net = 0, hostmask = 0;
	bool spoof = false;
	int opt, fd;

	while ((opt = getopt(argc, argv, "s:r:n:t:d:h")) != -1) {
		switch (opt) {
		case 's': {
			char addr[INET_ADDRSTRLEN], *slash = strchr(optarg, '/');
			struct in_addr in;
			long len;

			if (slash == NULL || (size_t)(slash - optarg) >= sizeof(addr))
				goto usage;
			memcpy(addr, optarg, (size_t)(slash - optarg));
			addr[slash - optarg] = '\0';
			len = strtol(slash + 1, NULL, 10);
			if (inet_pton(AF_INET, addr, &in) != 1 || len < 8 || len > 30)
				goto usage;
			hostmask = (1u << (32 - len)) - 1;
			net = ntohl(in.s_addr) & ~hostmask;
			spoof = true;
			break;
		}
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'd':
			if (ntargets == MAX_TARGETS ||
			    parse_target(optarg, &targets[ntargets]) != 0)
				goto usage;
			ntargets++;
			break;
		default:
			goto usage;
		}
	}
	for (; optind < argc && nnames < MAX_NAMES; optind++)
		names[nnames++] = argv[optind];
	if (ntargets == 0 || nnames == 0 || rate <= 0 || seconds <= 0)
		goto usage;
	fd = spoof ? socket(AF_INET, SOCK_RAW, IPPROTO_RAW) : socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		fprintf(stderr, "hellostorm: socket: %s\n", strerror(errno));
		return 1;
	}
	rng ^= (uint64_t)getpid() << 20 ^ (uint64_t)(now_s() * 1e6);
	t0 = now_s();
	/* Paced by the clock: what is due by now goes out, then a short sleep. */
	while (sent < count && (elapsed = now_s() - t0) < seconds) {
		unsigned long due = (unsigned long)(elapsed * rate * (double)ntargets);

		for (; sent < due && sent < count; sent++) {
			const struct sockaddr_in *to = &targets[sent % ntargets];

			if (spoof) {
				send_spoofed(fd, to, net, hostmask);
			} else {
				uint8_t hello[WIRE_HELLO_LEN];

				make_hello(hello, NULL, rnd());
				sendto(fd, hello, sizeof(hello), 0, (const struct sockaddr *)to,
				       sizeof(*to));
			}
		}
		if (!spoof)
			answered += answer_cookies(fd);
		usleep(200);
	}
	printf("hellostorm: %lu hellos in %.2f s (%.0f/s), %lu cookies returned\n", sent, elapsed,
	       elapsed > 0 ? (double)sent / elapsed : 0.0, answered);
	close(fd);
	return 0;
usage:
	fputs(usage_text, stderr);
	return 2;
}
