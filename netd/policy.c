/* The local policy's verdicts: deny, the credential attribute rules, narrowing. */
#include "netd/policy.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A sentence built in pieces into why[len], cut at its end; why may be NULL. */
struct sentence {
	char *buf;
	size_t len, at;
};

__attribute__((format(printf, 2, 3))) static void
say(struct sentence *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->buf == NULL || s->at + 1 >= s->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->at, s->len - s->at, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->at = s->at + (size_t)n < s->len ? s->at + (size_t)n : s->len - 1;
}

/* Every refusal starts with where its rule is written. */
static struct sentence
refusal(const struct conf_policy *p, int line, char *why, size_t len)
{
	struct sentence s = {len > 0 ? why : NULL, len, 0};

	if (s.buf != NULL)
		s.buf[0] = '\0';
	if (p->file != NULL)
		say(&s, "policy rule at %s:%d: ", p->file, line);
	else
		say(&s, "policy rule at line %d: ", line);
	return s;
}

/* Whether c meets r; when it does not, the sentence goes to why. */
static bool
rule_holds(const struct conf_policy *p, const struct conf_rule *r, const struct cred *c, char *why,
           size_t len)
{
	const char *v = cred_attribute(c, r->key);
	bool listed = false;
	struct sentence s;

	for (size_t i = 0; v != NULL && i < r->nvalues && !listed; i++)
		listed = strcmp(v, r->values[i]) == 0;
	if (r->negated != listed)
		return true;
	s = refusal(p, r->line, why, len);
	if (r->negated) {
		say(&s, "%s is %s, which the rule excludes", r->key, v);
		return false;
	}
	if (v != NULL)
		say(&s, "%s is %s, not ", r->key, v);
	else
		say(&s, "%s is not stated, must be ", r->key);
	/* "DE", "DE or FR", "DE, FR or IT" */
	for (size_t i = 0; i < r->nvalues; i++)
		say(&s, "%s%s", i == 0 ? "" : i + 1 == r->nvalues ? " or " : ", ", r->values[i]);
	return false;
}

static const char *
admitted(char *why, size_t len)
{
	if (why != NULL && len > 0)
		why[0] = '\0';
	return NULL;
}

const char *
policy_site(const struct conf_policy *p, const char *site, const struct cred *c, char *why,
            size_t len)
{
	for (size_t i = 0; i < p->ndeny; i++) {
		struct sentence s;

		if (strcmp(p->deny[i].site, site) != 0)
			continue;
		s = refusal(p, p->deny[i].line, why, len);
		say(&s, "site %s is denied", site);
		return "deny";
	}
	for (size_t i = 0; c != NULL && i < p->nrequire; i++)
		if (!rule_holds(p, &p->require[i], c, why, len))
			return p->require[i].name;
	return admitted(why, len);
}

const char *
policy_segment(const struct conf_policy *p, uint32_t vni, const struct cred *c, char *why,
               size_t len)
{
	for (size_t i = 0; c != NULL && i < p->nsegments; i++) {
		const struct conf_policy_segment *seg = &p->segments[i];

		if (seg->vni != vni)
			continue;
		for (size_t j = 0; j < seg->nrules; j++)
			if (!rule_holds(p, &seg->rules[j], c, why, len))
				return seg->rules[j].name;
	}
	return admitted(why, len);
}

static const struct conf_policy_narrow *
narrow_entry(const struct conf_policy *p, const char *site)
{
	for (size_t i = 0; i < p->nnarrow; i++)
		if (strcmp(p->narrow[i].site, site) == 0)
			return &p->narrow[i];
	return NULL;
}

bool
policy_narrows(const struct conf_policy *p, const char *site)
{
	return narrow_entry(p, site) != NULL;
}

size_t
policy_narrow(const struct conf_policy *p, const char *site, const struct addr_prefix *in, size_t n,
              struct addr_prefix *out)
{
	const struct conf_policy_narrow *nw = narrow_entry(p, site);
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		bool within = nw == NULL;

		for (size_t j = 0; nw != NULL && j < nw->nprefixes && !within; j++)
			within = addr_prefix_contains(&nw->prefixes[j], &in[i]);
		/* out may be in: an element only ever moves towards the front. */
		if (within)
			out[kept++] = in[i];
	}
	return kept;
}
