/* netd-sim's shared state: the event loop and sites (sim.c), the network and host models
 * (net.c), the membership-churn scenarios (churn.c) and the federation's credentials and
 * their scenarios (fed.c). */
#ifndef NETD_SIM_H
#define NETD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/gossip.h"

struct state;

enum scenario {
	SC_STEADY,
	SC_SPREAD,
	SC_CRASH,
	SC_ACCURACY,
	SC_STALL,
	SC_PARTITION,
	SC_LIAR,
	SC_JOIN,
	SC_RESTART,
	SC_LEAVE,
	SC_ADMIT,
	SC_REVOKE,
};

struct opts {
	size_t sites;
	uint64_t seed;
	enum scenario sc;
	double loss;
	double latency_ms, jitter_ms;
	double duration_s; /* measured part; scenario picks a default when 0 */
	double warmup_s;
	bool lifeguard;
	bool wan;
	bool cold;     /* sessions unconfirmed at the start: every first contact is an exchange */
	size_t events; /* updates / crashes / restarts / leaves per run */
	double stall_fraction, stall_s, stall_gap_s;
	double partition_s;
	double split;   /* partition: fraction of sites on the first side; 0: --islands */
	size_t islands; /* partition: groups, site i in group i mod islands */
	size_t nseeds;
	size_t liars;            /* liar scenario: malicious trusted sites added to --sites */
	double lie_rate;         /* datagrams of lies per second per liar */
	double start_spread_s;   /* join: sites start one by one over this long */
	double down_s;           /* restart: how long a restarted site is down */
	bool graceful;           /* restart: it stops with a leave (lingering --linger s) */
	double linger_s;         /* leave: how long a leaving site keeps running */
	bool federation;         /* sites admitted by credential, no trust table */
	double restart_during_s; /* revoke: a site restarts this long after it; < 0: none */
};

enum ev_kind {
	EV_TICK,
	EV_DELIVER, /* a datagram arrives at the site */
	EV_PROCESS, /* an arrived datagram is read, late (slow site) or after a queue */
	EV_STALL_BEGIN,
	EV_STALL_END,
	EV_LIE,
	EV_FLOOD,
};

struct event {
	gossip_time at;
	uint64_t order; /* FIFO among equal times: determinism */
	uint32_t site;
	uint8_t kind;
	uint16_t len;
	uint8_t *data;
	struct addr_endpoint from;
};

struct site {
	struct gossip *g;
	uint8_t priv[32];
	uint8_t pub[32];
	struct wire_desc desc;
	gossip_time scheduled; /* time of the live tick event, INT64_MAX if none */
	bool down;
	bool cold;    /* started from nothing: has confirmed no one's session */
	bool left;    /* called gossip_leave */
	bool outcast; /* its credential was revoked: its own view (everyone gone) is not counted */
	gossip_time stalled_until;
	struct event *held; /* datagrams that arrived while stalled */
	size_t nheld, held_cap;
	int side; /* partition group */
	uint64_t tx_bytes_mark;
	uint32_t restarts;
	/* per-run measurement */
	gossip_time seen_update; /* when this site saw the tracked update */
	gossip_time seen_dead;
	gossip_time full_view;    /* join: when it first held every other site alive */
	gossip_time joined;       /* admit: when it first held the new site */
	gossip_time revoked;      /* revoke: when it took the revoked site out of its view */
	struct gossip_cred *cred; /* --federation: its credential, shared by every view */
	/* A liar runs no gossip instance: sim.c speaks for it with its real key. */
	bool liar;
	struct seal *seal;
	uint32_t inc;           /* the liar's own incarnation */
	struct wire_desc desc0; /* the descriptor every site started with: replayed when stale */
};

extern struct opts O;
extern struct site *S;
extern gossip_time now;
/* While set, datagrams between sites of different sides are lost. */
extern bool partitioned;
/* The site whose update, death, join or revocation the scenario times; -1: none. */
extern int track_site;
/* Declared dead while running; dead after leaving; suspected and dead among impaired sites. */
extern uint64_t false_dead, left_dead, impaired_suspect, impaired_dead;

