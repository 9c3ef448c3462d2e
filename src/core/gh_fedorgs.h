/*
 * gh_fedorgs: an organisation's own upstream identity provider (enterprise
 * SSO; docs/organisations.md, docs/federation.md). Home-realm discovery
 * (an email's domain, held by an organisation with a provider of its own,
 * names that provider), whether an upstream address lies in the
 * organisation's domains (an organisation's provider provisions only
 * addresses of its own domains), and the just-in-time membership of those
 * who sign in through it.
 */
#ifndef GH_FEDORGS_H
#define GH_FEDORGS_H

#include <stdbool.h>

#include "gh_ctx.h"
#include "gh_store_federation.h"

/* The role just-in-time membership gives. */
#define GH_FEDORGS_ROLE "member"

/* The lower-cased domain of email (after its last '@') in the arena, or
 * NULL when it has none. */
const char *gh_fedorgs_domain(gh_arena *a, const char *email);

/* Home-realm discovery: the enabled provider of the organisation holding
 * email's domain (*p, *org_id in the arena). NOTFOUND when no organisation
 * holds the domain or it has no enabled provider of its own. Reads the
 * domain only: never whether an account has the address. */
gh_dbrc gh_fedorgs_discover(const gh_ctx *x, const char *email, gh_fed_provider_row *p,
                            const char **org_id);

/* Whether email's domain is one of org's (*held). */
gh_dbrc gh_fedorgs_domain_held(const gh_ctx *x, gh_dbconn *c, const char *org, const char *email,
                               bool *held);

/* Makes user_id a member of org with the role GH_FEDORGS_ROLE unless it is
 * one already (its roles are kept), audited
 * (organization.member_added, actor the account, via provider) in the
 * caller's transaction on c. NOTFOUND when the organisation is gone. */
gh_dbrc gh_fedorgs_join(const gh_ctx *x, gh_dbconn *c, const char *org, const char *user_id,
                        const char *provider);

#endif
