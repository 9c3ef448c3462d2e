/*
 * gh_store_tenants: SQL for tenants (migration 1's table, migration 23's
 * status, host and policy) and their SCIM tokens. The registry the request
 * path reads is core/gh_tenants; this module only moves rows.
 */
#ifndef GH_STORE_TENANTS_H
#define GH_STORE_TENANTS_H

#include "gh_arena.h"
#include "gh_db.h"

typedef struct gh_tenant_row {
    const char *id;
    const char *name;   /* the display name */
    const char *status; /* active, disabled, deleted */
    const char *host;   /* NULL: none claimed */
    const char *policy; /* JSON text (gh_tenant_policy_check's stored form) */
    long long created_at, updated_at;
    const char *risk_policy; /* the tenant's risk policy file text; NULL: the server's */
} gh_tenant_row;

/* Every tenant, by id (the deleted ones too: their ids stay taken). */
gh_dbrc gh_store_tenants_all(gh_dbconn *c, gh_arena *a, gh_tenant_row **rows, size_t *n);
/* A cheap fingerprint of the table: the number of rows and the latest
 * updated_at, so a process re-reads the tenants only when they changed. */
gh_dbrc gh_store_tenants_stamp(gh_dbconn *c, gh_arena *a, long long *count, long long *latest);
gh_dbrc gh_store_tenant_get(gh_dbconn *c, gh_arena *a, const char *id, gh_tenant_row *out);
/* CONFLICT when the id or the host is taken. */
gh_dbrc gh_store_tenant_insert(gh_dbconn *c, gh_arena *a, const gh_tenant_row *t);
/* Writes name, status, host, policy, risk_policy and updated_at of t->id; NOTFOUND when
 * there is no such tenant, CONFLICT when the host is another tenant's. */
gh_dbrc gh_store_tenant_update(gh_dbconn *c, gh_arena *a, const gh_tenant_row *t);
/* Deletes what a deleted tenant must not keep: its signing keys, sessions,
 * codes, tokens, clients, SCIM tokens and branding (the rest goes with its
 * accounts, purged by the janitor). */
gh_dbrc gh_store_tenant_wipe_secrets(gh_dbconn *c, gh_arena *a, const char *id);

/* SCIM tokens: the SHA-256 (hex) of each token, never the token. */
gh_dbrc gh_store_scim_token_insert(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   const char *hash_hex, const char *name, long long now);
/* OK when hash_hex is a live token of tenant (NOTFOUND otherwise). */
gh_dbrc gh_store_scim_token_check(gh_dbconn *c, gh_arena *a, const char *tenant,
                                  const char *hash_hex);
gh_dbrc gh_store_scim_token_revoke(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                   long long now);
/* The tenant's tokens: rows of id, name, created_at, revoked_at. */
gh_dbrc gh_store_scim_token_list(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbres *out);

#endif
