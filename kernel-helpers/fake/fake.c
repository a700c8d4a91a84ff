/* The fake kernel's bookkeeping: who is acting, the log and counters of calls, injected
 * failures, and the monitors -- eventfds that become readable while announcements wait. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "kernel-helpers/fake/fake_internal.h"
#include "kernel-helpers/nl.h"

/* Events handed out per kh_monitor_read, as the real one bounds its datagrams per call. */
#define READ_BATCH 256

struct injected {
	unsigned count;
	unsigned skip; /* calls that succeed before the first that fails */
	int err;
};

struct kh_monitor {
	int fd;
	struct kh_event *queue; /* ring of cap entries, n of them from head on */
	size_t head, n, cap;
	bool overrun; /* events were lost: a resync is due before anything else */
	struct kh_monitor_stats stats;
	struct kh_monitor *next;
};

static struct {
	enum fake_actor actor;
	struct fake_op *ops;
	size_t nops, capops;
	size_t count[FAKE_OP_KIND_COUNT];
	size_t changes;
	struct injected fail[FAKE_OP_KIND_COUNT];
	unsigned slow[FAKE_OP_KIND_COUNT]; /* microseconds added to each call of a kind */
	/* fake_measure_at: the call to measure at, how, and what it gave (0: not yet). */
	enum fake_op_kind measure_kind;
	size_t (*measure)(void);
	size_t measured;
	struct kh_monitor *monitors;
	bool ready;
} F;

static const struct {
	const char *name;
	bool change;
} kinds[FAKE_OP_KIND_COUNT] = {
        [FAKE_OP_ANY] = {"any", false},
        [FAKE_OP_LINK_ADD_VXLAN] = {"link add vxlan", true},
        [FAKE_OP_LINK_ADD_BRIDGE] = {"link add bridge", true},
        [FAKE_OP_LINK_DEL] = {"link del", true},
        [FAKE_OP_LINK_SET_MASTER] = {"link set master", true},
        [FAKE_OP_LINK_SET_MTU] = {"link set mtu", true},
        [FAKE_OP_LINK_SET_UP] = {"link set up", true},
        [FAKE_OP_LINK_GET] = {"link get", false},
        [FAKE_OP_LINK_LIST] = {"link list", false},
        [FAKE_OP_ADDR_ADD] = {"addr add", true},
        [FAKE_OP_ADDR_DEL] = {"addr del", true},
        [FAKE_OP_ADDR_LIST] = {"addr list", false},
        [FAKE_OP_ROUTE_REPLACE] = {"route replace", true},
        [FAKE_OP_ROUTE_DEL] = {"route del", true},
        [FAKE_OP_ROUTE_LIST] = {"route list", false},
        [FAKE_OP_RULE_ADD] = {"rule add", true},
        [FAKE_OP_RULE_DEL] = {"rule del", true},
        [FAKE_OP_RULE_LIST] = {"rule list", false},
        [FAKE_OP_FDB_APPEND] = {"fdb append", true},
        [FAKE_OP_FDB_REPLACE] = {"fdb replace", true},
        [FAKE_OP_FDB_DEL] = {"fdb del", true},
        [FAKE_OP_FDB_LIST] = {"fdb list", false},
        [FAKE_OP_NEIGH_REPLACE] = {"neigh replace", true},
        [FAKE_OP_NEIGH_DEL] = {"neigh del", true},
        [FAKE_OP_NEIGH_LIST] = {"neigh list", false},
        [FAKE_OP_MONITOR_OPEN] = {"monitor open", false},
        [FAKE_OP_WG_ADD] = {"wg add", true},
        [FAKE_OP_WG_DEL] = {"wg del", true},
        [FAKE_OP_WG_GET] = {"wg get", false},
        [FAKE_OP_WG_SET] = {"wg set", true},
        [FAKE_OP_WG_LIST] = {"wg list", false},
        [FAKE_OP_WG_BACKEND] = {"wg backend", false},
        [FAKE_OP_WG_KERNEL_AVAILABLE] = {"wg kernel-available", false},
        [FAKE_OP_WG_USERSPACE_START] = {"wg userspace-start", true},
};

