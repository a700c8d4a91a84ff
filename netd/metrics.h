/* A builder for the Prometheus text exposition format (version 0.0.4). */
#ifndef NETD_METRICS_H
#define NETD_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct metrics {
	char *buf;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed; metrics_finish returns NULL */
};

void metrics_init(struct metrics *m);

/* Starts a metric family: the HELP and TYPE lines. type is "counter" or "gauge". */
void metrics_family(struct metrics *m, const char *name, const char *type, const char *help);

/* One sample of the current family. labels is NULL or a NULL-terminated list of
 * name, value pairs; values are escaped here. */
void metrics_sample(struct metrics *m, const char *name, const char *const *labels, double value);

/* The text, owned by the caller (free()); NULL if building failed. Resets m. */
char *metrics_finish(struct metrics *m);

#endif
