/*
 * gh_store_resources: SQL for protected resources (core/gh_resources keeps
 * the per-process snapshot and the rules). A resource's scopes and its
 * introspection clients are stored as JSON text.
 */
#ifndef GH_STORE_RESOURCES_H
#define GH_STORE_RESOURCES_H

#include <jansson.h>

#include "gh_db.h"

/* A resource as written. scopes: JSON object text {"scope": "description"};
 * introspection_clients: JSON array text of client ids. */
typedef struct gh_resource_row {
    const char *tenant_id;
    const char *id;
    const char *identifier;
    const char *name;
    const char *scopes;
    long long access_token_ttl;
    const char *introspection_clients;
    long long now; /* created_at (insert) or updated_at (update) */
} gh_resource_row;

/* Every resource of the tenant, ordered by identifier, as the JSON array the
 * admin API shows (new reference); NULL with *rc set on failure (GH_DB_BUSY
 * when c is NULL). rc may be NULL. */
json_t *gh_store_resources_all(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbrc *rc);
gh_dbrc gh_store_resource_insert(gh_dbconn *c, gh_arena *a, const gh_resource_row *r);
/* NOTFOUND when no such resource. */
gh_dbrc gh_store_resource_update(gh_dbconn *c, gh_arena *a, const gh_resource_row *r);
/* Deletes it; *identifier is the one it had. NOTFOUND when no such resource. */
gh_dbrc gh_store_resource_delete(gh_dbconn *c, gh_arena *a, const char *tenant, const char *id,
                                 const char **identifier);

#endif