/* The first call into the fake sets up the fresh namespace a test expects. */
void
fake_ensure_ready(void)
{
	if (F.ready)
		return;
	F.ready = true;
	F.actor = FAKE_SETUP;
	fake_links_init();
	fake_rules_init();
	F.actor = FAKE_NETD;
}

void
fake_text_add(struct fake_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			goto oom;
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap : 64;
		while (cap - t->len <= (size_t)n)
			cap *= 2;
		char *s = realloc(t->s, cap);
		if (!s)
			goto oom;
		t->s = s;
		t->cap = cap;
	}
oom:
	free(t->s);
	t->s = NULL;
	t->len = t->cap = 0;
	t->oom = true;
}

const char *
fake_ifname(uint32_t ifindex, char buf[IFNAMSIZ + 12])
{
	struct fake_link *l = fake_link_by_index(ifindex);

	if (l)
		snprintf(buf, IFNAMSIZ + 12, "%s", l->l.name);
	else
		snprintf(buf, IFNAMSIZ + 12, "#%u", ifindex);
	return buf;
}

void
fake_act_as(enum fake_actor actor)
{
	fake_ensure_ready();
	F.actor = actor;
}

enum fake_actor
fake_current_actor(void)
{
	fake_ensure_ready();
	return F.actor;
}

/* Slot for calls that are not logged. */
#define NO_SLOT ((size_t)-1)

int
fake_op_begin(enum fake_op_kind kind, struct fake_text *text, size_t *slot)
{
	struct injected *inj = NULL;
	struct fake_op *op;

	fake_ensure_ready();
	*slot = NO_SLOT;
	if (F.actor != FAKE_NETD) {
		free(text->s);
		return 0;
	}
	if (F.nops == F.capops) {
		size_t cap = F.capops ? F.capops * 2 : 64;
		struct fake_op *ops = realloc(F.ops, cap * sizeof(*ops));

		if (!ops) {
			free(text->s);
			return -ENOMEM;
		}
		F.ops = ops;
		F.capops = cap;
	}
	op = &F.ops[F.nops];
	op->kind = kind;
	op->change = kinds[kind].change;
	op->result = 0;
	op->text = text->s ? text->s : kinds[kind].name;
	*slot = F.nops++;
	F.count[kind]++;
	F.count[FAKE_OP_ANY]++;
	if (op->change)
		F.changes++;
	if (F.slow[kind])
		usleep(F.slow[kind]);
	if (F.measure && F.measure_kind == FAKE_OP_ANY) {
		size_t m = F.measure();

		if (m > F.measured)
			F.measured = m;
	} else if (F.measure && F.measure_kind == kind) {
		F.measured = F.measure();
		F.measure = NULL;
	}
	if (F.fail[kind].count)
		inj = &F.fail[kind];
	else if (F.fail[FAKE_OP_ANY].count)
		inj = &F.fail[FAKE_OP_ANY];
	if (!inj)
		return 0;
	if (inj->skip) {
		inj->skip--;
		return 0;
	}
	inj->count--;
	return -inj->err;
}

int
fake_op_end(size_t slot, int result)
{
	if (slot != NO_SLOT && slot < F.nops)
		F.ops[slot].result = result;
	return result;
}

const char *
fake_op_text(size_t slot)
{
	if (slot == NO_SLOT || slot >= F.nops)
		return "";
	return F.ops[slot].text;
}

size_t
fake_ops(const struct fake_op **ops)
{
	fake_ensure_ready();
	*ops = F.ops;
	return F.nops;
}

size_t
fake_count(enum fake_op_kind kind)
{
	fake_ensure_ready();
	return (unsigned)kind < FAKE_OP_KIND_COUNT ? F.count[kind] : 0;
}

