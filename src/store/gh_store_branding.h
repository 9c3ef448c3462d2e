/*
 * gh_store_branding: the tenant_branding table (migration 24; the service
 * is core/gh_branding, docs/branding.md). Values are stored as validated
 * by proto/gh_brand; colours as JSON text.
 */
#ifndef GH_STORE_BRANDING_H
#define GH_STORE_BRANDING_H

#include "gh_db.h"

typedef struct gh_branding_row {
    const char *product_name, *logo_uri, *colors, *dark_colors, *stylesheet;
    long long updated_at;
} gh_branding_row;

/* The tenant's row into out (strings in a); GH_DB_NOTFOUND when it has
 * none. */
gh_dbrc gh_store_branding_get(gh_dbconn *c, gh_arena *a, const char *tenant, gh_branding_row *out);

/* Inserts or replaces the tenant's row. */
gh_dbrc gh_store_branding_put(gh_dbconn *c, gh_arena *a, const char *tenant,
                              const gh_branding_row *row);

/* Deletes the tenant's row; GH_DB_NOTFOUND when it had none. */
gh_dbrc gh_store_branding_delete(gh_dbconn *c, gh_arena *a, const char *tenant);

#endif