uint64_t rnd(void);
double rnd01(void);
void push(struct event e);
void run_until(gossip_time end);
void schedule(size_t i);
/* A new gossip instance for site i, not started: remembered members may be added. */
void site_new(size_t i, uint64_t session, uint32_t inc);
void site_start(size_t i);
/* Stops site i as a crash does and frees its gossip instance; st, when not NULL, gets what
 * the daemon's state file holds at its stop (state_clear it). */
void site_stop(size_t i, struct state *st);
/* Starts site i again under a new session at incarnation inc, taking in st (NULL: nothing)
 * as the daemon takes in its state file. */
void site_restart(size_t i, uint32_t inc, const struct state *st);
/* What site i may claim, by its trust entry or its credential, beside its overlay address:
 * its prefix range and its VNI. */
void site_grant(size_t i, struct addr_prefix *prefix, uint32_t *vni);
/* The session of site i's current run: i + 1 for its first, which the converged start holds
 * confirmed everywhere; a new one per restart. */
uint64_t site_session(size_t i);
/* The site named, or -1. */
long site_of_name(const char *name);
/* The index of site j in site i's view, or -1 when i does not admit it (now). */
int member_index(size_t i, size_t j);
void crash(size_t i);
/* Sides of a partition: --split F puts the first F of the sites on side 0; otherwise site i
 * is in group i mod --islands. sizes (ngroups of them) gets each side's count. */
void partition_groups(size_t *sizes, size_t ngroups);
uint64_t total_tx(void);
double round_s(void);
void out_begin(double wall0);
void out_num(const char *key, double v);
double pct(double *v, size_t n, double p);
void *xcalloc(size_t n, size_t size);
/* Runs in steps of step_s until done() holds or limit_s passed; the seconds it took, or
 * INFINITY. */
double run_until_true(bool (*done)(void), double step_s, double limit_s);

/* net.c: every model is off unless its option is given. */
enum net_option {
	OPT_SITE_LOSS = 256,
	OPT_LINK_LOSS,
	OPT_BLOCK,
	OPT_BLOCK_PAIR,
	OPT_BURST,
	OPT_REGIONS,
	OPT_INTRA_LATENCY,
	OPT_INTER_LATENCY,
	OPT_SLOW_FRACTION,
	OPT_SLOW_DELAY,
	OPT_SKEW_FRACTION,
	OPT_SKEW,
	OPT_CAPACITY,
	OPT_QUEUE,
	OPT_FLOOD_SITE,
	OPT_FLOOD_RATE,
};

/* 0, or -1 with a message for a bad value. */
int net_option(int opt, const char *arg);
/* After the sites exist: checks site numbers, draws slow and skewed sites. 0 or -1. */
int net_setup(void);
void net_teardown(void);
/* Whether a datagram from one site to another is lost on the way (sites' access links,
 * the link between them, blocks). */
bool net_lost(size_t from, size_t to);
gossip_time net_latency(size_t from, size_t to);
/* When a datagram arriving now at site i is read: later for a slow site or behind a full
 * receive queue; -1: the queue is full and it is dropped. */
gossip_time net_read_at(size_t i);
/* What site i's own clock reads now, and the simulated time its clock reads local. */
gossip_time net_site_now(size_t i);
gossip_time net_global_time(size_t i, gossip_time local);
/* How late site i does everything (a slow site), 0 for the others. */
gossip_time net_delay(size_t i);
/* A site some model treats worse than the rest: its suspicions are counted apart. */
bool net_impaired(size_t i);
/* Starts the flood, when one is configured. */
void net_start_flood(void);
void net_flood(size_t i);
/* The JSON fields describing the active models and what they did. */
void net_report(void);

/* churn.c */
void sc_join(double wall0);
void sc_restart(double wall0);
void sc_leave(double wall0);

/* fed.c: a federation "sim" of 3 authorities, threshold 2, every site with a credential
 * signed by 2 of them; its clock is FED_T0 plus the simulated seconds. */
void fed_setup(void);
/* What site i's gossip configuration needs to run in the federation. */
void fed_config(size_t i, struct gossip_config *cfg);
/* The converged start: site i admits every other site's credential, in site order. */
void fed_admit_all(size_t i, size_t nsites);
void sc_admit(double wall0);
void sc_revoke(double wall0);

#endif