size_t
fake_changes(void)
{
	fake_ensure_ready();
	return F.changes;
}

const char *
fake_op_name(enum fake_op_kind kind)
{
	return (unsigned)kind < FAKE_OP_KIND_COUNT ? kinds[kind].name : "unknown";
}

char *
fake_log(bool changes_only)
{
	struct fake_text t = {0};

	fake_ensure_ready();
	fake_text_add(&t, "%s", "");
	for (size_t i = 0; i < F.nops; i++) {
		const struct fake_op *op = &F.ops[i];

		if (changes_only && !op->change)
			continue;
		fake_text_add(&t, "%s", op->text);
		if (op->result < 0) {
			const char *name = strerrorname_np(-op->result);

			if (name)
				fake_text_add(&t, " -> %s", name);
			else
				fake_text_add(&t, " -> %d", op->result);
		}
		fake_text_add(&t, "\n");
	}
	return t.s;
}

static void
free_ops(void)
{
	for (size_t i = 0; i < F.nops; i++)
		if (F.ops[i].text != kinds[F.ops[i].kind].name)
			free((char *)F.ops[i].text);
	free(F.ops);
	F.ops = NULL;
	F.nops = F.capops = 0;
	memset(F.count, 0, sizeof(F.count));
	F.changes = 0;
}

void
fake_clear_ops(void)
{
	fake_ensure_ready();
	free_ops();
}

void
fake_fail(enum fake_op_kind kind, unsigned count, int err)
{
	fake_ensure_ready();
	if ((unsigned)kind >= FAKE_OP_KIND_COUNT)
		return;
	F.fail[kind].count = count;
	F.fail[kind].skip = 0;
	F.fail[kind].err = err < 0 ? -err : err;
}

void
fake_fail_after(enum fake_op_kind kind, unsigned skip, int err)
{
	fake_fail(kind, 1, err);
	if ((unsigned)kind < FAKE_OP_KIND_COUNT)
		F.fail[kind].skip = skip;
}

void
fake_slow(enum fake_op_kind kind, unsigned usec)
{
	fake_ensure_ready();
	if ((unsigned)kind < FAKE_OP_KIND_COUNT)
		F.slow[kind] = usec;
}

void
fake_measure_at(enum fake_op_kind kind, size_t (*measure)(void))
{
	fake_ensure_ready();
	F.measure_kind = kind;
	F.measure = measure;
	F.measured = 0;
}

size_t
fake_measured(void)
{
	return F.measured;
}

/* --- monitors --- */

static bool
mon_readable(const struct kh_monitor *m)
{
	return m->n > 0 || m->overrun;
}

/* The eventfd's counter is non-zero exactly while something waits. */
static void
mon_sync(struct kh_monitor *m, bool was_readable)
{
	uint64_t v = 1;

	if (!was_readable && mon_readable(m)) {
		if (write(m->fd, &v, sizeof(v)) < 0)
			return;
	} else if (was_readable && !mon_readable(m)) {
		if (read(m->fd, &v, sizeof(v)) < 0)
			return;
	}
}

static void
mon_push(struct kh_monitor *m, const struct kh_event *ev)
{
	bool was_readable = mon_readable(m);

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct kh_event *q = malloc(cap * sizeof(*q));

		if (!q) {
			/* Nowhere to put it: lost, and the reader is told so. */
			m->overrun = true;
			mon_sync(m, was_readable);
			return;
		}
		for (size_t i = 0; i < m->n; i++)
			q[i] = m->queue[(m->head + i) % m->cap];
		free(m->queue);
		m->queue = q;
		m->cap = cap;
		m->head = 0;
	}
	m->queue[(m->head + m->n) % m->cap] = *ev;
	m->n++;
	mon_sync(m, was_readable);
}

void
fake_announce(const struct kh_event *ev)
{
	fake_ensure_ready();
	if (F.actor == FAKE_SETUP)
		return;
	for (struct kh_monitor *m = F.monitors; m; m = m->next)
		mon_push(m, ev);
}

