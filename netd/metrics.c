/* Prometheus text exposition: families with HELP/TYPE, samples with escaped labels. */
#include "netd/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
}

static void
metrics_append(struct metrics *m, const char *s, size_t n)
{
	if (m->failed)
		return;
	if (m->len + n + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 1024;
		char *nbuf;

		while (m->len + n + 1 > cap)
			cap *= 2;
		nbuf = realloc(m->buf, cap);
		if (nbuf == NULL) {
			m->failed = true;
			return;
		}
		m->buf = nbuf;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, s, n);
	m->len += n;
	m->buf[m->len] = '\0';
}

static void
metrics_puts(struct metrics *m, const char *s)
{
	metrics_append(m, s, strlen(s));
}

/* HELP text escapes backslash and newline; label values also escape the double quote. */
static void
metrics_put_escaped(struct metrics *m, const char *s, bool quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			metrics_puts(m, "\\\\");
		else if (*s == '\n')
			metrics_puts(m, "\\n");
		else if (quote && *s == '"')
			metrics_puts(m, "\\\"");
		else
			metrics_append(m, s, 1);
	}
}

void
metrics_family(struct metrics *m, const char *name, const char *type, const char *help)
{
	metrics_puts(m, "# HELP ");
	metrics_puts(m, name);
	metrics_puts(m, " ");
	metrics_put_escaped(m, help, false);
	metrics_puts(m, "\n# TYPE ");
	metrics_puts(m, name);
	metrics_puts(m, " ");
	metrics_puts(m, type);
	metrics_puts(m, "\n");
}

void
metrics_sample(struct metrics *m, const char *name, const char *const *labels, double value)
{
	char num[64];

	metrics_puts(m, name);
	if (labels != NULL && labels[0] != NULL) {
		metrics_puts(m, "{");
		for (size_t i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
			if (i > 0)
				metrics_puts(m, ",");
			metrics_puts(m, labels[i]);
			metrics_puts(m, "=\"");
			metrics_put_escaped(m, labels[i + 1], true);
			metrics_puts(m, "\"");
		}
		metrics_puts(m, "}");
	}
	if (isnan(value))
		snprintf(num, sizeof(num), " NaN\n");
	else if (isinf(value))
		snprintf(num, sizeof(num), value > 0 ? " +Inf\n" : " -Inf\n");
	else
		snprintf(num, sizeof(num), " %.17g\n", value);
	metrics_puts(m, num);
}

char *
metrics_finish(struct metrics *m)
{
	char *out = m->failed ? NULL : m->buf;

	if (m->failed)
		free(m->buf);
	else if (out == NULL)
		out = strdup("");
	metrics_init(m);
	return out;
}
