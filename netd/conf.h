/* The site configuration: parsed from a libconfig file into an immutable, typed object,
 * then validated as a whole. Loading has no side effects beyond reading the files named. */
#ifndef NETD_CONF_H
#define NETD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "netd/addr.h"
#include "netd/cred.h"
#include "netd/ctlproto.h"
#include "netd/gossip_profile.h"
#include "netd/key.h"

#define CONF_DEFAULT_FILE          NETD_SYSCONFDIR "/netd/netd.conf"
#define CONF_DEFAULT_INTERFACE     "wg-netd"
#define CONF_DEFAULT_SOCKET        CTL_DEFAULT_SOCKET
#define CONF_DEFAULT_SOCKET_MODE   0660
#define CONF_DEFAULT_LISTEN_PORT   51820
#define CONF_DEFAULT_GOSSIP_PORT   7946
#define CONF_DEFAULT_TABLE         51820
#define CONF_DEFAULT_PROTOCOL      200
#define CONF_DEFAULT_USERSPACE_CMD "wireguard-go"
#define CONF_DEFAULT_VXLAN_PORT    4789
#define CONF_DEFAULT_DEAD_HOLD     30 /* seconds */
#define CONF_DEFAULT_STATE_FILE    NETD_LOCALSTATEDIR "/lib/netd/gossip.state"
#define CONF_MAX_OVERLAY           2  /* at most one IPv4 and one IPv6 */
#define CONF_MAX_RELAYS            4  /* a descriptor names at most this many */
#define CONF_NAME_SIZE             33 /* site names: 1..32 characters */
#define CONF_VNI_MAX               16777215u
#define CONF_TABLE_MAIN            254
/* The VXLAN device of a segment is named for its VNI; no other interface may take the name. */
#define CONF_VXLAN_IFNAME_FMT  "vxlan%u"
#define CONF_VXLAN_IFNAME_SIZE 16

enum conf_gossip_profile {
	CONF_GOSSIP_LAN,
	CONF_GOSSIP_WAN,
};

enum conf_backend {
	CONF_BACKEND_AUTO,
	CONF_BACKEND_KERNEL,
	CONF_BACKEND_USERSPACE,
};

struct conf_segment {
	char *name;
	uint32_t vni;
	char *bridge; /* bridge interface name */
	char **ports; /* local interfaces enslaved to the bridge; may be empty */
	size_t nports;
	uint16_t vxlan_port; /* UDP destination port of the VXLAN device */
	int line;
};

/* A remote site this site accepts, and what it may advertise. */
struct conf_trust {
	char *name;
	uint8_t public_key[KEY_LEN];
	struct addr_prefix *prefixes; /* prefixes the site may advertise (subnets allowed) */
	size_t nprefixes;
	/* Where its overlay (VTEP) addresses must lie: addresses (full length) or ranges. None:
	 * inside its prefixes. */
	struct addr_prefix *overlay;
	size_t noverlay;
	uint32_t *vnis; /* segments the site may join */
	size_t nvnis;
	int line;
};

/* A rule on a credential's attribute: KEY=V1,V2 holds when the attribute is one of the values,
 * KEY!=V1,V2 when it is none of them (an attribute the credential does not state satisfies
 * != and fails =). */
struct conf_rule {
	char key[CRED_LABEL_KEY_MAX + 1]; /* "provider", "jurisdiction" or a label's key */
	bool negated;                     /* != */
	char (*values)[CRED_VALUE_MAX + 1];
	size_t nvalues;
	char *name; /* how a refusal names it: "require KEY=V1,V2", "segment VNI require ..." */
	const char *text; /* the rule as written, "KEY=V1,V2" (its canonical form): inside name */
	int line;
};

/* The rules a site must meet for this site to share a segment with it. */
struct conf_policy_segment {
	uint32_t vni;
	struct conf_rule *rules;
	size_t nrules;
	int line;
};

/* What a site may claim of what it is granted: only prefixes inside these. */
struct conf_policy_narrow {
	char *site;
	struct addr_prefix *prefixes;
	size_t nprefixes;
	int line;
};

struct conf_policy_deny {
	char *site;
	int line;
};

/* Local sovereignty: what this site refuses of what a trust entry or a federation credential
 * grants. deny and narrow apply to every site; the rules apply to sites admitted by a
 * credential only (a trust entry is the operator's own explicit grant). */
struct conf_policy {
	const char *file; /* the config's path, for messages; owned by the struct conf */
	struct conf_policy_deny *deny;
	size_t ndeny;
	struct conf_rule *require;
	size_t nrequire;
	struct conf_policy_segment *segments;
	size_t nsegments;
	struct conf_policy_narrow *narrow;
	size_t nnarrow;
};

struct conf {
	char *file; /* the path it was loaded from */

	char *site_name;
	int log_level; /* enum log_level */