void
fake_announce_link(enum kh_event_type type, const struct kh_link *link)
{
	struct kh_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.link = *link;
	fake_announce(&ev);
}

void
fake_monitor_overrun(void)
{
	fake_ensure_ready();
	for (struct kh_monitor *m = F.monitors; m; m = m->next) {
		bool was_readable = mon_readable(m);

		m->n = 0;
		m->head = 0;
		m->overrun = true;
		mon_sync(m, was_readable);
	}
}

size_t
fake_monitor_pending(const struct kh_monitor *mon)
{
	return mon->n + (mon->overrun ? 1 : 0);
}

void
fake_monitors_reset(void)
{
	for (struct kh_monitor *m = F.monitors; m; m = m->next) {
		bool was_readable = mon_readable(m);

		m->n = 0;
		m->head = 0;
		m->overrun = false;
		mon_sync(m, was_readable);
	}
}

int
kh_monitor_open(size_t rcvbuf, struct kh_monitor **out)
{
	struct fake_text t = {0};
	struct kh_monitor *m = NULL;
	size_t slot;
	int err;

	(void)rcvbuf; /* the fake's queues grow as needed; fake_monitor_overrun stands in */
	fake_text_add(&t, "monitor open");
	err = fake_op_begin(FAKE_OP_MONITOR_OPEN, &t, &slot);
	if (err < 0) {
		err = kh_fail(err, "open netlink monitor: %s (injected failure)", strerror(-err));
		goto fail;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		err = kh_fail(-ENOMEM, "open netlink monitor: out of memory");
		goto fail;
	}
	m->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->fd < 0) {
		err = kh_fail(-errno, "open netlink monitor: eventfd: %s", strerror(errno));
		goto fail;
	}
	m->next = F.monitors;
	F.monitors = m;
	*out = m;
	return fake_op_end(slot, 0);
fail:
	free(m);
	return fake_op_end(slot, err);
}

void
kh_monitor_close(struct kh_monitor *mon)
{
	if (!mon)
		return;
	for (struct kh_monitor **p = &F.monitors; *p; p = &(*p)->next) {
		if (*p == mon) {
			*p = mon->next;
			break;
		}
	}
	close(mon->fd);
	free(mon->queue);
	free(mon);
}

int
kh_monitor_fd(const struct kh_monitor *mon)
{
	return mon->fd;
}

void
kh_monitor_get_stats(const struct kh_monitor *mon, struct kh_monitor_stats *stats)
{
	*stats = mon->stats;
}

int
kh_monitor_read(struct kh_monitor *mon, kh_event_cb cb, void *arg)
{
	int delivered = 0;

	while (mon_readable(mon) && delivered < READ_BATCH) {
		bool was_readable = true;
		struct kh_event ev;

		/* Copied out first: the callback may change the kernel, which queues more. */
		if (mon->overrun) {
			memset(&ev, 0, sizeof(ev));
			ev.type = KH_EV_RESYNC;
			mon->overrun = false;
			mon->stats.resyncs++;
		} else {
			ev = mon->queue[mon->head];
			mon->head = (mon->head + 1) % mon->cap;
			mon->n--;
			mon->stats.datagrams++;
		}
		mon_sync(mon, was_readable);
		mon->stats.events++;
		delivered++;
		cb(&ev, arg);
	}
	return delivered;
}

void
fake_reset(void)
{
	F.ready = true;
	fake_wg_reset();
	fake_routes_free();
	fake_links_free();
	free_ops();
	memset(F.fail, 0, sizeof(F.fail));
	memset(F.slow, 0, sizeof(F.slow));
	F.measure = NULL;
	F.measured = 0;
	fake_monitors_reset();
	/* A fresh namespace is there without a word. */
	F.actor = FAKE_SETUP;
	fake_links_init();
	fake_rules_init();
	F.actor = FAKE_NETD;
}
