/* Local sovereignty: which sites this site peers with, which segments it shares with them and
 * which of their granted prefixes it accepts, whatever a trust entry or a federation
 * credential grants. Pure functions of the config's policy and a site's credential; the
 * callers apply the verdicts and report them per site. */
#ifndef NETD_POLICY_H
#define NETD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netd/addr.h"
#include "netd/conf.h"
#include "netd/cred.h"

/* Why this site does not peer with site: the refusing rule's name ("deny", "require
 * jurisdiction=DE,FR"), with the sentence in why ("policy rule at FILE:LINE: jurisdiction is
 * US, not DE or FR"); NULL, and why empty, when it does. c is the site's verified credential,
 * or NULL for a site admitted by a trust entry: deny applies to every site, the require rules
 * only to sites admitted by a credential (a trust entry is the operator's own explicit
 * grant, not held to federation attributes). */
const char *policy_site(const struct conf_policy *p, const char *site, const struct cred *c,
                        char *why, size_t len);

/* As policy_site, for sharing segment vni with a site already peered with: the segment's
 * rules ("segment 100 require provider!=evil"), for sites admitted by a credential only. */
const char *policy_segment(const struct conf_policy *p, uint32_t vni, const struct cred *c,
                           char *why, size_t len);

/* The prefixes of in[] that site may claim: with a narrow entry for it, those that lie within
 * one of the entry's prefixes; without one, all. Applies to every site. Writes them to out
 * (room for n; out may be in) in their order and returns their count. */
size_t policy_narrow(const struct conf_policy *p, const char *site, const struct addr_prefix *in,
                     size_t n, struct addr_prefix *out);

/* Whether site has a narrow entry: without one, policy_narrow keeps every prefix. */
bool policy_narrows(const struct conf_policy *p, const char *site);

#endif
