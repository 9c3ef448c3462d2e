/*
 * gh_fedorgs: an organisation's own upstream provider. See gh_fedorgs.h.
 */
#include "gh_fedorgs.h"

#include <ctype.h>
#include <string.h>

#include "gh_audit_ctx.h"
#include "gh_store_orgs.h"

const char *gh_fedorgs_domain(gh_arena *a, const char *email)
{
    const char *at = email ? strrchr(email, '@') : NULL;
    if (!at || !at[1] || strlen(at + 1) > 253)
        return NULL;
    char *d = gh_arena_strdup(a, at + 1);
    if (!d)
        return NULL;
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    /* "Acme.Example." and "acme.example" are one domain */
    size_t n = strlen(d);
    while (n > 0 && (d[n - 1] == '.' || isspace((unsigned char)d[n - 1])))
        d[--n] = '\0';
    return n ? d : NULL;
}

gh_dbrc gh_fedorgs_discover(const gh_ctx *x, const char *email, gh_fed_provider_row *p,
                            const char **org_id)
{
    const char *domain = gh_fedorgs_domain(x->arena, email);
    gh_dbconn *c = gh_ctx_db(x);
    if (!c)
        return GH_DB_BUSY;
    /* the same two reads whatever the domain, so the answer's timing says
     * no more than the answer does */
    const char *org = NULL;
    gh_dbrc rc = gh_store_org_by_domain(c, x->arena, x->tenant, domain ? domain : "", &org);
    gh_dbrc prc = gh_store_fed_provider_of_org(c, x->arena, x->tenant, org ? org : "", p);
    if (rc != GH_DB_OK)
        return rc;
    if (prc == GH_DB_OK)
        *org_id = org;
    return prc;
}

gh_dbrc gh_fedorgs_domain_held(const gh_ctx *x, gh_dbconn *c, const char *org, const char *email,
                               bool *held)
{
    const char *domain = gh_fedorgs_domain(x->arena, email), *owner = NULL;
    *held = false;
    if (!domain)
        return GH_DB_OK;
    gh_dbrc rc = gh_store_org_by_domain(c, x->arena, x->tenant, domain, &owner);
    if (rc == GH_DB_NOTFOUND)
        return GH_DB_OK;
    if (rc == GH_DB_OK)
        *held = strcmp(owner, org) == 0;
    return rc;
}

gh_dbrc gh_fedorgs_join(const gh_ctx *x, gh_dbconn *c, const char *org, const char *user_id,
                        const char *provider)
{
    gh_org_row o;
    const char *roles = NULL;
    gh_dbrc rc = gh_store_org_get(c, x->arena, x->tenant, org, &o);
    if (rc != GH_DB_OK)
        return rc;
    rc = gh_store_org_member_roles(c, x->arena, x->tenant, org, user_id, &roles);
    if (rc != GH_DB_NOTFOUND)
        return rc; /* a member already, with the roles it has */
    bool added = false;
    rc = gh_store_org_member_put(c, x->arena, x->tenant, org, user_id, "[\"" GH_FEDORGS_ROLE "\"]",
                                 x->now, &added);
    if (rc != GH_DB_OK)
        return rc;
    return gh_audit_ctx_append(x, c, "organization.member_added", user_id, user_id, NULL,
                               json_pack("{s:s, s:[s], s:s}", "organization", org, "roles",
                                         GH_FEDORGS_ROLE, "provider", provider));
}
