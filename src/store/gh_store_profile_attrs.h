/*
 * gh_store_profile_attrs: SQL for the operator's profile schema (issue 20
 * item 6): one row per attribute of a tenant, the definition stored as the
 * JSON text proto/gh_attr_schema validated. core/gh_profiling keeps the
 * rules.
 */
#ifndef GH_STORE_PROFILE_ATTRS_H
#define GH_STORE_PROFILE_ATTRS_H

#include <jansson.h>

#include "gh_db.h"

/* Every attribute of the tenant, ordered by name, each its definition plus
 * created_at and updated_at (a JSON array, new reference); NULL with *rc
 * set on failure (GH_DB_BUSY when c is NULL). rc may be NULL. */
json_t *gh_store_profile_attrs_all(gh_dbconn *c, gh_arena *a, const char *tenant, gh_dbrc *rc);
/* Inserts (CONFLICT when the name is taken) or, with replace, writes the
 * row whatever was there. doc: the definition's JSON text. */
gh_dbrc gh_store_profile_attr_put(gh_dbconn *c, gh_arena *a, const char *tenant, const char *name,
                                  const char *doc, long long now, bool replace);
/* NOTFOUND when no such attribute. */
gh_dbrc gh_store_profile_attr_delete(gh_dbconn *c, gh_arena *a, const char *tenant,
                                     const char *name);

#endif
