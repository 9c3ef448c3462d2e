/*
 * gh_org_meta: what an organisation (docs/organisations.md) may look like:
 * its id, display name, the roles of a member and the email domains it
 * holds, checked for the admin API and the delegated administration API.
 * Pure: unit-tested alone (tests/unit/proto/test_org_meta.c). The service
 * is core/gh_orgs.
 */
#ifndef GH_ORG_META_H
#define GH_ORG_META_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum {
    GH_ORG_ROLES_MAX = 20,   /* roles per member */
    GH_ORG_ROLE_MAX = 64,    /* bytes of a role */
    GH_ORG_DOMAINS_MAX = 50, /* domains per organisation */
};

/* The role that may manage the organisation's members (delegated
 * administration). */
#define GH_ORG_ADMIN_ROLE "admin"

/* An id: the rules of a tenant id (1 to 63 of a-z, 0-9, '-'). */
bool gh_org_id_valid(const char *id);
/* A role: 1 to 64 of a-z, 0-9, '_', '-', '.', ':'. */
bool gh_org_role_valid(const char *role);
/* A list of roles: a JSON array of valid roles, at most GH_ORG_ROLES_MAX;
 * returns it sorted with each once (new reference), or NULL with why. */
json_t *gh_org_roles_check(const json_t *in, char *why, size_t whylen);
/* An email domain: lower-case DNS labels, at least two. */
bool gh_org_domain_valid(const char *domain);
/* A list of domains: a JSON array of valid domains, at most
 * GH_ORG_DOMAINS_MAX, each once; new reference, or NULL with why. */
json_t *gh_org_domains_check(const json_t *in, char *why, size_t whylen);
/* The domain of an email address (after the last '@'), or NULL. */
const char *gh_org_email_domain(const char *email);

#endif