	struct {
		char *interface;
		uint16_t listen_port;
		char *private_key_file;
		uint8_t *private_key;        /* KEY_LEN bytes, key_secret_new */
		uint8_t public_key[KEY_LEN]; /* derived from private_key */
		enum conf_backend backend;
		char *userspace_command;
		uint32_t fwmark; /* 0 = none */
		uint32_t mtu;    /* 0 = computed from the underlay */
		bool behind_nat; /* keep NAT mappings open towards every peer */
		/* Relaying: this site carries traffic between sites that name it (relay), and
		 * the sites this one lets carry its own when no direct path works (relays). */
		bool relay;
		char relays[CONF_MAX_RELAYS][CONF_NAME_SIZE];
		size_t nrelays;
	} wg;

	struct addr_prefix overlay[CONF_MAX_OVERLAY]; /* the site's VTEP address(es), len = full */
	size_t noverlay;

	struct {
		struct addr_endpoint bind;
		bool has_advertise;
		struct addr_prefix advertise; /* underlay address other sites reach us at */
		struct addr_endpoint *seeds;
		size_t nseeds;
		enum conf_gossip_profile profile;
		/* The profile's timing with every override of the file applied; passes
		 * gossip_profile_check. */
		struct gossip_profile timing;
		uint32_t dead_hold; /* seconds a dead site keeps its tunnel and routes, 0..86400 */
		char *state_file;   /* absolute path: the incarnation and the view */
	} gossip;

	struct addr_prefix *prefixes; /* prefixes this site advertises */
	size_t nprefixes;

	struct {
		uint32_t table;   /* 254 = main */
		uint8_t protocol; /* route protocol number that marks netd's routes */
	} routing;

	struct conf_segment *segments;
	size_t nsegments;

	struct conf_trust *trust;
	size_t ntrust;

	/* The federation whose authorities' credentials admit sites besides the trust entries,
	 * and what this site's own credential says of it. */
	struct {
		bool present;
		char *name;
		uint8_t (*authorities)[CRED_KEY_LEN]; /* Ed25519 public keys, in the file's order */
		size_t nauthorities;
		unsigned threshold;      /* 1..nauthorities */
		char *credential_file;   /* NULL: none */
		struct cred *credential; /* decoded from credential_file at load; not verified */
		/* The credential for the key this site moves to next: announced ahead of the switch
		 * (make before break). NULL: none. */
		char *next_credential_file;
		struct cred *next_credential;
		/* The federation's address space: what of it no tunnel route covers is unreachable
		 * from this site (fail closed), less this site's own prefixes and overlay. */
		struct addr_prefix *fence;
		size_t nfence;
		bool pin_authorities;      /* authority updates spread by gossip are not taken */
		char *provider;            /* NULL: not stated */
		char jurisdiction[3];      /* "" : not stated */
		struct cred_label *labels; /* in the file's order */
		size_t nlabels;
		int line;
	} federation;

	struct conf_policy policy;

	struct {
		char *socket;
		mode_t mode;
		char *group; /* NULL: only root may use mutating commands */
	} control;

	/* The Prometheus scrape endpoint: bound at start, before privileges drop. */
	struct {
		bool enabled; /* off by default */
		struct addr_endpoint listen;
	} metrics;
};

/* Every problem found, each formatted "FILE:LINE: message" (or "FILE: message" when no
 * line applies), in file order. */
struct conf_errors {
	char **msgs;
	size_t n;
};

void conf_errors_free(struct conf_errors *errs);

/* Parse and validate the file at path. On success returns a config the caller frees with
 * conf_free(). On failure returns NULL and appends every error found to errs. */
struct conf *conf_load(const char *path, struct conf_errors *errs);

/* As conf_load, from a string already in memory; name stands for the file in messages.
 * Files the text refers to (the private key file) are still read. */
struct conf *conf_load_string(const char *text, const char *name, struct conf_errors *errs);

void conf_free(struct conf *conf);

/* Print the normalised config (every option, defaults made explicit, canonical address
 * forms) in the config file's own syntax: it parses again to an equal config. */
int conf_print(const struct conf *conf, FILE *out);

/* The normalised config as JSON for the status socket; private keys never appear. */
json_t *conf_to_json(const struct conf *conf);

/* What a reload from one config to another takes, one bit per kind of setting changed. This
 * is where every setting is sorted by how it is applied. */
enum conf_change {
	CONF_CHANGE_LIVE = 1 << 0,        /* applied as a difference by the running site (the
	                                   * local policy among it) */
	CONF_CHANGE_GOSSIP_BIND = 1 << 1, /* a new gossip socket */
	CONF_CHANGE_GOSSIP = 1 << 2,      /* a new gossip instance: identity, trust, federation,
	                                   * own credential, timing, seeds, state file */
	CONF_CHANGE_CONTROL = 1 << 3,     /* the status socket's or the metrics endpoint's: only at
	                                   * the next start */
};

/* The conf_change bits for going from a to b; 0 when they describe the same configuration. */
unsigned conf_changes(const struct conf *a, const struct conf *b);

/* True when a and b describe the same configuration (the round-trip tests). */
bool conf_equal(const struct conf *a, const struct conf *b);

/* The federation's authority set as the config names it (version 0, keys sorted). The
 * federation must be present. */
void conf_federation_set(const struct conf *conf, struct cred_authorities *set);

const char *conf_backend_name(enum conf_backend backend);
const char *conf_gossip_profile_name(enum conf_gossip_profile profile);

#endif
