/*
 * gh_store_orgs: SQL for organisations (migration 27): `organizations`,
 * their members with roles (`org_members`, JSON text of a sorted array) and
 * the email domains they hold (`org_domains`: a domain is one
 * organisation's per tenant). The service is core/gh_orgs.
 */
#ifndef GH_STORE_ORGS_H
#define GH_STORE_ORGS_H

#include <jansson.h>
#include <stdbool.h>

#include "gh_arena.h"
#include "gh_db.h"

typedef struct gh_org_row {
    const char *id, *display_name;
    bool mfa_required;
    long long created_at, updated_at;
} gh_org_row;

/* CONFLICT when the id is taken. */
gh_dbrc gh_store_org_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_org_row *o);
gh_dbrc gh_store_org_get(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                         gh_org_row *out);
/* Every organisation of the tenant, by id: rows of id, display_name,
 * mfa_required, created_at, updated_at. */
gh_dbrc gh_store_org_list(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbres *out);
/* NOTFOUND when there is none. */
gh_dbrc gh_store_org_update(gh_dbconn *c, gh_arena *a, const char *tenant, const gh_org_row *o);
/* Deletes the organisation with its members and domains; NOTFOUND. */
gh_dbrc gh_store_org_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id);

/* Replaces the organisation's domains (a JSON array of strings); CONFLICT
 * when one is another organisation's. */
gh_dbrc gh_store_org_domains_set(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                 const json_t *domains, long long now);
/* The organisation's domains, sorted (new reference), or NULL. */
json_t *gh_store_org_domains(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org);
/* The organisation holding domain (*org_id in the arena); NOTFOUND. */
gh_dbrc gh_store_org_by_domain(gh_dbconn *c, gh_arena *a, const char *tenant, const char *domain,
                               const char **org_id);

/* Adds the user or replaces their roles (JSON text); *added says which. */
gh_dbrc gh_store_org_member_put(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                const char *user_id, const char *roles, long long now, bool *added);
/* NOTFOUND when the user is no member. */
gh_dbrc gh_store_org_member_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                   const char *user_id);
/* The member's roles as JSON text (*roles in the arena); NOTFOUND when the
 * user is no member. */
gh_dbrc gh_store_org_member_roles(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                                  const char *user_id, const char **roles);
/* The members: rows of user_id, email, roles, created_at. */
gh_dbrc gh_store_org_members(gh_dbconn *c, gh_arena *a, const char *tenant, const char *org,
                             gh_dbres *out);
/* The organisations of a user: rows of org id, display_name, roles. */
gh_dbrc gh_store_user_orgs(gh_dbconn *c, gh_arena *a, const char *tenant, const char *user_id,
                           gh_dbres *out);

#endif
